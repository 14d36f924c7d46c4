// lrscope explorer -- talking to the server: the request body, one run in flight, errors in the learner's words.
import { draw, mapKey, shownMap } from "./charts.js";
import { writeURL } from "./lessons.js";
import { $, state } from "./state.js";

// ---------- talking to the server ----------
export let timer = null;          // a run is scheduled (one per event, however many controls changed)
export let inflight = null;
export function requestBody() {
  const o = state.objective;
  const objective = { kind: o.kind, name: o.name, standardize: o.standardize !== false };
  if (o.kind === "formula") objective.formula = o.formula;
  if (o.kind === "dataset") { objective.dataset = o.dataset; objective.model = o.model || null; }
  if (o.kind !== "dataset" && o.x0 && o.x0.length) objective.x0 = o.x0;
  const body = { objective, optimizer: state.optimizer, lrs: state.lrs, steps: state.steps };
  if (state.schedule.name !== "constant" || state.schedule.warmup > 0) {
    body.schedule = { name: state.schedule.name, params: state.schedule.params, warmup: state.schedule.warmup || null };
  }
  if (o.kind === "dataset" && state.mode !== "batch") body.batch_size = state.mode === "stochastic" ? 1 : state.batch_size;
  if (state.compare) body.compare_optimizer = { name: state.compare, params: {} };   // the same α with another method
  else if (body.schedule) body.compare_constant = true;   // what the schedule changes: the same α, constant, beside it
  if (shownMap && shownMap.key === mapKey()) {     // the map the page has: the server may keep it
    body.landscape_frame = [...shownMap.x, ...shownMap.y];
  }
  return body;
}

// a change asks for a run as soon as the current event is handled (many changes in one event: one run)
export function requestRun() {
  writeURL();
  if (timer === null) { timer = true; queueMicrotask(() => { timer = null; runSweep(); }); }
}

// the server names request fields; the learner sees the controls' names
const LABELS = { "lrs": "Learning rates", "steps": "Steps", "batch_size": "Batch size", "seed": "Seed",
  "budget": "Steps (range test budget)", "objective.formula": "Formula", "objective.x0": "Start point x₀",
  "objective.name": "Objective", "objective.dataset": "Data set", "objective.model": "Model",
  "optimizer.name": "Method", "compare_optimizer.name": "Compare with", "schedule.name": "Schedule", "schedule.warmup": "Warmup steps", "work": "Work" };

// "lrs.1" or "objective.x0.0": a field's entry, named as the learner counts (1st, 2nd ...)
function entry(field) {
  const m = field.match(/^(.*?)\.(\d+)$/);
  return m ? { base: m[1], index: Number(m[2]) } : { base: field, index: null };
}

function inWords(line) {
  const i = line.indexOf(":");
  if (i < 0) return line;
  const { base, index } = entry(line.slice(0, i));
  const label = LABELS[base] || base.replace(/^(optimizer|schedule)\.params\./, "");
  const which = index === null ? "" : base === "lrs" ? ` (α ${index + 1})` : ` (value ${index + 1})`;
  return label + which + line.slice(i);
}

function errorText(payload, status) {
  if (payload && typeof payload.detail === "string") return payload.detail.split("; ").map(inWords).join("; ");
  return "the server answered " + status;
}

function errorFields(payload) {
  if (!payload || typeof payload.detail !== "string") return [];
  return payload.detail.split("; ").map((line) => line.slice(0, Math.max(0, line.indexOf(":"))));
}

// the control each request field comes from: an error points at it (aria-invalid, outlined)
const CONTROLS = { "lrs": "lrs", "steps": "steps", "batch_size": "batch-size", "objective.formula": "formula",
  "objective.x0": "x0", "objective.name": "objective", "objective.dataset": "dataset", "objective.model": "model",
  "optimizer.name": "optimizer", "compare_optimizer.name": "compare", "schedule.name": "schedule", "schedule.warmup": "warmup", "work": "steps" };

function controlOf(field) {
  const { base, index } = entry(field);
  if (base === "lrs" && index !== null && $("lr-value-" + index)) return $("lr-value-" + index);
  const m = base.match(/^(optimizer|schedule)\.params\.(.+)$/);
  return $(m ? "param-" + m[2] : CONTROLS[base] || "");
}

// a mistake the page catches itself: said where the server's would be, the charts dimmed, nothing sent
export function stale(msg, fields) {
  showError(msg, fields);
  document.body.dataset.stale = "1";
}

// a message above the charts: a mistake to mend (red, an alert), or a busy server (a notice: nobody's mistake)
export function showError(msg, fields, busy = false) {
  const box = $("error");
  box.textContent = msg;
  box.hidden = !msg;
  box.dataset.kind = busy ? "busy" : "error";
  box.setAttribute("role", busy ? "status" : "alert");
  for (const el of document.querySelectorAll("[aria-invalid=true]")) el.removeAttribute("aria-invalid");
  for (const f of fields || []) { const el = controlOf(f); if (el) el.setAttribute("aria-invalid", "true"); }
}

// who this tab is, for the server's fair turns between the learners of a class (kept across reloads of the tab)
const CLIENT = (() => {
  const made = () => Math.random().toString(36).slice(2, 12);
  try {
    let id = sessionStorage.getItem("lrscope-client");
    if (!id) { id = made(); sessionStorage.setItem("lrscope-client", id); }
    return id;
  } catch (e) { return made(); }
})();

export async function post(url, body, signal) {
  const headers = { "Content-Type": "application/json", "X-Lrscope-Client": CLIENT };
  const r = await fetch(url, { method: "POST", headers, body: JSON.stringify(body), signal });
  let payload = null;
  try { payload = await r.json(); } catch (e) { payload = null; }
  if (!r.ok) {
    const e = new Error(errorText(payload, r.status));
    e.fields = errorFields(payload);
    e.retryAfter = Number(r.headers.get("Retry-After")) || 0;     // a busy server: when to try again
    throw e;
  }
  return payload;
}

// one request in flight, the latest setup wins: a change while a quick request runs waits for it and then sends
// the newest setup (a slider drag repaints as fast as the server answers); a request that has run for more than
// 150 ms is aborted instead (the server then stops its work), and the charts dim while the new one runs
let pending = false, started = 0, retry = null;
export async function runSweep() {
  clearTimeout(retry);
  if (inflight) {
    if (performance.now() - started < 150) { pending = true; return; }
    inflight.abort();
  }
  pending = false;
  const ctrl = new AbortController();
  inflight = ctrl;
  started = performance.now();
  const busy = setTimeout(() => { if (inflight === ctrl) { document.body.dataset.busy = "1"; $("results").setAttribute("aria-busy", "true"); } }, 150);
  try {
    const data = await post("/api/sweep", requestBody(), ctrl.signal);
    if (ctrl.signal.aborted) return;
    showError("");
    delete document.body.dataset.stale;
    draw(data);
  } catch (e) {
    if (e.name !== "AbortError") {
      // a busy server: the same setup again when it says (unless the learner changes something first)
      if (e.retryAfter) retry = setTimeout(runSweep, e.retryAfter * 1000);
      showError(e.retryAfter ? e.message + " (trying again by itself)" : e.message, e.fields, !!e.retryAfter);
      document.body.dataset.stale = "1";
    }
  } finally {
    clearTimeout(busy);
    if (inflight === ctrl) {
      inflight = null; delete document.body.dataset.busy; $("results").setAttribute("aria-busy", "false");
      if (pending) runSweep();
    }
  }
}

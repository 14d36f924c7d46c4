// lrscope explorer -- the shareable URL: the setup as a short readable query, e.g. ?f=x2&x0=10&lr=0.1,1.1.
import { OPTIONS, defaults } from "./state.js";

// ---------- the shareable URL: the setup as a short readable query, e.g. ?f=x2&x0=10&lr=0.1,1.1 ----------
// it loads, follows every change (Back and Forward step through setups), and hand edits of the address work
export function toQuery(st) {
  const d = defaults(), o = st.objective, q = new URLSearchParams();
  if (o.kind === "dataset") {
    q.set("data", o.dataset);
    if (o.model) q.set("model", o.model);
    if (o.standardize === false) q.set("raw", "1");
  } else {
    q.set("f", o.kind === "formula" ? o.formula : o.name);
    if (o.x0 && o.x0.length) q.set("x0", o.x0.join(","));
  }
  q.set("lr", st.lrs.join(","));
  if (st.optimizer.name !== d.optimizer.name) q.set("opt", st.optimizer.name);
  for (const [k, v] of Object.entries(st.optimizer.params)) q.set("opt." + k, v);
  if (st.schedule.name !== "constant") q.set("sched", st.schedule.name);
  for (const [k, v] of Object.entries(st.schedule.params)) q.set("sched." + k, v);
  if (st.schedule.warmup) q.set("warmup", st.schedule.warmup);
  if (st.steps !== d.steps) q.set("steps", st.steps);
  if (st.compare) q.set("cmp", st.compare);
  if (o.kind === "dataset" && st.mode !== "batch") { q.set("mode", st.mode); q.set("bs", st.batch_size); }
  return "?" + q.toString().replace(/%2C/g, ",").replace(/%2A/g, "*");     // "+" must stay %2B: a bare + reads as a space
}

function typed(text) {
  if (text === "true" || text === "false") return text === "true";
  const n = Number(text);
  if (text.trim() !== "" && Number.isFinite(n)) return n;
  const list = text.split(",").map((t) => Number(t.trim()));          // "0,0.9,0.99": a swept hyperparameter
  return text.includes(",") && list.every((v) => Number.isFinite(v)) ? list : text;
}

export function fromQuery(search) {
  const q = new URLSearchParams(search);
  if (!q.has("f") && !q.has("data")) return null;
  const st = defaults(), o = st.objective;
  const numbers = (t) => t.split(",").map(Number);
  if (q.has("data")) {
    Object.assign(o, { kind: "dataset", dataset: q.get("data"), model: q.get("model") || "", standardize: q.get("raw") !== "1" });
  } else {
    const f = q.get("f");
    if (OPTIONS.builtins[f]) { Object.assign(o, { kind: "builtin", name: f, x0: OPTIONS.builtins[f].x0.slice() }); }
    else { Object.assign(o, { kind: "formula", formula: f, x0: null }); }
    if (q.has("x0")) o.x0 = numbers(q.get("x0"));
  }
  if (q.has("lr")) st.lrs = numbers(q.get("lr"));
  if (q.has("opt")) st.optimizer.name = q.get("opt");
  if (q.has("sched")) st.schedule.name = q.get("sched");
  for (const [k, v] of q.entries()) {
    if (k.startsWith("opt.")) st.optimizer.params[k.slice(4)] = typed(v);
    if (k.startsWith("sched.")) st.schedule.params[k.slice(6)] = typed(v);
  }
  if (q.has("warmup")) st.schedule.warmup = Number(q.get("warmup"));
  if (q.has("steps")) st.steps = Number(q.get("steps"));
  if (q.has("cmp")) st.compare = q.get("cmp");
  if (q.has("mode")) st.mode = q.get("mode");
  if (q.has("bs")) st.batch_size = Number(q.get("bs"));
  return st;
}

export function fromOldHash() {           // links made before the query: the whole setup as JSON in the hash
  if (location.hash.length < 2) return null;
  try {
    const h = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    const st = Object.assign(defaults(), h);
    st.objective = Object.assign(defaults().objective, h.objective || {});
    st.schedule = Object.assign(defaults().schedule, h.schedule || {});
    return st;
  } catch (e) { return null; }
}

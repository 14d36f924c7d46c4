// lrscope explorer -- motion: stepping and playing through the iterations, the update rule with its numbers, dragging the start.
import { DARK, fmt } from "./charts.js";
import { requestRun } from "./requests.js";
import { $, rateColor, state } from "./state.js";
import { METHODS } from "./words.js";

// ---------- motion: step through the iterations ----------
// one step for every chart: a cursor on the loss curves, each run's iterate on the map (or on f), the row of the
// step table; play advances it (the first steps slowly, where the course's examples live)
export let lastData = null, now = 0, playing = null;

function iterateAt(data, c, t) {
  // where run c is after t steps: exact for the table's first steps, else the nearest recorded point before t
  if (c.table && t < c.table.length) return { x: c.table[t][2], loss: c.table[t][1] };
  let i = 0;
  while (i + 1 < data.step_index.length && data.step_index[i + 1] <= t) i++;
  return { x: c.path ? c.path.map((p) => p[i]) : null, loss: c.loss[i] };
}

function iteratePoints(data) {
  return data.configs.map((c) => {
    const at = iterateAt(data, c, now);
    const ok = at.x && at.x.every((v) => v !== null && Number.isFinite(v));
    return ok ? [at.x[0], data.dim === 1 ? at.loss : at.x[1]] : [null, null];
  });
}

// the start point, drawn as a ring a learner can drag (everything recomputes from where it is dropped)
export function pushStart(traces, data) {
  const c = data.configs[0];
  const x = c.table ? c.table[0][2] : c.path.map((p) => p[0]);
  traces.push({ x: [x[0]], y: [data.dim === 1 ? c.loss[0] : x[1]], mode: "markers", name: "start x₀ (drag it)",
                marker: { symbol: "circle-open", size: 16, color: DARK ? "#fff" : "#000", line: { width: 2.5 } } });
}

export function pushIterates(traces, data) {
  // one trace for every run's iterate (a marker each, in the run's colour): cheap to move
  const points = iteratePoints(data);
  traces.push({ x: points.map((p) => p[0]), y: points.map((p) => p[1]), mode: "markers", hoverinfo: "skip", name: "now",
                marker: { size: 10, color: data.configs.map((c, k) => rateColor(k)),
                          line: { color: DARK ? "#fff" : "#000", width: 1.5 } } });
}

export const cursor = () => ({ type: "line", x0: now, x1: now, yref: "paper", y0: 0, y1: 1,
                        line: { color: DARK ? "#bbb" : "#666", width: 1, dash: "dot" } });    // the step shown

export function showStepControl(data) {         // the slider and its words at the step shown
  $("scrub").value = String(now);
  $("step-now").textContent = "step " + now + " of " + data.steps;
}

// the update rule of the chosen method, as the course writes it, and -- for the first run, first parameter -- the
// numbers of the highlighted step filled in (read off two consecutive iterates of the step table: what the method
// did, not a second computation)
const RULES_OF = {
  gd: () => "θ ← θ − α·∇f(θ)",
  momentum: (p) => (p.form === "heavy_ball" ? "v ← β·v + ∇f(θ);  θ ← θ − α·v" : "v ← β·v + (1−β)·∇f(θ);  θ ← θ − α·v"),
  nesterov: () => "v ← β·v + ∇f(θ);  θ ← θ − α·(∇f(θ) + β·v)",
  adagrad: () => "s ← s + g²;  θ ← θ − α·g / (√s + ε)",
  rmsprop: () => "s ← ρ·s + (1−ρ)·g²;  θ ← θ − α·g / (√s + ε)",
  adam: () => "m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;  θ ← θ − α·m̂ / (√ŝ + ε)",
  adamw: () => "m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;  θ ← θ − α·(m̂ / (√ŝ + ε) + λθ)",
};
export function drawRule(data) {
  const name = state.optimizer.name, rule = RULES_OF[name] ? RULES_OF[name](state.optimizer.params) : "";
  const box = $("rule");
  box.textContent = "";
  if (!rule) return;
  const formula = document.createElement("span");
  formula.className = "formula";
  formula.textContent = rule;
  box.append((METHODS[name] || name) + ": ", formula);
  const c = data.configs[0], rows = c && c.table;
  if (!rows || now + 1 >= rows.length) return;
  const exact = data.step_index[now] === now && c.lr_used[now] !== undefined && c.lr_used[now] !== null;   // not thinned
  const x0 = rows[now][2][0], x1 = rows[now + 1][2][0], a = exact ? c.lr_used[now] : c.lr;
  if (x0 === null || x1 === null || !(a > 0)) return;
  const v = data.variables[0], n = (u) => fmt(u), step = (x0 - x1) / a;
  let text = "";
  if (name === "gd") {
    text = `step ${now} at α = ${n(a)}: ${v} = ${n(x0)} − ${n(a)} × ${n(step)} = ${n(x1)}  (∂f/∂${v} = ${n(step)})`;
  } else if (name === "momentum" || name === "nesterov") {
    text = `step ${now} at α = ${n(a)}: ${v} = ${n(x0)} − ${n(a)} × ${n(step)} = ${n(x1)}  (the step's ${name === "nesterov" ? "∇f + β·v" : "v"} along ${v}: ${n(step)})`;
  } else {
    text = `step ${now} at α = ${n(a)}: ${v} moved from ${n(x0)} to ${n(x1)} (${n(x1 - x0)}: about α, whatever the gradient's size)`;
  }
  box.append(document.createElement("br"), text);
}

export function setStep(t) {
  const data = lastData;
  if (!data) return;
  now = Math.max(0, Math.min(t, data.steps));
  drawRule(data);
  showStepControl(data);
  const loss = $("loss-chart");
  if (loss.layout) Plotly.relayout(loss, { shapes: [cursor()] });
  const map = $("landscape-chart");
  const index = (map.data || []).findIndex((trace) => trace.name === "now");      // the map's iterates, if any
  if (index >= 0) {
    const points = iteratePoints(data);
    Plotly.restyle(map, { x: [points.map((p) => p[0])], y: [points.map((p) => p[1])] }, [index]);
  }
  for (const row of document.querySelectorAll("#steps-table tbody tr")) row.classList.toggle("now", Number(row.dataset.step) === now);
}

export function togglePlay() {
  if (playing) { cancelAnimationFrame(playing); playing = null; $("play").textContent = "▶ play"; return; }
  if (!lastData) return;
  if (now >= lastData.steps) setStep(0);
  $("play").textContent = "⏸ pause";
  let last = performance.now(), carry = 0, drawnAt = 0;
  const tick = (time) => {
    const perSecond = now < 12 ? 3 : Math.max(10, lastData.steps / 6);     // the first steps slowly
    carry += (time - last) * perSecond / 1000;
    last = time;
    // at most 20 redraws a second (several steps at a time on long runs): the page stays quick to answer a slider
    if (carry >= 1 && time - drawnAt >= 50) { setStep(now + Math.floor(carry)); carry -= Math.floor(carry); drawnAt = time; }
    if (now >= lastData.steps) { playing = null; $("play").textContent = "▶ play"; return; }
    playing = requestAnimationFrame(tick);
  };
  playing = requestAnimationFrame(tick);
}

// dragging the start point: press near the ring, move, release; the runs follow while the server keeps up
let dragging = false;
function dataPoint(ev) {
  const el = $("landscape-chart"), fl = el._fullLayout;
  if (!fl || !fl.xaxis) return null;
  const box = el.getBoundingClientRect();
  return [fl.xaxis.p2l(ev.clientX - box.left - fl.xaxis._offset), fl.yaxis.p2l(ev.clientY - box.top - fl.yaxis._offset)];
}
function nearStart(ev) {
  const el = $("landscape-chart"), fl = el._fullLayout;
  const start = (el.data || []).find((t) => t.name === "start x₀ (drag it)");
  if (!fl || !fl.xaxis || !start) return false;
  const box = el.getBoundingClientRect();
  const px = fl.xaxis.l2p(start.x[0]) + fl.xaxis._offset + box.left, py = fl.yaxis.l2p(start.y[0]) + fl.yaxis._offset + box.top;
  return Math.hypot(ev.clientX - px, ev.clientY - py) <= 14;
}
function moveStart(ev) {
  const p = dataPoint(ev);
  if (!p || !p.every(Number.isFinite) || !lastData) return;
  const round = (v) => Number(v.toPrecision(4));
  state.objective.x0 = lastData.dim === 1 ? [round(p[0])] : [round(p[0]), round(p[1])];
  $("x0").value = state.objective.x0.join(", ");
  requestRun();
}
export function wireDrag() {
  const el = $("landscape-chart");
  el.addEventListener("pointerdown", (ev) => {
    if (!nearStart(ev)) return;
    dragging = true; el.setPointerCapture(ev.pointerId); ev.preventDefault(); ev.stopPropagation();
  }, true);
  el.addEventListener("pointermove", (ev) => { if (dragging) { moveStart(ev); ev.stopPropagation(); } }, true);
  const stop = (ev) => { if (dragging) { dragging = false; moveStart(ev); } };
  el.addEventListener("pointerup", stop, true);
  el.addEventListener("pointercancel", () => { dragging = false; }, true);
  el.addEventListener("pointermove", (ev) => { el.style.cursor = dragging || nearStart(ev) ? "grab" : ""; });
}
export function setLastData(value) { lastData = value; }
export function setNow(value) { now = value; }

// lrscope explorer -- drawing: numbers a learner reads, the loss curves, the key, the verdicts, the 2-D map.
import { quiz, quizAnswers } from "./examples.js";
import { cursor, drawRule, now, pushIterates, pushStart, setLastData, setNow, showStepControl } from "./motion.js";
import { drawGradients, drawSchedule, drawTable, drawTheory, exitArrows } from "./panels.js";
import { requestRun } from "./requests.js";
import { $, COLORS, DASH, rateColor, state } from "./state.js";
import { METHODS, setupTitle } from "./words.js";

// ---------- drawing ----------
// numbers a learner can read: exact integers below a million, four significant digits, one notation (×10ⁿ) for
// the very small and the very large
export function fmt(x) {
  if (x === null || x === undefined) return "—";
  if (x === 0) return "0";
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(4)));
  const [m, e] = x.toExponential(2).split("e");
  return Number(m) + "×10" + String(Number(e)).replace(/-/g, "⁻").replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]);
}
export const plain = (x) => String(Number(x.toPrecision(4)));     // for inputs: a number as JavaScript reads it back
export const LOG_AXIS = { type: "log", exponentformat: "power" };      // ticks as powers of ten
// charts fill their container (no fixed 700 px), without a toolbar over their titles
const PLOT_CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
// the charts follow the page's light or dark theme (the system's setting)
export const DARK = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
function themed(layout) {
  const ink = DARK ? "#e4e6ea" : "#222", grid = DARK ? "#3a414b" : "#e6e6ea";
  const axis = (a) => Object.assign({ gridcolor: grid, zerolinecolor: grid, linecolor: grid }, a || {});
  return Object.assign({}, layout, { paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: Object.assign({ color: ink }, layout.font || {}), xaxis: axis(layout.xaxis), yaxis: axis(layout.yaxis) });
}
export function plot(el, traces, layout) { Plotly.react(el, traces, themed(layout), PLOT_CONFIG); }

// the loss curves first (what a slider move is for), the other panels right after it has been painted
let rest = [], drawn = 0;
export function draw(data) {
  setLastData(data);
  if (quiz) quizAnswers(data);
  setNow(Math.min(now, data.steps));
  $("scrub").max = String(data.steps);
  showStepControl(data);
  drawKey(data);
  drawLoss(data);
  drawVerdicts(data);
  // after the next paint (a frame, then a task): the loss chart shows first; then one panel per task, so that a
  // slider's next input event is handled between them instead of after all of them
  for (const t of rest) clearTimeout(t);
  rest = [];
  requestAnimationFrame(() => {
    for (const t of rest) clearTimeout(t);
    rest = [drawLandscape, drawTheory, drawSchedule, drawTable, drawRule].map((panel) => setTimeout(() => panel(data), 0));
    rest.push(setTimeout(() => { $("results").dataset.drawn = String(++drawn); }, 0));    // every panel is drawn
  });
}

// a configuration's name: its α, and each swept hyperparameter under the name a learner knows (β, not beta)
export const KNOWN = { beta: "β", beta1: "β₁", beta2: "β₂", dampening: "τ", eps: "ε", weight_decay: "wd", alpha: "ρ",
                momentum: "μ", lr_decay: "decay" };
// the controls' names: what the course calls them, the library's name in the tooltip
export const CONTROL_NAMES = { beta: "β (momentum)", beta1: "β₁ (first moment)", beta2: "β₂ (second moment)",
  dampening: "τ: share of ∇J left out (dampening)", eps: "ε", weight_decay: "weight decay (wd)", alpha: "ρ (smoothing)",
  form: "form", amsgrad: "AMSGrad", centered: "centered", nesterov: "Nesterov", lr_decay: "α decay",
  initial_accumulator_value: "initial accumulator", k: "k (decay rate)", gamma: "γ (factor)",
  step_size: "drop every (steps)", milestones: "drop at steps", t_max: "period (steps)", eta_min: "lowest α",
  t_0: "restart period (steps)", t_mult: "period growth ×", total_steps: "total steps", pct_start: "share rising",
  div_factor: "start α = α / this", final_div_factor: "end α = start / this", three_phase: "three phases",
  anneal: "annealing", steps: "steps", start_factor: "start factor", factor: "factor", patience: "patience",
  threshold: "threshold", threshold_mode: "threshold mode", cooldown: "cooldown", min_lr: "lowest α" };
export function label(data, c) {
  const first = data.configs[0].hyperparams || {};
  const swept = Object.keys(first).filter((k) => k !== "lr" && data.configs.some((d) => d.hyperparams[k] !== first[k]));
  return "α=" + fmt(c.lr) + swept.map((k) => ", " + (KNOWN[k] || k) + "=" + fmt(c.hyperparams[k])).join("");
}

// a long sentence in a hover label, broken into lines of about ``width`` characters (a phone is 390 px wide)
function wrapped(text, width) {
  const lines = [""];
  for (const word of text.split(" ")) {
    if (lines[lines.length - 1] && lines[lines.length - 1].length + word.length + 1 > width) lines.push("");
    lines[lines.length - 1] += (lines[lines.length - 1] ? " " : "") + word;
  }
  return lines.join("<br>");
}

// A diverging run would stretch a log axis to 10¹⁴⁷ and flatten every other curve: a curve is drawn up to
// CLIP_DECADES decades above the runs' start, then stops at that ceiling with an arrow that says where it left
// (the map clips a diverging path the same way)
export const CLIP_DECADES = 3;
export function ceilingOf(rows) {
  let start = 0;
  for (const row of rows) { const v = row.find((u) => u !== null && u !== undefined); if (v > start) start = v; }
  return start > 0 ? start * Math.pow(10, CLIP_DECADES) : Infinity;
}
export function clipped(x, y, ceiling, name, color) {
  const none = (v) => v === null || v === undefined;
  const above = y.findIndex((v) => !none(v) && v > ceiling);
  // a run that left the finite numbers between two logged steps: finite, then nothing from some step on
  let gone = y.findIndex((v, j) => j > 0 && none(v) && !none(y[j - 1]));
  if (gone >= 0 && !y.slice(gone).every(none)) gone = -1;
  const i = above < 0 ? gone : gone < 0 ? above : Math.min(above, gone);
  if (i < 0) return { y, arrow: null };
  const out = y.map((v, j) => (j < i ? v : j === i ? ceiling : null));
  const how = none(y[i]) ? "its loss was no longer a finite number" : fmt(y[i]) + ", more than " + CLIP_DECADES +
    " decades above the start";
  const arrow = { x: [x[i]], y: [ceiling], mode: "markers", name: "left the chart · " + name,
    marker: { color, size: 12, symbol: "triangle-up" },
    hovertemplate: wrapped(name + " left the chart by step " + x[i] + " (" + how + ")", 56) + "<extra></extra>" };
  return { y: out, arrow };
}

function drawLoss(data) {
  let min = Infinity, minPositive = Infinity;
  for (const c of data.configs) for (const v of c.loss) if (v !== null && v < min) min = v;
  const gap = min < 0;              // a loss that can be negative is drawn as its gap to the lowest value seen
  const shifted = data.configs.map((c) => c.loss.map((v) => (v === null ? null : gap ? v - min : v)));
  for (const row of shifted) for (const v of row) if (v !== null && v > 0 && v < minPositive) minPositive = v;
  const zeroAt = Number.isFinite(minPositive) ? minPositive / 10 : 1e-300;    // an exact 0 is drawn here (and said)
  let zeros = false;
  const onLog = (v) => (v === null ? null : v <= 0 ? zeroAt : v);
  // mini-batch runs: the loss of each step's own batch, faint, under the full loss (noisy is not failure)
  // ... a single example's loss can be 1e-12 (an image classified with certainty): the faint trace is drawn down to
  // CLIP_DECADES below the lowest full loss, no further, so that it does not stretch the axis under the curves
  let lowest = Infinity;
  for (const row of shifted) for (const v of row) if (v !== null && v > 0 && v < lowest) lowest = v;
  const under = Number.isFinite(lowest) ? lowest / Math.pow(10, CLIP_DECADES) : 0;
  const noisy = data.configs.filter((c) => c.batch_loss).map((c) => ({
    x: data.step_index.slice(0, c.batch_loss.length),
    y: c.batch_loss.map((v) => { const u = onLog(v === null ? null : gap ? v - min : v); return u === null ? null : Math.max(u, under); }),
    mode: "lines", hoverinfo: "skip", opacity: 0.3, name: "mini-batch loss",
    line: { color: rateColor(data.configs.indexOf(c)), width: 1 } }));
  // with a schedule: the same α held constant; or the same α with another method -- thin and dotted, for comparison
  const colourOf = (lr, k) => { const i = data.configs.findIndex((c) => c.lr === lr); return rateColor(i >= 0 ? i : k); };
  const dotted = (row, name, color) => ({ x: data.step_index, y: row.map((v) => onLog(v === null ? null : gap ? v - min : v)),
    mode: "lines", name, opacity: 0.65, line: { color, width: 1.4, dash: "dot" } });
  const constant = (data.constant || []).map((row, k) => dotted(row, label(data, data.configs[k]) + " constant", rateColor(k)))
    .concat(data.compared ? data.compared.loss.map((row, k) => dotted(row, "α=" + fmt(data.compared.lrs[k]) + " · " +
      (METHODS[data.compared.optimizer] || data.compared.optimizer), colourOf(data.compared.lrs[k], k))) : []);
  const lines = noisy.concat(constant, data.configs.map((c, k) => ({
    x: data.step_index, y: shifted[k].map((v) => { if (v === 0) { zeros = true; return zeroAt; } return v; }),
    mode: "lines", name: label(data, c) + " · " + c.verdict.kind,
    line: { color: rateColor(k), width: 2, dash: DASH[c.verdict.kind] || "solid" },
  })));
  const ceiling = ceilingOf(shifted), arrows = [];
  const traces = lines.map((t) => {
    const cut = clipped(t.x, t.y, ceiling, t.name.split(" · ")[0], t.line.color);
    if (cut.arrow && t.name !== "mini-batch loss") arrows.push(cut.arrow);
    return Object.assign({}, t, { y: cut.y });
  });
  // where each verdict was reached (converged at, diverged from), marked on its curve, its reason on hover
  const marks = data.configs.map((c, k) => {
    if (c.verdict.step === null) return null;
    let i = data.step_index.findIndex((s) => s >= c.verdict.step);
    if (i < 0) i = data.step_index.length - 1;
    const y = shifted[k][i];
    if (y === null || y === undefined) return null;
    return { x: [data.step_index[i]], y: [y <= 0 ? zeroAt : Math.min(y, ceiling)], mode: "markers",
      name: "verdict · " + label(data, c),
      marker: { color: rateColor(k), size: 11, symbol: c.verdict.kind === "diverged" ? "x" : "circle-open",
                line: { width: 2, color: rateColor(k) } },
      hovertemplate: wrapped(c.verdict.kind + " at step " + c.verdict.step + ": " + c.verdict.reason, 56) +
        "<extra></extra>" };
  }).filter((t) => t);
  const ytitle = (gap ? "loss − best" : "loss") + (zeros ? " (exact 0 drawn at " + fmt(zeroAt) + ")" : "");
  plot("loss-chart", traces.concat(marks, arrows), {
    title: { text: setupTitle(data, $("loss-chart").clientWidth < 600 ? "<br>" : " · "), font: { size: 13 } },
    xaxis: { title: { text: "step" } }, yaxis: Object.assign({ title: { text: ytitle } }, LOG_AXIS),
    margin: { t: $("loss-chart").clientWidth < 600 ? 62 : 40, r: 10, b: 45, l: 60 },
    showlegend: false,                                              // the key above the charts names the curves
    shapes: [cursor()],
  });
}

// one key for every chart (cheaper than a legend in each, and the same everywhere): the rate's colour, the
// verdict's line style
const SVG_DASH = { solid: "", dash: "6 3", dashdot: "6 3 2 3", dot: "2 3", longdash: "10 4" };
function drawKey(data) {
  const ul = $("key");
  ul.innerHTML = "";
  const entry = (text, color, dash, width, opacity) => {      // a line sample and what it stands for
    const li = document.createElement("li");
    li.innerHTML = "<svg width='26' height='8' aria-hidden='true'><line x1='0' y1='4' x2='26' y2='4'></line></svg>";
    const line = li.querySelector("line");
    line.setAttribute("stroke", color);
    line.setAttribute("stroke-width", String(width));
    line.setAttribute("opacity", String(opacity));
    if (dash) line.setAttribute("stroke-dasharray", dash);
    li.append(text);
    ul.appendChild(li);
  };
  data.configs.forEach((c, k) => entry(label(data, c) + " · " + c.verdict.kind, rateColor(k),
                                       SVG_DASH[DASH[c.verdict.kind] || "solid"], 3, 1));
  const grey = DARK ? "#ccc" : "#555";                        // what the thinner lines are
  if (data.configs[0].batch_loss) entry("faint: the loss on each step's mini-batch", grey, "", 1.5, 0.4);
  if (data.constant) entry("dotted: the same α held constant", grey, "2 3", 1.5, 0.8);
  if (data.compared) entry("dotted: the same α with " + (METHODS[data.compared.optimizer] || data.compared.optimizer), grey, "2 3", 1.5, 0.8);
}

function drawVerdicts(data) {
  const ul = $("verdicts");
  ul.innerHTML = "";
  for (const c of data.configs) {
    const li = document.createElement("li");
    li.className = c.verdict.kind;
    li.style.borderColor = rateColor(data.configs.indexOf(c));      // the rate's colour; the verdict is the badge
    li.dataset.lr = c.lr;
    li.dataset.kind = c.verdict.kind;
    const head = document.createElement("div");
    head.innerHTML = "<span></span> <b class='badge'></b>";
    head.querySelector("span").textContent = label(data, c);
    const badge = head.querySelector("b");
    badge.textContent = c.verdict.kind + (c.verdict.step !== null ? " (step " + c.verdict.step + ")" : "");
    badge.style.background = COLORS[c.verdict.kind];
    const why = document.createElement("div"); why.textContent = c.verdict.reason;
    const adv = document.createElement("div"); adv.textContent = "→ " + c.verdict.advice;
    li.append(head, why, adv);
    ul.appendChild(li);
  }
}

// The 2-D map is two layers: the labelled contour lines underneath (drawn only when the server sends a new map)
// and the paths on top, on the same frame and margins. A slider move redraws the paths alone.
export let shownMap = null;        // {key, x: [lo, hi], y: [lo, hi]} of the contour layer on screen
// the map belongs to a loss, wherever the runs start (a dragged start point keeps it while it still fits)
export const mapKey = () => JSON.stringify(Object.assign({}, state.objective, { x0: null }));
export const MAP_MARGIN = { t: 40, r: 10, b: 45, l: 55 };

function drawMap(L, data) {
  const ink = DARK ? "#9aa3ad" : "#777";
  const traces = L.levels.map((lv, i) => ({ x: lv.x, y: lv.y, mode: "lines", hoverinfo: "skip", name: "loss " + fmt(lv.value),
    line: { color: ink, width: 0.8 + 0.6 * (1 - i / Math.max(1, L.levels.length - 1)) } }));   // lower: bolder
  const annotations = L.labels.map((lb) => ({ x: lb.x, y: lb.y, text: fmt(lb.value), showarrow: false,
    font: { size: 9, color: ink }, bgcolor: DARK ? "rgba(21,24,29,0.85)" : "rgba(255,255,255,0.85)", borderpad: 1 }));
  const hidden = (range) => ({ range, visible: false, fixedrange: true });
  plot($("landscape-map"), traces, { xaxis: hidden(L.x), yaxis: hidden(L.y), margin: MAP_MARGIN, annotations,
                                      showlegend: false });
  shownMap = { key: mapKey(), x: L.x, y: L.y };
}

// a point of a path is drawn only inside the map's frame: a diverging run's iterates swing far out (x² + 100y² at
// β = 0: y = ±10¹⁴⁵), and the segments between them crossed the whole map; its exit is marked by an arrow instead
export const inFrame = (x, y, xr, yr) => x !== null && y !== null && x >= xr[0] && x <= xr[1] && y >= yr[0] && y <= yr[1];

function drawLandscape(data) {
  const L = data.landscape;
  $("landscape-caption").textContent = !L ? (data.configs[0].grad_norm ? "With " + data.dim + " parameters there is no " +
      "map to draw: instead, the size of the gradient at each step. It shrinks as a run settles, stays high when α is too " +
      "low, and blows up with a run that diverges." : "") :
    L.kind === "curve" ? "f and each run's first steps on it, from the start ring (drag it). A run that jumps from side " +
      "to side is overshooting the minimum; if the jumps grow, it diverges." :
    "Each run's path from the start ring (drag it) over the loss contours, labelled with the loss. Zigzags across the " +
    "valley mean α is near the edge; an arrow marks a run that left the map.";
  const el = $("landscape-chart");
  const map = $("landscape-map");
  const flat = (title) => {
    if (shownMap) { Plotly.purge(map); shownMap = null; }
    plot(el, [], { title: { text: title, font: { size: 13 } } });
  };
  if (!L && data.configs[0].grad_norm) { drawGradients(data); return; }
  if (!L) { flat("(no picture for " + data.dim + " parameters)"); return; }
  const traces = [];
  const layout = { margin: MAP_MARGIN, showlegend: false };
  if (L.kind === "contour" || L.kind === "same") {
    if (L.kind === "same" && !(shownMap && shownMap.key === mapKey())) { requestRun(); return; }   // map lost: ask again
    if (L.kind === "contour") drawMap(L, data);
    data.configs.forEach((c, k) => {
      const [px, py] = c.path, shown = px.map((x, i) => inFrame(x, py[i], shownMap.x, shownMap.y));
      traces.push({ x: px.map((x, i) => shown[i] ? x : null), y: py.map((y, i) => shown[i] ? y : null),
                    mode: "lines", name: label(data, c),
                    line: { color: rateColor(k), width: 1.5, dash: DASH[c.verdict.kind] || "solid" } });
    });
    pushStart(traces, data);
    pushIterates(traces, data);
    const m = L.minimizer || data.minimizer;
    if (m) traces.push({ x: [m[0]], y: [m[1]], mode: "markers", name: L.minimizer_found ? "minimum (found numerically)" : "minimum",
                         marker: { symbol: "star", size: 14, color: "gold", line: { color: "#000", width: 1 } } });
    Object.assign(layout, { title: { text: "paths on the loss contours · ★ minimum", font: { size: 13 } },
                            xaxis: { title: { text: data.variables[0] }, range: shownMap.x, showgrid: false },
                            yaxis: { title: { text: data.variables[1] }, range: shownMap.y, showgrid: false } });
    layout.annotations = exitArrows(data, shownMap.x, shownMap.y);
  } else {
    if (shownMap) { Plotly.purge(map); shownMap = null; }
    traces.push({ x: L.x, y: L.f, mode: "lines", line: { color: "#555" }, name: "f(" + data.variables[0] + ")" });
    data.configs.forEach((c, k) => {
      const n = Math.min(c.path[0].length, 12);
      traces.push({ x: c.path[0].slice(0, n), y: c.loss.slice(0, n), mode: "lines+markers", name: label(data, c),
                    line: { color: rateColor(k), width: 1, dash: "dot" }, marker: { size: 6 } });
    });
    pushStart(traces, data);
    pushIterates(traces, data);
    const finite = (a) => a.filter((v) => v !== null);
    const f = finite(L.f);
    Object.assign(layout, { title: { text: "f and the first iterates", font: { size: 13 } },
                            xaxis: { title: { text: data.variables[0] }, range: [Math.min(...finite(L.x)), Math.max(...finite(L.x))] },
                            yaxis: { title: { text: "loss" }, range: [Math.min(...f) - 0.05 * (Math.max(...f) - Math.min(...f)), Math.max(...f)] } });
  }
  layout.dragmode = false;                   // a drag moves the start point, not the view
  layout.xaxis.fixedrange = true; layout.yaxis.fixedrange = true;
  plot(el, traces, layout);
}
export function setShownMap(value) { shownMap = value; }

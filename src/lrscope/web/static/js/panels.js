// lrscope explorer -- the other panels: gradient norms, the schedule, the theory chart, the step table.
import { CLIP_DECADES, DARK, LOG_AXIS, MAP_MARGIN, ceilingOf, clipped, fmt, inFrame, label, plot, setShownMap, shownMap } from "./charts.js";
import { now } from "./motion.js";
import { $, DASH, rateColor } from "./state.js";

// many parameters: no map to draw the paths on, so the size of each step's gradient instead (it shrinks as a run
// converges, stalls high when α is too low, and blows up with a diverging run)
export function drawGradients(data) {
  if (shownMap) { Plotly.purge($("landscape-map")); setShownMap(null); }
  const ceiling = ceilingOf(data.configs.map((c) => c.grad_norm)), arrows = [];
  // one example's gradient can be 1e-98 (its loss already ~0): drawn down to CLIP_DECADES below the median
  // gradient of all the runs, no further
  const all = data.configs.flatMap((c) => c.grad_norm.filter((u) => u !== null && u > 0)).sort((a, b) => a - b);
  const floor = all.length ? all[all.length >> 1] / Math.pow(10, CLIP_DECADES) : NaN;
  const traces = data.configs.map((c, k) => {
    const x = data.step_index.slice(0, c.grad_norm.length);
    const norms = Number.isFinite(floor) ? c.grad_norm.map((u) => (u === null ? null : Math.max(u, floor))) : c.grad_norm;
    const cut = clipped(x, norms, ceiling, label(data, c), rateColor(k));
    if (cut.arrow) arrows.push(cut.arrow);
    return { x, y: cut.y, mode: "lines", name: label(data, c),
             line: { color: rateColor(k), width: 1.5, dash: DASH[c.verdict.kind] || "solid" } };
  }).concat(arrows);
  plot($("landscape-chart"), traces, { title: { text: "gradient norm ‖∇L‖ per step (" + data.dim + " parameters: no map)",
    font: { size: 13 } }, xaxis: { title: { text: "step" } }, yaxis: Object.assign({ title: { text: "‖∇L‖" } }, LOG_AXIS),
    margin: MAP_MARGIN, showlegend: false });
}

// the learning rate each run used at every step (drawn when a schedule or warmup changes it)
export function drawSchedule(data) {
  const el = $("schedule-chart");
  const varies = data.configs.some((c) => c.lr_used.some((a) => a !== null && Math.abs(a - c.lr) > 1e-9 * c.lr));
  el.hidden = !varies;
  $("schedule-caption").hidden = !varies;
  if (!varies) return;
  const traces = data.configs.map((c, k) => ({ x: data.step_index.slice(0, c.lr_used.length), y: c.lr_used,
    mode: "lines", name: label(data, c), line: { color: rateColor(k), width: 1.5 } }));
  plot(el, traces, { title: { text: "the learning rate α_t at each step", font: { size: 13 } },
    xaxis: { title: { text: "step" } }, yaxis: Object.assign({ title: { text: "α_t" } }, LOG_AXIS),
    margin: { t: 40, r: 10, b: 45, l: 60 }, showlegend: false });
}

// a path that leaves the map is clipped at its edge, with an arrow where it leaves (it does not blow up the frame)
export function exitArrows(data, xr, yr) {
  const out = [];
  data.configs.forEach((c, k) => {
    const [px, py] = c.path;
    for (let i = 1; i < px.length; i++) {
      const inside = (j) => inFrame(px[j], py[j], xr, yr);
      if (inside(i - 1) && !inside(i)) {
        const x = Math.min(Math.max(px[i] === null ? px[i - 1] : px[i], xr[0]), xr[1]);
        const y = Math.min(Math.max(py[i] === null ? py[i - 1] : py[i], yr[0]), yr[1]);
        out.push({ x, y, ax: px[i - 1], ay: py[i - 1], axref: "x", ayref: "y", showarrow: true, arrowhead: 2,
                   arrowsize: 1.3, arrowcolor: rateColor(k), text: "", name: "leaves " + label(data, c) });
        break;
      }
    }
  });
  return out;
}

export function drawTheory(data) {
  const th = data.theory;
  const el = $("theory-chart");
  if (!th) {
    plot(el, [], { title: { text: "theory unavailable here", font: { size: 13 } } });
    $("theory-text").textContent = (data.notes || []).join("; ");
    $("theory-caption").textContent = "The curvature of this loss could not be measured in time, so no bound is shown.";
    return;
  }
  const lrs = data.configs.map((c) => c.lr);
  const limit = th.limit;
  const gd = th.optimizer_kind === "gd" && th.curve;     // the error factor is gradient descent's (from the server)
  const traces = [];
  if (gd) traces.push({ x: th.curve.lr, y: th.curve.factor, mode: "lines", line: { color: "#555" }, name: "contraction max|1−αλ|" });
  // momentum: each β has its own error factor and its own bound -- a β sweep at one α is several dots, not one
  const own = !gd && th.factors && th.factors.some((f) => f !== null);
  for (const cv of (own && th.curves) || []) {
    traces.push({ x: cv.lr, y: cv.factor.map((f) => (f === null ? null : Math.min(f, 2))), mode: "lines",
                  line: { color: rateColor(cv.config), width: 1.2 }, opacity: 0.8,
                  name: "error factor · " + label(data, data.configs[cv.config]) });
  }
  // a factor above the chart's top (2) sits on the top edge as an upward triangle; hovering tells the real value
  const factors = gd ? th.contraction : own ? th.factors : lrs.map(() => 1);
  const counted = gd || own;
  traces.push({ x: lrs, y: factors.map((f) => Math.min(f, 2)), mode: "markers", cliponaxis: false,
                marker: { size: 11, color: data.configs.map((c, k) => rateColor(k)),
                          symbol: factors.map((f) => (f > 2 ? "triangle-up" : "circle")) },
                text: data.configs.map((c, k) => label(data, c) + ": " + c.verdict.kind + (counted ? "; error × " + fmt(factors[k]) + " a step" : "")),
                hoverinfo: "text", name: "your α" });
  const shapes = [];
  const annotations = [];
  const bounds = th.limits && new Set(th.limits.filter((b) => b !== null)).size > 1 ? th.limits : null;
  if (bounds) {          // one bound per β, in that run's colour
    const drawn = new Set();
    bounds.forEach((b, k) => {
      if (b === null || drawn.has(b)) return;
      drawn.add(b);
      shapes.push({ type: "line", x0: b, x1: b, yref: "paper", y0: 0, y1: 1, line: { color: rateColor(k), width: 2, dash: "dash" } });
      annotations.push({ x: Math.log10(b), y: 1 - 0.08 * (drawn.size - 1), yref: "paper", showarrow: false,
                         text: "bound " + fmt(b) + " (" + label(data, data.configs[k]).replace(/^α=[^,]*, /, "") + ")",
                         yanchor: "bottom", xanchor: "left", font: { size: 11 } });
    });
  } else if (limit) {
    shapes.push({ type: "line", x0: limit, x1: limit, yref: "paper", y0: 0, y1: 1, line: { color: "#d62728", width: 2 } });
    annotations.push({ x: Math.log10(limit), y: 1, yref: "paper", text: "bound " + fmt(limit), showarrow: false,
                       yanchor: "bottom", xanchor: "left" });
  }
  if (th.optimal && th.optimizer_kind === "gd") {
    shapes.push({ type: "line", x0: th.optimal, x1: th.optimal, yref: "paper", y0: 0, y1: 1, line: { color: "#2ca02c", dash: "dash" } });
    annotations.push({ x: Math.log10(th.optimal), y: 0.92, yref: "paper", text: "optimal " + fmt(th.optimal), showarrow: false,
                       xanchor: "right", bgcolor: DARK ? "rgba(21,24,29,0.8)" : "rgba(255,255,255,0.8)" });
  }
  plot(el, traces, {
    title: { text: "where each α sits", font: { size: 13 } }, xaxis: Object.assign({ title: { text: "α" } }, LOG_AXIS),
    yaxis: { title: { text: "error factor per step" }, range: [0, 2] }, shapes, annotations, showlegend: false,
    margin: { t: 40, r: 10, b: 45, l: 50 },
  });
  $("theory-caption").textContent = gd ? "Error factor per step, |1 − αλ| at the worst curvature λ: below 1 the " +
    "error shrinks every step, above 1 it grows. Left of the red line (2/L) every α converges; the green line is the " +
    "fastest constant α, 2/(L+μ)." : bounds ? "Each β has its own error factor per step (its curve, in its run's " +
    "colour) and its own stability bound (the dashed line): below 1 the error shrinks; right of its line, the " +
    "iterates of that β grow." : limit ? "For this method the red line is its own stability bound: an α to the " +
    "right of it makes the iterates grow." : "Adaptive methods rescale each step by the gradients seen so far: no " +
    "curvature bound applies to α, so the chart marks only where each α sits.";
  const curvature = "L = " + fmt(th.L) + ", μ = " + fmt(th.mu) + (th.exact ? " (exact)" : " (at " + th.where + ")");
  $("theory-text").textContent = "Theory: " + curvature + ". For this optimizer: " + th.explain + "." +
    ((data.notes || []).length ? " " + data.notes.join("; ") + "." : "");
}

export function drawTable(data) {
  const shown = data.configs.slice(0, 4);
  if (!shown.length || !shown[0].table) { $("table").innerHTML = ""; return; }
  const v = data.variables[0];
  let html = "<table id='steps-table'><thead><tr><th>step</th>";
  shown.forEach((c, k) => {
    const mark = "<span class='swatch' style='background:" + rateColor(k) + "'></span>";
    html += "<th>" + mark + v + " (" + label(data, c) + ")</th><th>loss</th>";
  });
  html += "</tr></thead><tbody>";
  for (let t = 0; t < shown[0].table.length; t++) {
    html += "<tr data-step='" + t + "'" + (t === now ? " class='now'" : "") + "><td>" + t + "</td>";
    for (const c of shown) {
      const row = c.table[t];
      html += "<td>" + fmt(row ? row[2][0] : null) + "</td><td>" + fmt(row ? row[1] : null) + "</td>";
    }
    html += "</tr>";
  }
  $("table").innerHTML = html + "</tbody></table>";
}

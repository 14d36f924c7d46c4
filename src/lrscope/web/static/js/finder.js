// lrscope explorer -- the range test: its chart, the verified pick, the rate of every step, using it.
import { LOG_AXIS, fmt, plot } from "./charts.js";
import { renderLrs } from "./controls.js";
import { post, requestBody, requestRun, showError } from "./requests.js";
import { $, state } from "./state.js";
import { SCHEDULE_NAMES } from "./words.js";

// the setup a range test answers (its rates aside: "use this α" adds one without making the answer stale)
const findKey = () => { const b = requestBody(); return JSON.stringify([b.objective, b.optimizer, b.batch_size || null, b.steps, b.schedule || null]); };
let found = null;          // {key, suggestion} of the range test on the page

export function clearStaleFind() {
  if (found && found.key !== findKey()) {
    found = null;
    $("find-chart").hidden = true; $("use-find").hidden = true; $("find-caption").hidden = true;
    $("find-schedule").hidden = true; $("find-schedule-caption").hidden = true;
    $("find-text").textContent = "";
  }
}

const TOP_LEGEND = { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } };    // above the plot
const RULES = { steepest: ["steepest descent of the curve", "#ff7f0e", "dash"], valley: ["valley rule", "#9467bd", "dash"],
                "min/10": ["a tenth of the minimum", "#7f7f7f", "dot"] };

export async function runFind() {
  $("find-text").textContent = "running…";
  const body = requestBody();
  const key = findKey();
  try {
    // the explorer's Steps are the learner's training budget: the verification is sized from them
    // ... and its schedule, whose peak the range test then verifies
    const res = await post("/api/find", { objective: body.objective, optimizer: body.optimizer, batch_size: body.batch_size || null,
                                          budget: Math.min(body.steps, 2500), schedule: body.schedule || null });
    const finite = res.smoothed.filter((v) => v !== null);
    const lo = Math.min(...finite), hi = Math.max(...finite);
    const vertical = (x, name, color, dash, width) => ({ x: [x, x], y: [lo, hi], mode: "lines", name,
      line: { color, dash, width }, hoverinfo: "name" });
    const traces = [
      { x: res.lrs, y: res.band[0], mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
      { x: res.lrs, y: res.band[1], mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(31,119,180,0.2)",
        name: "spread over batch orders" },
      { x: res.lrs, y: res.smoothed, mode: "lines", line: { color: "#1f77b4", width: 2 }, name: "loss (smoothed) as α grows" },
    ];
    for (const [rule, v] of Object.entries(res.methods)) {
      if (v && RULES[rule]) traces.push(vertical(v, RULES[rule][0] + ": " + fmt(v), RULES[rule][1], RULES[rule][2], 1.5));
    }
    if (res.bound) traces.push(vertical(res.bound, "stability bound 2/λ_max: " + fmt(res.bound), "#d62728", "solid", 2));
    traces.push(vertical(res.suggestion, "verified pick: " + fmt(res.suggestion), "#2ca02c", "solid", 3));
    const shapes = [{ type: "rect", x0: res.interval[0], x1: res.interval[1], yref: "paper", y0: 0, y1: 1, layer: "below",
                      fillcolor: "rgba(44,160,44,0.12)", line: { width: 0 } }];   // the rates that trained almost as well
    plot("find-chart", traces, { xaxis: Object.assign({ title: { text: "α (growing during the test)" } }, LOG_AXIS),
      yaxis: { title: { text: "loss" } }, shapes, showlegend: true,
      // a phone: the legend under the plot (above it, its lines of names were taller than the plot)
      ...(window.innerWidth <= 600 ? { legend: { orientation: "h", x: 0, y: -0.18, yanchor: "top", font: { size: 10 } },
                                        margin: { t: 20, r: 10, b: 40, l: 50 } }
                                    : { legend: TOP_LEGEND, margin: { t: 70, r: 10, b: 45, l: 55 } }) });
    $("find-chart").hidden = false;
    Plotly.Plots.resize("find-chart");
    const peak = res.verified_with ? " as the peak of your " + (SCHEDULE_NAMES[res.verified_with] || res.verified_with).toLowerCase() +
      " schedule" : "";
    $("find-text").textContent = "suggested α = " + fmt(res.suggestion) + peak + " (verified by training; " + fmt(res.interval[0]) +
      " – " + fmt(res.interval[1]) + " trained almost as well). Why: " + res.reason + ".";
    $("find-caption").hidden = false;
    drawRecommendedRates(res);
    $("use-find").hidden = false;
    $("use-find").textContent = "use α = " + fmt(res.suggestion);
    found = { key, suggestion: Number(res.suggestion.toPrecision(3)) };
  } catch (e) {
    $("find-text").textContent = "";
    showError(e.message, undefined, !!e.retryAfter);
  }
}

// the answer for the learner's Steps can be more than one rate: the rate of every step, against 2/λ_max
function drawRecommendedRates(res) {
  const show = Boolean(res.step_sizes);
  $("find-schedule").hidden = !show; $("find-schedule-caption").hidden = !show;
  if (!show) return;
  const rates = res.step_sizes, steps = rates.map((_, i) => i);
  const farAbove = Math.max(...rates) > 5 * res.suggestion;     // step sizes far above the pick: a log axis
  const traces = [{ x: steps, y: rates, mode: rates.length <= 400 ? "lines+markers" : "lines", name: "α of each step",
                    line: { color: "#2ca02c", width: 1 }, marker: { size: 3 } }];
  if (res.bound) traces.push({ x: [0, rates.length - 1], y: [res.bound, res.bound], mode: "lines",
                               name: "2/λ_max: " + fmt(res.bound), line: { color: "#d62728", width: 1.5 } });
  plot("find-schedule", traces, { xaxis: { title: { text: "step" } },
    yaxis: Object.assign({ title: { text: "α" } }, farAbove ? LOG_AXIS : {}), margin: { t: 30, r: 10, b: 45, l: 55 },
    showlegend: true, legend: TOP_LEGEND });
  Plotly.Plots.resize("find-schedule");
  $("find-schedule-caption").textContent = res.schedule_loss === null
    ? "With mini-batches the loss never settles at a constant α: it keeps bouncing with the batches. Train at the " +
      "verified α, then let it fall to 0 over the last fifth of your steps (a cooldown): the bouncing dies down " +
      "and the loss ends lower."
    : "Better than any constant α: the rate changes from step to step. A step of 1/λ removes the error along the " +
      "direction of curvature λ at once — even when 1/λ is far above 2/λ_max (the red line), where that one step " +
      "throws the steep directions outward; the small steps before and after take it back. Trained for your " +
      "steps it ended at " + fmt(res.schedule_loss) + ".";
}

export function useFound() {
  if (!found) return;
  if (!state.lrs.some((v) => Math.abs(v - found.suggestion) <= 1e-9 * found.suggestion)) state.lrs.push(found.suggestion);
  renderLrs(); requestRun();
}

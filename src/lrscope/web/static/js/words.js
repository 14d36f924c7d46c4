// lrscope explorer -- the words a learner reads: the course's names for methods, schedules and choices; a setup's title.
import { KNOWN, fmt } from "./charts.js";
import { OPTIONS, state } from "./state.js";

// ---------- words a learner reads ----------
export const METHODS = { gd: "gradient descent", momentum: "momentum", nesterov: "Nesterov momentum", adagrad: "AdaGrad",
                  rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW" };
// the controls say what a learner reads in the course, not the library's names ("gd", "ema", "warm_restarts")
export const SCHEDULE_NAMES = { constant: "constant", inverse_time: "inverse-time decay", step_decay: "step decay",
  multi_step: "step decay at chosen steps", exponential: "exponential decay", cosine: "cosine annealing",
  warm_restarts: "cosine with warm restarts", one_cycle: "one cycle", reduce_on_plateau: "reduce on plateau" };
export const CHOICE_NAMES = { ema: "the course's: v = βv + (1−β)∇J", heavy_ball: "heavy ball (PyTorch's SGD): v = βv + ∇J",
  cos: "cosine", linear: "linear", rel: "relative", abs: "absolute" };
// "Rosenbrock valley · momentum, β = 0.9" rather than the library's repr (gd(weight_decay=0))
const SUPERSCRIPT = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const written = (f) => f.replace(/(\*\*|\^)(\d+)(?![.\d])/g, (_, op, ds) => [...ds].map((d) => SUPERSCRIPT[d]).join(""))
  .replace(/\*\*/g, "^").replace(/\*/g, "·");
export function setupTitle(data, between = " · ") {        // between: " · ", or a line break on a phone
  const o = state.objective;
  const loss = o.kind === "builtin" && OPTIONS.builtins[o.name] ? OPTIONS.builtins[o.name].label :
    o.kind === "formula" ? written(data.objective) : data.objective;
  const method = METHODS[state.optimizer.name] || state.optimizer.name;
  const set = Object.entries(state.optimizer.params).filter(([k]) => k !== "form")
    .map(([k, v]) => (KNOWN[k] || k) + " = " + [].concat(v).map(fmt).join(", "));
  const form = state.optimizer.params.form === "heavy_ball" ? " (heavy ball)" : state.optimizer.name === "momentum" ? " (the course's form)" : "";
  const sched = state.schedule.name !== "constant" ? between + state.schedule.name.replace(/_/g, " ") + " schedule" : "";
  return loss + between + method + form + (set.length ? ", " + set.join(", ") : "") + sched;
}

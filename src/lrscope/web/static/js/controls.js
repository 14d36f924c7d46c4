// lrscope explorer -- the controls: selects, sliders, the learning rates, their wiring.
import { CONTROL_NAMES, plain } from "./charts.js";
import { reveal, startQuiz, stopQuiz } from "./examples.js";
import { runFind, useFound } from "./finder.js";
import { now, setStep, togglePlay, wireDrag } from "./motion.js";
import { requestRun, stale } from "./requests.js";
import { $, OPTIONS, state } from "./state.js";
import { CHOICE_NAMES, METHODS, SCHEDULE_NAMES } from "./words.js";

// ---------- controls ----------
export function option(select, value, label) {
  const o = document.createElement("option");
  o.value = value; o.textContent = label; select.appendChild(o);
}

export function fillSelects() {
  const obj = $("objective");
  for (const [name, d] of Object.entries(OPTIONS.builtins)) option(obj, "builtin:" + name, d.label);
  option(obj, "formula:", "a formula you type…");
  option(obj, "dataset:", "a model on a real data set…");
  for (const name of Object.keys(OPTIONS.datasets)) option($("dataset"), name, name);
  option($("model"), "", "(natural model)");
  for (const m of OPTIONS.models) option($("model"), m, m);
  for (const name of Object.keys(OPTIONS.optimizers)) option($("optimizer"), name, METHODS[name] || name);
  option($("compare"), "", "(nothing)");
  for (const name of Object.keys(OPTIONS.optimizers)) option($("compare"), name, METHODS[name] || name);
  for (const name of Object.keys(OPTIONS.schedules)) option($("schedule"), name, SCHEDULE_NAMES[name] || name);
}

// one input per option of the catalogue the server derives from the library's own signatures
function paramInputs(container, spec, values, onChange) {
  container.innerHTML = "";
  for (const [key, opt] of Object.entries(spec)) {
    const label = document.createElement("label");
    label.textContent = (CONTROL_NAMES[key] || key.replace(/_/g, " ")) + " ";
    label.title = key + " in the library";
    let input;
    if (opt.kind === "bool") {
      input = document.createElement("input"); input.type = "checkbox";
      input.checked = key in values ? !!values[key] : !!opt.default;
      input.addEventListener("change", () => { values[key] = input.checked; onChange(); });
      label.className = "inline";
    } else if (opt.kind === "choice") {
      input = document.createElement("select");
      for (const f of opt.choices) option(input, f, CHOICE_NAMES[f] || f);
      input.value = values[key] || opt.default;
      input.addEventListener("change", () => { values[key] = input.value; onChange(); });
    } else {
      input = document.createElement("input"); input.type = "text";
      input.value = key in values ? [].concat(values[key]).join(", ") : (opt.default === null ? "" : opt.default);
      if (opt.sweepable) input.title = "one value, or several separated by commas: each is tried with every α";
      if (opt.default === null) input.placeholder = opt.required ? "required" : "optional";
      input.addEventListener("input", () => {
        const text = input.value.trim();
        if (text === "") { delete values[key]; onChange(); return; }
        if (opt.kind === "ints") { values[key] = text; onChange(); return; }   // "10,20": the server reads it
        const v = Number(text);
        if (Number.isFinite(v)) { values[key] = v; onChange(); return; }
        const list = text.split(/[\s,]+/).filter((t) => t !== "").map(Number);       // several values: swept
        if (opt.sweepable && list.length > 1 && list.every((x) => Number.isFinite(x))) { values[key] = list; onChange(); }
      });
    }
    input.id = "param-" + key;
    label.appendChild(input);
    container.appendChild(label);
    const range = SLIDERS[key];
    if (range && opt.kind === "float") {        // β moves like α: a slider beside the typed value
      const slider = document.createElement("input");
      slider.type = "range"; slider.min = range[0]; slider.max = range[1]; slider.step = range[2];
      slider.id = "param-slider-" + key; slider.setAttribute("aria-label", (CONTROL_NAMES[key] || key) + " slider");
      const current = key in values ? values[key] : opt.default;
      slider.value = typeof current === "number" ? current : range[0];
      slider.disabled = Array.isArray(current);                        // a swept list: typed, not slid
      slider.addEventListener("input", () => { values[key] = Number(slider.value); input.value = slider.value; onChange(); });
      input.addEventListener("input", () => {
        const v = Number(input.value.trim());
        slider.disabled = !Number.isFinite(v) || input.value.trim() === "";
        if (!slider.disabled) slider.value = v;
      });
      label.appendChild(slider);
    }
  }
}
const SLIDERS = { beta: [0, 0.999, 0.001], beta1: [0, 0.999, 0.001], beta2: [0.9, 0.9999, 0.0001], alpha: [0, 0.999, 0.001] };

// a schedule's period as a share of the run, so that choosing it shows what it does: the library's defaults (a
// 100-step period, as PyTorch users write it) on a 100-step run change nothing one can see
function periodsFor(name, steps) {
  const quarter = Math.max(1, Math.round(steps / 4));
  if (name === "step_decay") return { step_size: quarter };
  if (name === "warm_restarts") return { t_0: quarter };
  if (name === "multi_step") return { milestones: `${Math.round(steps / 3)},${Math.round((2 * steps) / 3)}` };
  return {};
}

export function renderLrs() {
  const box = $("lrs");
  box.innerHTML = "";
  state.lrs.forEach((lr, i) => {
    const row = document.createElement("div");
    row.className = "lr-row";
    const slider = document.createElement("input");
    slider.type = "range"; slider.min = -7; slider.max = 1; slider.step = 0.01;
    slider.value = Math.log10(lr); slider.id = "lr-slider-" + i; slider.setAttribute("aria-label", "log10 of α " + (i + 1));
    const num = document.createElement("input");
    num.type = "text"; num.value = plain(lr); num.id = "lr-value-" + i; num.setAttribute("aria-label", "α " + (i + 1));
    const del = document.createElement("button");
    del.type = "button"; del.textContent = "×"; del.title = "remove"; del.setAttribute("aria-label", "remove α " + (i + 1));
    slider.addEventListener("input", () => {
      state.lrs[i] = Number(Math.pow(10, Number(slider.value)).toPrecision(3));
      num.value = plain(state.lrs[i]); requestRun();
    });
    num.addEventListener("change", () => {
      const text = num.value.trim(), v = Number(text);
      if (text === "" || !Number.isFinite(v)) {   // not a number: said here, nothing is sent (an empty field is no 0)
        stale(`Learning rates: α ${i + 1} is ${text === "" ? "empty" : `"${text}", not a number`}; type a rate such as 0.1`,
              ["lrs." + i]);
        return;
      }
      state.lrs[i] = v;                          // the server says what is wrong with a bad value (0, -1, 1e9)
      if (v > 0) slider.value = Math.log10(v);
      requestRun();
    });
    del.addEventListener("click", () => { if (state.lrs.length > 1) { state.lrs.splice(i, 1); renderLrs(); requestRun(); } });
    row.append(slider, num, del);
    box.appendChild(row);
  });
}

export function syncControls() {
  const o = state.objective;
  $("objective").value = o.kind === "builtin" ? "builtin:" + o.name : o.kind + ":";
  $("formula-row").hidden = o.kind !== "formula";
  $("dataset-row").hidden = o.kind !== "dataset";
  $("x0-row").hidden = o.kind === "dataset";
  $("batch-row").hidden = o.kind !== "dataset";
  $("formula").value = o.formula || "";
  $("dataset").value = o.dataset || "digits";
  $("model").value = o.model || "";
  $("standardize").checked = o.standardize !== false;
  $("x0").value = (o.x0 || []).join(", ");
  $("optimizer").value = state.optimizer.name;
  $("compare").value = state.compare || "";
  $("schedule").value = state.schedule.name;
  $("warmup").value = state.schedule.warmup || 0;
  $("steps").value = state.steps;
  $("mode").value = state.mode;
  $("batch-size").value = state.batch_size;
  paramInputs($("hyper"), OPTIONS.optimizers[state.optimizer.name] || {}, state.optimizer.params, requestRun);
  paramInputs($("schedule-params"), OPTIONS.schedules[state.schedule.name] || {}, state.schedule.params, requestRun);
  renderLrs();
}

export function wireControls() {
  $("objective").addEventListener("change", () => {
    const [kind, name] = $("objective").value.split(":");
    state.objective.kind = kind;
    if (kind === "builtin") {
      const d = OPTIONS.builtins[name];
      state.objective.name = name; state.objective.x0 = d.x0.slice(); state.lrs = d.lrs.slice();
    } else if (kind === "formula") {
      state.objective.x0 = null;
    }
    syncControls(); requestRun();
  });
  $("formula").addEventListener("input", () => { state.objective.formula = $("formula").value; state.objective.x0 = null; requestRun(); });
  $("dataset").addEventListener("change", () => { state.objective.dataset = $("dataset").value; requestRun(); });
  $("model").addEventListener("change", () => { state.objective.model = $("model").value; requestRun(); });
  $("standardize").addEventListener("change", () => { state.objective.standardize = $("standardize").checked; requestRun(); });
  $("x0").addEventListener("change", () => {
    const txt = $("x0").value.trim();
    const parts = txt === "" ? [] : txt.split(/[\s,]+/);
    const bad = parts.find((t) => !Number.isFinite(Number(t)));
    if (bad !== undefined) {
      stale(`Start point x₀: "${bad}" is not a number; type numbers separated by commas, e.g. 1, -1`, ["objective.x0"]);
      return;
    }
    state.objective.x0 = parts.length ? parts.map(Number) : null;    // empty: the formula's own start
    requestRun();
  });
  $("optimizer").addEventListener("change", () => { state.optimizer = { name: $("optimizer").value, params: {} }; syncControls(); requestRun(); });
  $("schedule").addEventListener("change", () => {
    const name = $("schedule").value;
    state.schedule = { name, params: periodsFor(name, state.steps), warmup: state.schedule.warmup };
    syncControls(); requestRun();
  });
  $("warmup").addEventListener("change", () => { state.schedule.warmup = Number($("warmup").value) || 0; requestRun(); });
  $("steps").addEventListener("change", () => { state.steps = Number($("steps").value); requestRun(); });
  $("compare").addEventListener("change", () => { state.compare = $("compare").value; requestRun(); });
  $("mode").addEventListener("change", () => { state.mode = $("mode").value; requestRun(); });
  $("batch-size").addEventListener("change", () => { state.batch_size = Number($("batch-size").value); requestRun(); });
  $("add-lr").addEventListener("click", () => { state.lrs.push(state.lrs[state.lrs.length - 1] * 3); renderLrs(); requestRun(); });
  $("decades").addEventListener("click", () => { state.lrs = [0.1, 0.01, 0.001, 0.0001]; renderLrs(); requestRun(); });
  $("run-find").addEventListener("click", runFind);
  $("use-find").addEventListener("click", useFound);
  $("play").addEventListener("click", togglePlay);
  $("quiz-here").addEventListener("click", () => startQuiz({ text: "This setup: what will each α do?" }, false));
  $("quiz-reveal").addEventListener("click", reveal);
  $("quiz-stop").addEventListener("click", stopQuiz);
  wireDrag();
  $("step-back").addEventListener("click", () => setStep(now - 1));
  $("step-forward").addEventListener("click", () => setStep(now + 1));
  $("scrub").addEventListener("input", () => setStep(Number($("scrub").value)));
}

// lrscope explorer: reads the controls, asks the server (/api/sweep, /api/find), draws what comes back.
// The page only draws; every number comes from the lrscope core on the server.
"use strict";

let COLORS = {};        // verdict badge colours, from the server (the same table as the CLI's)
let RATES = [];         // one colour per learning rate, the same in every chart (and in the CLI's PNGs)
let DASH = {};          // the verdict as a line style
const rateColor = (k) => RATES[k % RATES.length];
const $ = (id) => document.getElementById(id);
let OPTIONS = null;
let state = null;
let inflight = null;
let timer = null;          // a run is scheduled (one per event, however many controls changed)

function defaults() {
  return {
    objective: { kind: "builtin", name: "x2", formula: "x**2 + 10*y**2", x0: [10], dataset: "digits", model: "", standardize: true },
    optimizer: { name: "gd", params: {} },
    schedule: { name: "constant", params: {}, warmup: 0 },
    steps: 100, mode: "batch", batch_size: 32, compare: "",
    lrs: [0.001, 0.1, 0.5, 1.1],
  };
}

// ---------- the shareable URL: the setup as a short readable query, e.g. ?f=x2&x0=10&lr=0.1,1.1 ----------
// it loads, follows every change (Back and Forward step through setups), and hand edits of the address work
function toQuery(st) {
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

function fromQuery(search) {
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

function fromOldHash() {           // links made before the query: the whole setup as JSON in the hash
  if (location.hash.length < 2) return null;
  try {
    const h = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    const st = Object.assign(defaults(), h);
    st.objective = Object.assign(defaults().objective, h.objective || {});
    st.schedule = Object.assign(defaults().schedule, h.schedule || {});
    return st;
  } catch (e) { return null; }
}

// ---------- lessons: a teacher's link -- a setup, a title and text of the teacher's own, controls hidden or locked,
// optionally "predict, then see" first; Reset returns to the lesson's start ----------
const PARTS = { loss: "the loss", optimizer: "the optimizer", schedule: "the schedule", run: "steps",
                rates: "the learning rates", examples: "the course's examples" };
let lesson = null;          // { title, text, hide: [...], lock: [...], ask, start }: the lesson on the page, or none
function readLesson(search) {
  const q = new URLSearchParams(search);
  if (!["title", "text", "hide", "lock", "ask"].some((k) => q.has(k))) return null;
  const parts = (k) => (q.get(k) || "").split(",").filter((p) => p in PARTS);
  const st = fromQuery(search);
  return { title: (q.get("title") || "").slice(0, 120), text: (q.get("text") || "").slice(0, 1000),
           hide: parts("hide"), lock: parts("lock"), ask: q.get("ask") === "1", start: st ? toQuery(st) : toQuery(defaults()) };
}
function lessonSuffix(l) {
  if (!l) return "";
  const q = new URLSearchParams();
  if (l.title) q.set("title", l.title);
  if (l.text) q.set("text", l.text);
  if (l.hide.length) q.set("hide", l.hide.join(","));
  if (l.lock.length) q.set("lock", l.lock.join(","));
  if (l.ask) q.set("ask", "1");
  const more = q.toString().replace(/%2C/g, ",");
  return more ? "&" + more : "";
}
const address = (st) => toQuery(st) + lessonSuffix(lesson);      // the page's address keeps its lesson
function applyLesson() {
  $("lesson").hidden = !lesson;
  $("lesson-title").textContent = lesson ? lesson.title : "";      // the teacher's words, as text (never HTML)
  $("lesson-text").textContent = lesson ? lesson.text : "";
  for (const el of document.querySelectorAll("[data-part]")) {
    const part = el.dataset.part;
    el.hidden = !!lesson && lesson.hide.includes(part);
    if (el.tagName === "FIELDSET") el.disabled = !!lesson && lesson.lock.includes(part);
  }
}
function lessonLink() {             // the builder's link: this setup, with what the teacher filled in
  const l = { title: $("lesson-title-in").value.trim().slice(0, 120), text: $("lesson-text-in").value.trim().slice(0, 1000),
              hide: [], lock: [], ask: $("lesson-ask").checked };
  for (const box of document.querySelectorAll("#lesson-parts input:checked")) l[box.dataset.what].push(box.dataset.part);
  if (!l.title && !l.text && !l.hide.length && !l.lock.length && !l.ask) l.title = "A lesson";
  const url = location.origin + location.pathname + toQuery(state) + lessonSuffix(l);
  $("lesson-link").value = url;
  $("lesson-open").href = url;
}
function wireLessons() {
  const body = $("lesson-parts").querySelector("tbody");
  for (const [part, name] of Object.entries(PARTS)) {
    const row = document.createElement("tr");
    row.innerHTML = "<td></td><td></td><td></td>";
    row.cells[0].textContent = name;
    for (const [what, cell] of [["hide", 1], ["lock", 2]]) {
      if (what === "lock" && part === "examples") continue;
      const box = document.createElement("input");
      box.type = "checkbox"; box.dataset.part = part; box.dataset.what = what; box.id = "lesson-" + what + "-" + part;
      box.setAttribute("aria-label", what + " " + name);
      box.addEventListener("change", lessonLink);
      row.cells[cell].appendChild(box);
    }
    body.appendChild(row);
  }
  for (const id of ["lesson-title-in", "lesson-text-in", "lesson-ask"]) $(id).addEventListener("input", lessonLink);
  $("make-lesson").addEventListener("toggle", () => {       // an example's title and caption are a lesson's start
    const i = (presetQueries || []).indexOf(toQuery(state));
    if ($("make-lesson").open && i >= 0 && !$("lesson-title-in").value && !$("lesson-text-in").value) {
      $("lesson-title-in").value = PRESETS[i].title; $("lesson-text-in").value = PRESETS[i].caption;
    }
    lessonLink();
  });
  $("lesson-reset").addEventListener("click", () => {
    if (!lesson) return;
    state = fromQuery(lesson.start) || defaults();
    history.pushState(null, "", address(state));
    syncControls(); schedule();
  });
}

let settle = null;
function writeURL() {            // a setup that stays for 400 ms becomes a history entry (Back returns to it)
  $("share").href = address(state);
  showCaption();
  clearStaleFind();
  if ($("make-lesson").open) lessonLink();
  clearTimeout(settle);
  settle = setTimeout(() => { const url = address(state); if (url !== location.search) history.pushState(null, "", url); }, 400);
}

function loadURL() {
  const st = fromQuery(location.search) || fromOldHash();
  state = st || defaults();
  lesson = readLesson(location.search);
  applyLesson();
}

// ---------- words a learner reads ----------
const METHODS = { gd: "gradient descent", momentum: "momentum", nesterov: "Nesterov momentum", adagrad: "AdaGrad",
                  rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW" };
// the controls say what a learner reads in the course, not the library's names ("gd", "ema", "warm_restarts")
const SCHEDULE_NAMES = { constant: "constant", inverse_time: "inverse-time decay", step_decay: "step decay",
  multi_step: "step decay at chosen steps", exponential: "exponential decay", cosine: "cosine annealing",
  warm_restarts: "cosine with warm restarts", one_cycle: "one cycle", reduce_on_plateau: "reduce on plateau" };
const CHOICE_NAMES = { ema: "the course's: v = βv + (1−β)∇J", heavy_ball: "heavy ball (PyTorch's SGD): v = βv + ∇J",
  cos: "cosine", linear: "linear", rel: "relative", abs: "absolute" };
// "Rosenbrock valley · momentum, β = 0.9" rather than the library's repr (gd(weight_decay=0))
const SUPERSCRIPT = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const written = (f) => f.replace(/(\*\*|\^)(\d+)(?![.\d])/g, (_, op, ds) => [...ds].map((d) => SUPERSCRIPT[d]).join(""))
  .replace(/\*\*/g, "^").replace(/\*/g, "·");
function setupTitle(data, between = " · ") {        // between: " · ", or a line break on a phone
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

// ---------- the course's examples, one click away ----------
// each is a setup (the same short query a link holds) and one line on what to notice
const PRESETS = [
  { title: "x² from 10: α = 0.1 and 1.1", query: "?f=x2&x0=10&lr=0.1,1.1&steps=30",
    caption: "The course's worked example, in the step table: α = 0.1 gives 10 → 8 → 6.4 (every step multiplies x by " +
             "1 − 2α = 0.8); α = 1.1 gives 10 → −12 → 14.4 (× −1.2: it jumps past the minimum, further each time, " +
             "and oscillates outward)." },
  { title: "w² from 4: α = 0.1 and 1.5", query: "?f=w**2&x0=4&lr=0.1,1.5&steps=10",
    caption: "L(w) = w² from w = 4: α = 0.1 gives 4 → 3.2; α = 1.5 gives 4 → −8 → 16 while the loss goes " +
             "16 → 64 → 256 — divergence, the loss grows fourfold every step." },
  { title: "Try decades", query: "?f=x2&x0=10&lr=0.1,0.01,0.001,0.0001&steps=100",
    caption: "How the course says to choose α: try 0.1, 0.01, 0.001, 0.0001 and compare the curves. Here each ten " +
             "times smaller α is about ten times slower: 0.1 converges, 0.0001 has barely moved (too low, not broken)." },
  { title: "Too low, just right, too high", query: "?f=quadratic&lr=0.01,0.18,0.21&steps=100",
    caption: "A bowl ten times steeper one way than the other: 2/L = 0.2 is the edge. 0.01 crawls (too low); 0.18, " +
             "near the best constant α 2/(L+μ) = 0.18, converges fast (just right); 0.21 is past 2/L and diverges " +
             "(too high)." },
  { title: "Momentum β on a ravine", query: "?f=x**2%2B100*y**2&x0=10,1&lr=0.02&opt=momentum&opt.beta=0,0.9,0.99&steps=150",
    caption: "All at α = 0.02, twice gradient descent's limit 2/L = 0.01. β = 0 is plain gradient descent and " +
             "diverges; β = 0.9 averages the zigzag away and converges; β = 0.99 reacts so slowly that it overshoots " +
             "and is still swinging at the end: β has to be tuned too." },
  { title: "Adam at 0.001 vs gradient descent", query: "?f=rosenbrock&lr=0.0001,0.001,0.01,0.1&opt=adam&steps=1000&cmp=gd",
    caption: "Adam (solid) against gradient descent (dotted) at the same α on the Rosenbrock valley. Gradient " +
             "descent diverges from 0.01 up (past 2/L ≈ 0.0013); Adam still trains there, and at 0.1 reaches the " +
             "minimum: less sensitive to α. But at the usual first try, 0.001, gradient descent is ahead after 1,000 " +
             "steps: α still matters with Adam." },
  { title: "Decay vs a constant α", query: "?data=digits&lr=0.5,2&steps=300&sched=step_decay&sched.step_size=100&sched.gamma=0.3&mode=minibatch&bs=32",
    caption: "Step decay (α × 0.3 every 100 steps) against the same α held constant (dotted), on the digits with " +
             "mini-batches of 32. For α = 2 the decay ends twice as low: smaller steps average the batch noise out. " +
             "For α = 0.5 it ends higher: it slowed a rate that was not too high. A decaying α does not always help." },
  { title: "Cosine with warm restarts", query: "?data=digits&lr=2&steps=300&sched=warm_restarts&sched.t_0=100&mode=minibatch&bs=32",
    caption: "α falls along a cosine for 100 steps, then jumps back up (the schedule chart below): the loss jumps " +
             "with it at each restart, then falls lower than with the constant α (dotted)." },
  { title: "Inverse-time decay", query: "?data=digits&lr=2&steps=300&sched=inverse_time&sched.k=0.02&mode=minibatch&bs=32",
    caption: "α_t = α₀ / (1 + 0.02·t): half of α₀ by step 50, a seventh by step 300 (the schedule chart below). " +
             "Against the same α held constant (dotted) the loss ends 40% lower: shrinking steps let the mini-batch " +
             "noise average out." },
  { title: "Mini-batch noise", query: "?data=digits&lr=0.1,1&steps=200&mode=minibatch&bs=32",
    caption: "Each step sees 32 of the 1,797 images: the loss on that batch (faint) jumps around while the loss on " +
             "all the data (solid) falls steadily — noise is not failure. Set the mode to stochastic (one image a " +
             "step) for more noise, or to batch for none." },
  { title: "Stochastic: one image a step", query: "?data=digits&lr=0.01,0.1,1&steps=300&mode=stochastic",
    caption: "Stochastic gradient descent sees one image per step: that image's loss (faint) is all over the place " +
             "while the loss on all the data (solid) still falls for α = 0.01 and 0.1 — fast, noisy, and it may never " +
             "settle exactly. At α = 1 a single image's gradient throws the model off: it diverges." },
  { title: "A decay that is too fast", query: "?f=x2&x0=10&lr=0.05&sched=exponential&sched.k=0.3&steps=60",
    caption: "α_t = α₀·e^(−0.3t): after 10 steps α is 20 times smaller, and the loss stops falling far above the " +
             "minimum (0) — decaying too fast stalls training. Set k to 0.01, or the schedule to constant, and compare." },
];

// a setup from a link (an example, a question): a history entry of its own, the controls, a run
function loadSetup(query) {
  history.pushState(null, "", query);
  loadURL();
  history.replaceState(null, "", address(state));      // as the page writes it (defaults filled in)
  syncControls(); schedule();
}

// one button per item (an example, a question), titled and numbered: prefix-0, prefix-1, ...
function renderButtons(box, items, prefix, onClick) {
  box.innerHTML = "";
  items.forEach((item, i) => {
    const b = document.createElement("button");
    b.type = "button"; b.id = prefix + "-" + i; b.textContent = item.title;
    b.addEventListener("click", () => onClick(item));
    box.appendChild(b);
  });
}

// the caption of the example on the page (none once the setup is changed)
let presetQueries = null;          // each example's query as the page writes it (computed once)
function showCaption() {
  const here = toQuery(state);
  presetQueries = presetQueries || PRESETS.map((p) => { const st = fromQuery(p.query); return st && toQuery(st); });
  const i = presetQueries.indexOf(here);
  const box = $("caption");
  box.hidden = i < 0;
  box.textContent = i < 0 ? "" : PRESETS[i].caption;
  for (const [k, b] of [...$("presets").children].entries()) b.setAttribute("aria-pressed", String(k === i));
}

// ---------- predict, then see: the course's quizzes, made live ----------
// a question is a setup whose curves stay hidden until the learner has said what each α will do (scored against
// the diagnosis, whose reason is the explanation), or the course's multiple-choice question with a setup to show it
const OUTCOMES = [["converged", "converges"], ["slow", "converges slowly"], ["oscillating", "oscillates"],
                  ["diverged", "diverges"], ["unbounded", "falls without end (no minimum)"]];
const QUESTIONS = [
  { title: "x²: four rates", query: "?f=x2&x0=10&lr=0.01,0.1,0.95,1.1&steps=30",
    text: "f(x) = x² from x = 10, 30 steps. What will each α do?" },
  { title: "The bowl: which side of 2/L?", query: "?f=quadratic&lr=0.01,0.18,0.21&steps=100",
    text: "A bowl with 2/L = 0.2. What will α = 0.01, 0.18 and 0.21 do in 100 steps?" },
  { title: "The course's question", query: "?f=x2&x0=10&lr=0.1,1.1&steps=30",
    text: "If the training loss increases or oscillates wildly, the most likely cause is…",
    choices: ["the learning rate is too high", "the learning rate is too low", "too few training steps",
              "the data set is too small"], answer: 0,
    explain: "α too high: every step overshoots the minimum by more than it corrects (here α = 1.1 on x²: 10 → −12 → " +
             "14.4, the loss grows ×1.44 a step), while α = 0.1 falls steadily. Lower α until the loss falls." },
  { title: "Momentum β", query: "?f=x**2%2B100*y**2&x0=10,1&lr=0.02&opt=momentum&opt.beta=0,0.9,0.99&steps=150",
    text: "A narrow ravine (2/L = 0.01 for gradient descent), α = 0.02, momentum β = 0, 0.9 and 0.99. What will each do?" },
  { title: "Adam on a valley", query: "?f=rosenbrock&lr=0.0001,0.001,0.01,0.1&opt=adam&steps=1000",
    text: "Adam on the Rosenbrock valley, 1,000 steps. What will each α do?" },
];
let quiz = null;        // {question, query} while the curves are hidden

function startQuiz(question, load) {
  if (load) loadSetup(question.query);
  quiz = { question, query: toQuery(state), ready: false };
  document.body.dataset.quiz = "hidden";
  $("quiz-box").hidden = false;
  $("quiz-score").innerHTML = "";
  $("quiz-reveal").disabled = true;
  $("quiz-question").textContent = question.text;
  $("quiz-answers").textContent = "…";
  $("quiz-box").scrollIntoView({ block: "nearest" });
  if (!load && !inflight && !timer && lastData) quizAnswers(lastData);     // the setup's answer is on the page
}

// one guess per configuration, named as the answer names them (asked once the answer for the setup has come)
function quizAnswers(data) {
  if (!quiz || quiz.ready || toQuery(state) !== quiz.query) return;
  quiz.ready = true;
  const q = quiz.question;
  const answers = $("quiz-answers");
  answers.innerHTML = "";
  const items = q.choices ? ["answer"] : data.configs.map((c) => label(data, c));
  items.forEach((name, k) => {
    const row = document.createElement("label");
    const select = document.createElement("select");
    select.id = "quiz-answer-" + k;
    option(select, "", "— your guess —");
    if (q.choices) q.choices.forEach((c, i) => option(select, String(i), c));
    else for (const [value, words] of OUTCOMES) option(select, value, words);
    row.append(name, select);
    answers.appendChild(row);
  });
  $("quiz-reveal").disabled = false;
}

function reveal() {
  if (!quiz || !quiz.ready || !lastData) return;
  const score = $("quiz-score");
  if (toQuery(state) !== quiz.query) { score.textContent = "The setup changed: start the quiz again."; return; }
  delete document.body.dataset.quiz;
  $("quiz-reveal").disabled = true;
  score.innerHTML = "";
  const q = quiz.question;
  let right = 0, total = 0;
  const line = (ok, text) => { const p = document.createElement("p"); p.className = ok ? "right" : "wrong"; p.textContent = (ok ? "✓ " : "✗ ") + text; score.appendChild(p); };
  if (q.choices) {
    const said = $("quiz-answer-0").value;
    total = 1; right = said === String(q.answer) ? 1 : 0;
    line(right === 1, (right ? "Right: " : "Not quite: the answer is “" + q.choices[q.answer] + "”. ") + q.explain);
  } else {
    const words = Object.fromEntries(OUTCOMES);
    lastData.configs.forEach((c, k) => {
      const said = ($("quiz-answer-" + k) || {}).value || "";
      const ok = said === c.verdict.kind;
      total += 1; right += ok ? 1 : 0;
      line(ok, label(lastData, c) + ": " + (said ? "you said it " + words[said] + "; " : "no guess; ") + "it " +
           words[c.verdict.kind] + " — " + c.verdict.reason + ".");
    });
  }
  const head = document.createElement("p");
  head.innerHTML = "<b></b>";
  head.querySelector("b").textContent = right + " of " + total + " right.";
  score.prepend(head);
  quiz = null;
  Plotly.Plots.resize("loss-chart");
}

function stopQuiz() {
  quiz = null;
  delete document.body.dataset.quiz;
  $("quiz-box").hidden = true;
}

// ---------- controls ----------
function option(select, value, label) {
  const o = document.createElement("option");
  o.value = value; o.textContent = label; select.appendChild(o);
}

function fillSelects() {
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

function renderLrs() {
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
      num.value = plain(state.lrs[i]); schedule();
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
      schedule();
    });
    del.addEventListener("click", () => { if (state.lrs.length > 1) { state.lrs.splice(i, 1); renderLrs(); schedule(); } });
    row.append(slider, num, del);
    box.appendChild(row);
  });
}

function syncControls() {
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
  paramInputs($("hyper"), OPTIONS.optimizers[state.optimizer.name] || {}, state.optimizer.params, schedule);
  paramInputs($("schedule-params"), OPTIONS.schedules[state.schedule.name] || {}, state.schedule.params, schedule);
  renderLrs();
}

function wireControls() {
  $("objective").addEventListener("change", () => {
    const [kind, name] = $("objective").value.split(":");
    state.objective.kind = kind;
    if (kind === "builtin") {
      const d = OPTIONS.builtins[name];
      state.objective.name = name; state.objective.x0 = d.x0.slice(); state.lrs = d.lrs.slice();
    } else if (kind === "formula") {
      state.objective.x0 = null;
    }
    syncControls(); schedule();
  });
  $("formula").addEventListener("input", () => { state.objective.formula = $("formula").value; state.objective.x0 = null; schedule(); });
  $("dataset").addEventListener("change", () => { state.objective.dataset = $("dataset").value; schedule(); });
  $("model").addEventListener("change", () => { state.objective.model = $("model").value; schedule(); });
  $("standardize").addEventListener("change", () => { state.objective.standardize = $("standardize").checked; schedule(); });
  $("x0").addEventListener("change", () => {
    const txt = $("x0").value.trim();
    const parts = txt === "" ? [] : txt.split(/[\s,]+/);
    const bad = parts.find((t) => !Number.isFinite(Number(t)));
    if (bad !== undefined) {
      stale(`Start point x₀: "${bad}" is not a number; type numbers separated by commas, e.g. 1, -1`, ["objective.x0"]);
      return;
    }
    state.objective.x0 = parts.length ? parts.map(Number) : null;    // empty: the formula's own start
    schedule();
  });
  $("optimizer").addEventListener("change", () => { state.optimizer = { name: $("optimizer").value, params: {} }; syncControls(); schedule(); });
  $("schedule").addEventListener("change", () => {
    const name = $("schedule").value;
    state.schedule = { name, params: periodsFor(name, state.steps), warmup: state.schedule.warmup };
    syncControls(); schedule();
  });
  $("warmup").addEventListener("change", () => { state.schedule.warmup = Number($("warmup").value) || 0; schedule(); });
  $("steps").addEventListener("change", () => { state.steps = Number($("steps").value); schedule(); });
  $("compare").addEventListener("change", () => { state.compare = $("compare").value; schedule(); });
  $("mode").addEventListener("change", () => { state.mode = $("mode").value; schedule(); });
  $("batch-size").addEventListener("change", () => { state.batch_size = Number($("batch-size").value); schedule(); });
  $("add-lr").addEventListener("click", () => { state.lrs.push(state.lrs[state.lrs.length - 1] * 3); renderLrs(); schedule(); });
  $("decades").addEventListener("click", () => { state.lrs = [0.1, 0.01, 0.001, 0.0001]; renderLrs(); schedule(); });
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

// ---------- talking to the server ----------
function requestBody() {
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
function schedule() {
  writeURL();
  if (timer === null) { timer = true; queueMicrotask(() => { timer = null; run(); }); }
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
function stale(msg, fields) {
  showError(msg, fields);
  document.body.dataset.stale = "1";
}

function showError(msg, fields) {
  const box = $("error");
  box.textContent = msg;
  box.hidden = !msg;
  for (const el of document.querySelectorAll("[aria-invalid=true]")) el.removeAttribute("aria-invalid");
  for (const f of fields || []) { const el = controlOf(f); if (el) el.setAttribute("aria-invalid", "true"); }
}

async function post(url, body, signal) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
  let payload = null;
  try { payload = await r.json(); } catch (e) { payload = null; }
  if (!r.ok) { const e = new Error(errorText(payload, r.status)); e.fields = errorFields(payload); throw e; }
  return payload;
}

// one request in flight, the latest setup wins: a change while a quick request runs waits for it and then sends
// the newest setup (a slider drag repaints as fast as the server answers); a request that has run for more than
// 150 ms is aborted instead (the server then stops its work), and the charts dim while the new one runs
let pending = false, started = 0;
async function run() {
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
    if (e.name !== "AbortError") { showError(e.message, e.fields); document.body.dataset.stale = "1"; }
  } finally {
    clearTimeout(busy);
    if (inflight === ctrl) {
      inflight = null; delete document.body.dataset.busy; $("results").setAttribute("aria-busy", "false");
      if (pending) run();
    }
  }
}

// ---------- drawing ----------
// numbers a learner can read: exact integers below a million, four significant digits, one notation (×10ⁿ) for
// the very small and the very large
function fmt(x) {
  if (x === null || x === undefined) return "—";
  if (x === 0) return "0";
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(4)));
  const [m, e] = x.toExponential(2).split("e");
  return Number(m) + "×10" + String(Number(e)).replace(/-/g, "⁻").replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]);
}
const plain = (x) => String(Number(x.toPrecision(4)));     // for inputs: a number as JavaScript reads it back
const LOG_AXIS = { type: "log", exponentformat: "power" };      // ticks as powers of ten
// charts fill their container (no fixed 700 px), without a toolbar over their titles
const PLOT_CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
// the charts follow the page's light or dark theme (the system's setting)
const DARK = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
function themed(layout) {
  const ink = DARK ? "#e4e6ea" : "#222", grid = DARK ? "#3a414b" : "#e6e6ea";
  const axis = (a) => Object.assign({ gridcolor: grid, zerolinecolor: grid, linecolor: grid }, a || {});
  return Object.assign({}, layout, { paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: Object.assign({ color: ink }, layout.font || {}), xaxis: axis(layout.xaxis), yaxis: axis(layout.yaxis) });
}
function plot(el, traces, layout) { Plotly.react(el, traces, themed(layout), PLOT_CONFIG); }

// the loss curves first (what a slider move is for), the other panels right after it has been painted
let rest = [], drawn = 0;
function draw(data) {
  lastData = data;
  if (quiz) quizAnswers(data);
  now = Math.min(now, data.steps);
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
const KNOWN = { beta: "β", beta1: "β₁", beta2: "β₂", dampening: "τ", eps: "ε", weight_decay: "wd", alpha: "ρ",
                momentum: "μ", lr_decay: "decay" };
// the controls' names: what the course calls them, the library's name in the tooltip
const CONTROL_NAMES = { beta: "β (momentum)", beta1: "β₁ (first moment)", beta2: "β₂ (second moment)",
  dampening: "τ: share of ∇J left out (dampening)", eps: "ε", weight_decay: "weight decay (wd)", alpha: "ρ (smoothing)",
  form: "form", amsgrad: "AMSGrad", centered: "centered", nesterov: "Nesterov", lr_decay: "α decay",
  initial_accumulator_value: "initial accumulator", k: "k (decay rate)", gamma: "γ (factor)",
  step_size: "drop every (steps)", milestones: "drop at steps", t_max: "period (steps)", eta_min: "lowest α",
  t_0: "restart period (steps)", t_mult: "period growth ×", total_steps: "total steps", pct_start: "share rising",
  div_factor: "start α = α / this", final_div_factor: "end α = start / this", three_phase: "three phases",
  anneal: "annealing", steps: "steps", start_factor: "start factor", factor: "factor", patience: "patience",
  threshold: "threshold", threshold_mode: "threshold mode", cooldown: "cooldown", min_lr: "lowest α" };
function label(data, c) {
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
const CLIP_DECADES = 3;
function ceilingOf(rows) {
  let start = 0;
  for (const row of rows) { const v = row.find((u) => u !== null && u !== undefined); if (v > start) start = v; }
  return start > 0 ? start * Math.pow(10, CLIP_DECADES) : Infinity;
}
function clipped(x, y, ceiling, name, color) {
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
let shownMap = null;        // {key, x: [lo, hi], y: [lo, hi]} of the contour layer on screen
// the map belongs to a loss, wherever the runs start (a dragged start point keeps it while it still fits)
const mapKey = () => JSON.stringify(Object.assign({}, state.objective, { x0: null }));
const MAP_MARGIN = { t: 40, r: 10, b: 45, l: 55 };

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
    if (L.kind === "same" && !(shownMap && shownMap.key === mapKey())) { schedule(); return; }   // map lost: ask again
    if (L.kind === "contour") drawMap(L, data);
    data.configs.forEach((c, k) => {
      traces.push({ x: c.path[0], y: c.path[1], mode: "lines", name: label(data, c),
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

// ---------- motion: step through the iterations ----------
// one step for every chart: a cursor on the loss curves, each run's iterate on the map (or on f), the row of the
// step table; play advances it (the first steps slowly, where the course's examples live)
let lastData = null, now = 0, playing = null;

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
function pushStart(traces, data) {
  const c = data.configs[0];
  const x = c.table ? c.table[0][2] : c.path.map((p) => p[0]);
  traces.push({ x: [x[0]], y: [data.dim === 1 ? c.loss[0] : x[1]], mode: "markers", name: "start x₀ (drag it)",
                marker: { symbol: "circle-open", size: 16, color: DARK ? "#fff" : "#000", line: { width: 2.5 } } });
}

function pushIterates(traces, data) {
  // one trace for every run's iterate (a marker each, in the run's colour): cheap to move
  const points = iteratePoints(data);
  traces.push({ x: points.map((p) => p[0]), y: points.map((p) => p[1]), mode: "markers", hoverinfo: "skip", name: "now",
                marker: { size: 10, color: data.configs.map((c, k) => rateColor(k)),
                          line: { color: DARK ? "#fff" : "#000", width: 1.5 } } });
}

const cursor = () => ({ type: "line", x0: now, x1: now, yref: "paper", y0: 0, y1: 1,
                        line: { color: DARK ? "#bbb" : "#666", width: 1, dash: "dot" } });    // the step shown

function showStepControl(data) {         // the slider and its words at the step shown
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
function drawRule(data) {
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

function setStep(t) {
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

function togglePlay() {
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
  schedule();
}
function wireDrag() {
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

// many parameters: no map to draw the paths on, so the size of each step's gradient instead (it shrinks as a run
// converges, stalls high when α is too low, and blows up with a diverging run)
function drawGradients(data) {
  if (shownMap) { Plotly.purge($("landscape-map")); shownMap = null; }
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
function drawSchedule(data) {
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
function exitArrows(data, xr, yr) {
  const out = [];
  data.configs.forEach((c, k) => {
    const [px, py] = c.path;
    for (let i = 1; i < px.length; i++) {
      const inside = (j) => px[j] !== null && py[j] !== null && px[j] >= xr[0] && px[j] <= xr[1] && py[j] >= yr[0] && py[j] <= yr[1];
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

function drawTheory(data) {
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

function drawTable(data) {
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

// the setup a range test answers (its rates aside: "use this α" adds one without making the answer stale)
const findKey = () => { const b = requestBody(); return JSON.stringify([b.objective, b.optimizer, b.batch_size || null, b.steps, b.schedule || null]); };
let found = null;          // {key, suggestion} of the range test on the page

function clearStaleFind() {
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

async function runFind() {
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
    showError(e.message);
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

function useFound() {
  if (!found) return;
  if (!state.lrs.some((v) => Math.abs(v - found.suggestion) <= 1e-9 * found.suggestion)) state.lrs.push(found.suggestion);
  renderLrs(); schedule();
}

async function init() {
  OPTIONS = await (await fetch("/api/options")).json();
  COLORS = OPTIONS.verdict_colors; RATES = OPTIONS.rate_colors; DASH = OPTIONS.verdict_dash;
  fillSelects();
  renderButtons($("presets"), PRESETS, "preset", (p) => loadSetup(p.query));
  renderButtons($("quiz-list"), QUESTIONS, "quiz", (q) => startQuiz(q, true));
  loadURL();
  history.replaceState(null, "", address(state));     // the address always shows the setup on the page
  syncControls();
  wireControls();
  wireLessons();
  window.addEventListener("popstate", () => { loadURL(); syncControls(); showCaption(); run(); });
  window.addEventListener("hashchange", () => { loadURL(); syncControls(); schedule(); });
  schedule();
  if (lesson && lesson.ask) startQuiz({ text: (lesson.title ? lesson.title + ": " : "") + "what will each α do?" }, false);
}

init();

// lrscope explorer -- the course's examples one click away, and predict-then-see: the quizzes.
import { label } from "./charts.js";
import { option, syncControls } from "./controls.js";
import { address, loadURL } from "./lessons.js";
import { lastData } from "./motion.js";
import { inflight, requestRun, timer } from "./requests.js";
import { $, state } from "./state.js";
import { fromQuery, toQuery } from "./url.js";

// ---------- the course's examples, one click away ----------
// each is a setup (the same short query a link holds) and one line on what to notice
export const PRESETS = [
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
export function loadSetup(query) {
  history.pushState(null, "", query);
  loadURL();
  history.replaceState(null, "", address(state));      // as the page writes it (defaults filled in)
  syncControls(); requestRun();
}

// one button per item (an example, a question), titled and numbered: prefix-0, prefix-1, ...
export function renderButtons(box, items, prefix, onClick) {
  box.innerHTML = "";
  items.forEach((item, i) => {
    const b = document.createElement("button");
    b.type = "button"; b.id = prefix + "-" + i; b.textContent = item.title;
    b.addEventListener("click", () => onClick(item));
    box.appendChild(b);
  });
}

// the caption of the example on the page (none once the setup is changed)
export let presetQueries = null;          // each example's query as the page writes it (computed once)
export function showCaption() {
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
export const QUESTIONS = [
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
export let quiz = null;        // {question, query} while the curves are hidden

export function startQuiz(question, load) {
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
export function quizAnswers(data) {
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

export function reveal() {
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

export function stopQuiz() {
  quiz = null;
  delete document.body.dataset.quiz;
  $("quiz-box").hidden = true;
}

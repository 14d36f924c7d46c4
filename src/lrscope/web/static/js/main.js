// lrscope explorer -- the explorer's entry point: load the options, fill the controls, read the address, run.
import { fillSelects, syncControls, wireControls } from "./controls.js";
import { PRESETS, QUESTIONS, loadSetup, renderButtons, showCaption, startQuiz } from "./examples.js";
import { address, lesson, loadURL, wireLessons } from "./lessons.js";
import { requestRun, runSweep } from "./requests.js";
import { $, setOptions, state } from "./state.js";

async function init() {
  setOptions(await (await fetch("/api/options")).json());
  fillSelects();
  renderButtons($("presets"), PRESETS, "preset", (p) => loadSetup(p.query));
  renderButtons($("quiz-list"), QUESTIONS, "quiz", (q) => startQuiz(q, true));
  loadURL();
  history.replaceState(null, "", address(state));     // the address always shows the setup on the page
  syncControls();
  wireControls();
  wireLessons();
  window.addEventListener("popstate", () => { loadURL(); syncControls(); showCaption(); runSweep(); });
  window.addEventListener("hashchange", () => { loadURL(); syncControls(); requestRun(); });
  requestRun();
  if (lesson && lesson.ask) startQuiz({ text: (lesson.title ? lesson.title + ": " : "") + "what will each α do?" }, false);
}

init();

// lrscope explorer -- lessons (a teacher's link: title, text, hidden or locked controls, a question) and the page's address.
import { syncControls } from "./controls.js";
import { PRESETS, presetQueries, showCaption } from "./examples.js";
import { clearStaleFind } from "./finder.js";
import { requestRun } from "./requests.js";
import { $, defaults, setState, state } from "./state.js";
import { fromOldHash, fromQuery, toQuery } from "./url.js";

// ---------- lessons: a teacher's link -- a setup, a title and text of the teacher's own, controls hidden or locked,
// optionally "predict, then see" first; Reset returns to the lesson's start ----------
const PARTS = { loss: "the loss", optimizer: "the optimizer", schedule: "the schedule", run: "steps",
                rates: "the learning rates", examples: "the course's examples" };
export let lesson = null;          // { title, text, hide: [...], lock: [...], ask, start }: the lesson on the page, or none
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
export const address = (st) => toQuery(st) + lessonSuffix(lesson);      // the page's address keeps its lesson
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
export function wireLessons() {
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
    setState(fromQuery(lesson.start) || defaults());
    history.pushState(null, "", address(state));
    syncControls(); requestRun();
  });
}

let settle = null;
export function writeURL() {            // a setup that stays for 400 ms becomes a history entry (Back returns to it)
  $("share").href = address(state);
  showCaption();
  clearStaleFind();
  if ($("make-lesson").open) lessonLink();
  clearTimeout(settle);
  settle = setTimeout(() => { const url = address(state); if (url !== location.search) history.pushState(null, "", url); }, 400);
}

export function loadURL() {
  const st = fromQuery(location.search) || fromOldHash();
  setState(st || defaults());
  lesson = readLesson(location.search);
  applyLesson();
}

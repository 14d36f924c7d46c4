"""Speed of the explorer: request latency, throughput under 8 concurrent clients, slider-to-repaint time.

Starts ``lrscope serve`` on a free loopback port, then, in the same run:

- the core alone: ``ls.sweep`` of 16 learning rates × 500 steps on Rosenbrock (the baseline);
- p50/p95 time from request to response for that sweep through HTTP, over 200 requests, one client;
- requests per second with 8 concurrent clients (400 requests in all), and how many failed;
- the same 8 clients while a ninth sends, again and again, the most expensive requests the bounds allow (a data-set
  sweep estimated just under the limit, a range test on it, and a formula whose exact Hessian would be huge): the
  realistic requests' p95 against their p95 alone, and failures;
- in headless Chromium (if installed): the time from a slider move to the repainted loss chart, p50/p95 over 30 moves,
  and over 30 more while the iterations play.

Run by hand: ``python benchmarks/bench_web.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import lrscope as ls
from lrscope.web.local import CHROMIUM_ARGS, serving

LRS = list(np.geomspace(1e-4, 5e-3, 16))
BODY = json.dumps({"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": LRS, "steps": 500}).encode()


def request(url: str, body: bytes = BODY, path: str = "/api/sweep") -> float:
    t0 = time.perf_counter()
    req = urllib.request.Request(url + path, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        if r.status != 200:
            raise RuntimeError(r.status)
    return time.perf_counter() - t0


def heaviest_bodies() -> list:
    """The most expensive requests the bounds let through: steps chosen so that the server's own estimate (a
    step's cost, measured) sits just under its limit."""
    from lrscope.run import seconds_per_step
    from lrscope.web.app import REQUEST_SECONDS, WORK_SHARE
    digits = ls.objectives.dataset("digits", standardize=False)
    steps = int(0.5 * WORK_SHARE * REQUEST_SECONDS / seconds_per_step(digits, 32))   # passes under load too
    sweep = {"objective": {"kind": "dataset", "dataset": "digits", "standardize": False},
             "lrs": list(np.geomspace(1e-6, 1e-3, 32)), "steps": min(steps, 5000)}
    text = "*".join(f"x{i}" for i in range(20))
    for _ in range(20):
        text = f"sigmoid({text})"
    formula = {"objective": {"kind": "formula", "formula": text}, "lrs": list(np.geomspace(1e-3, 1, 32)),
               "steps": 200}
    find = {"objective": {"kind": "formula", "formula": text}, "steps": 100}
    return [(json.dumps(sweep).encode(), "/api/sweep"), (json.dumps(formula).encode(), "/api/sweep"),
            (json.dumps(find).encode(), "/api/find")]


def pct(values, q):
    return float(np.percentile(values, q)) * 1e3


def main():
    with serving() as url:
        obj = ls.objectives.rosenbrock()
        core = []
        for _ in range(50):
            t0 = time.perf_counter()
            ls.sweep(obj, lrs=LRS, steps=500)
            core.append(time.perf_counter() - t0)
        # a built-in data set, as the explorer sends it: the first request builds the objective and measures its
        # curvature (cold), the second finds both in the server's cache (warm)
        digits = json.dumps({"objective": {"kind": "dataset", "dataset": "digits", "model": "softmax"},
                             "lrs": list(np.geomspace(1e-3, 1, 16)), "steps": 300, "batch_size": 32}).encode()
        cold = request(url, digits)
        warm = min(request(url, digits) for _ in range(3))
        for _ in range(10):
            request(url)                       # warm up
        single = [request(url) for _ in range(200)]

        failures = 0

        def one(_):
            nonlocal failures
            try:
                return request(url)
            except Exception:                  # counted, not raised: this is a load test
                failures += 1
                return float("nan")

        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            lat8 = [x for x in pool.map(one, range(400)) if np.isfinite(x)]
        wall = time.perf_counter() - t0

        # the same load while a ninth client sends the heaviest requests the bounds allow
        heavy, stop, answers = heaviest_bodies(), [], []

        def attacker():
            i = 0
            while not stop:
                body, path = heavy[i % len(heavy)]
                t0 = time.perf_counter()
                try:
                    request(url, body, path)
                    answers.append(("ok", time.perf_counter() - t0))
                except urllib.error.HTTPError as exc:     # a 422/503 with its reason is an answer, not a failure
                    answers.append((exc.code, time.perf_counter() - t0))
                except Exception as exc:
                    answers.append((type(exc).__name__, time.perf_counter() - t0))
                i += 1

        failures_alone, failures = failures, 0
        with ThreadPoolExecutor(9) as pool:
            attack = pool.submit(attacker)
            time.sleep(0.5)
            lat9 = [x for x in pool.map(one, range(400)) if np.isfinite(x)]
            stop.append(True)
            attack.result()

        print("Explorer, 16 learning rates x 500 steps on Rosenbrock (2-core machine)")
        print(f"  core ls.sweep alone (baseline)    : p50 {pct(core, 50):6.1f} ms")
        print(f"  request -> response, 1 client     : p50 {pct(single, 50):6.1f} ms   p95 {pct(single, 95):6.1f} ms   "
              f"({statistics.median(single) / statistics.median(core):.2f}x the core alone)")
        print(f"  digits softmax, 16 rates x 300 mini-batch steps: first request {cold:5.2f} s, "
              f"again (cache warm) {warm:5.2f} s")
        print(f"  8 concurrent clients, 400 requests: {len(lat8) / wall:6.1f} requests/s, p95 {pct(lat8, 95):6.1f} ms, "
              f"{failures_alone} failed")
        kinds = {}
        for what, _ in answers:
            kinds[what] = kinds.get(what, 0) + 1
        slowest = max((t for _, t in answers), default=float("nan"))
        print(f"  + a 9th client sending the heaviest: p95 {pct(lat9, 95):6.1f} ms "
              f"({np.percentile(lat9, 95) / np.percentile(lat8, 95):.2f}x the p95 without it), {failures} failed; "
              f"its {len(answers)} heavy requests: {kinds}, slowest {slowest:.1f} s")
        repaint(url)


def repaint(url: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("  slider -> repaint                 : (Chromium not installed)")
        return
    from playwright.sync_api import sync_playwright
    state = {"objective": {"kind": "builtin", "name": "rosenbrock", "x0": [-1.2, 1]}, "lrs": LRS, "steps": 500}
    from urllib.parse import quote
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pg = b.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(url + "/#" + quote(json.dumps(state)))
        pg.wait_for_function("document.querySelectorAll('#verdicts li').length === 16")
        painted, everything, animated = [], [], []
        for i in range(60):
            value = -3.5 + 0.02 * (i % 10) + 0.001 * i
            # the frame that shows the new loss chart has been rendered when a task queued from that frame's
            # animation callback runs (rAF, then a task: the usual "next paint" measure); the page draws its other
            # panels in tasks queued after it, one per panel; "every panel" waits for the frame after the last
            ms = pg.evaluate("""(v) => new Promise((done) => {
                const chart = document.getElementById('loss-chart');
                const results = document.getElementById('results');
                const before = JSON.stringify(chart.data[0].y);
                const drawnBefore = results.dataset.drawn;
                const slider = document.getElementById('lr-slider-0');
                const t0 = performance.now();
                let shown = null;
                slider.value = String(v); slider.dispatchEvent(new Event('input'));
                const check = () => {
                  if (shown === null && JSON.stringify(chart.data[0].y) !== before) {
                    setTimeout(() => { shown = performance.now() - t0; }, 0);
                  }
                  if (shown !== null && results.dataset.drawn !== drawnBefore) {
                    requestAnimationFrame(() => setTimeout(() => done([shown, performance.now() - t0]), 0));
                  } else requestAnimationFrame(check);
                };
                check();
            })""", value)
            if i >= 30 and "pause" not in pg.text_content("#play"):     # not playing yet (the button offers pause)
                pg.click("#play")                       # the second half is measured while the iterates move
            (animated if i >= 30 else painted).append(ms[0] / 1e3)
            everything.append(ms[1] / 1e3)
        b.close()
    print(f"  slider -> repaint in Chromium     : p50 {pct(painted, 50):6.1f} ms   p95 {pct(painted, 95):6.1f} ms "
          f"(from the input event to the rendered frame with the new loss chart)")
    print(f"  ... while playing the iterations  : p50 {pct(animated, 50):6.1f} ms   p95 {pct(animated, 95):6.1f} ms")
    print(f"  slider -> every panel redrawn     : p50 {pct(everything, 50):6.1f} ms   "
          f"p95 {pct(everything, 95):6.1f} ms "
          f"(loss chart, map, theory chart and step table)")


if __name__ == "__main__":
    main()

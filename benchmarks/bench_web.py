"""Speed of the explorer: request latency, throughput under 8 concurrent clients, slider-to-repaint time.

Starts ``lrscope serve`` on a free loopback port, then, in the same run:

- the core alone: ``ls.sweep`` of 16 learning rates × 500 steps on Rosenbrock (the baseline);
- p50/p95 time from request to response for that sweep through HTTP, over 200 requests, one client;
- requests per second with 8 concurrent clients (400 requests in all), and how many failed;
- in headless Chromium (if installed): the time from a slider move to the repainted loss chart, p50/p95 over 30 moves.

Run by hand: ``python benchmarks/bench_web.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import lrscope as ls

LRS = list(np.geomspace(1e-4, 5e-3, 16))
BODY = json.dumps({"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": LRS, "steps": 500}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str) -> float:
    t0 = time.perf_counter()
    req = urllib.request.Request(url + "/api/sweep", data=BODY, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        if r.status != 200:
            raise RuntimeError(r.status)
    return time.perf_counter() - t0


def pct(values, q):
    return float(np.percentile(values, q)) * 1e3


def main():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "lrscope.cli", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/api/options", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        obj = ls.objectives.rosenbrock()
        core = []
        for _ in range(50):
            t0 = time.perf_counter()
            ls.sweep(obj, lrs=LRS, steps=500)
            core.append(time.perf_counter() - t0)
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

        print("Explorer, 16 learning rates x 500 steps on Rosenbrock (2-core machine)")
        print(f"  core ls.sweep alone (baseline)    : p50 {pct(core, 50):6.1f} ms")
        print(f"  request -> response, 1 client     : p50 {pct(single, 50):6.1f} ms   p95 {pct(single, 95):6.1f} ms   "
              f"({statistics.median(single) / statistics.median(core):.2f}x the core alone)")
        print(f"  8 concurrent clients, 400 requests: {len(lat8) / wall:6.1f} requests/s, p95 {pct(lat8, 95):6.1f} ms, "
              f"{failures} failed")
        repaint(url)
    finally:
        server.terminate()
        server.wait(timeout=10)


def repaint(url: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("  slider -> repaint                 : (Chromium not installed)")
        return
    from playwright.sync_api import sync_playwright
    state = {"objective": {"kind": "builtin", "name": "rosenbrock", "x0": [-1.2, 1]}, "lrs": LRS, "steps": 500}
    from urllib.parse import quote
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                              "--disable-background-networking",
                                                              "--disable-component-update", "--disable-sync"])
        pg = b.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(url + "/#" + quote(json.dumps(state)))
        pg.wait_for_function("document.querySelectorAll('#verdicts li').length === 16")
        times = []
        for i in range(30):
            value = -3.5 + 0.02 * (i % 10) + 0.001 * i
            ms = pg.evaluate("""(v) => new Promise((done) => {
                const chart = document.getElementById('loss-chart');
                const before = JSON.stringify(chart.data[0].y);
                const slider = document.getElementById('lr-slider-0');
                const t0 = performance.now();
                slider.value = String(v); slider.dispatchEvent(new Event('input'));
                const check = () => {
                  if (JSON.stringify(chart.data[0].y) !== before) requestAnimationFrame(() => done(performance.now() - t0));
                  else requestAnimationFrame(check);
                };
                check();
            })""", value)
            times.append(ms / 1e3)
        b.close()
    print(f"  slider -> repaint in Chromium     : p50 {pct(times, 50):6.1f} ms   p95 {pct(times, 95):6.1f} ms "
          f"(includes the page's 30 ms debounce)")


if __name__ == "__main__":
    main()

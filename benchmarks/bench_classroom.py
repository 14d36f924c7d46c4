"""A class on one ``lrscope serve`` (issue 29): 30 students load the page, then try 20 setups each with think time in
between; run once as it is and once while 3 more users send, back to back, the heaviest requests the bounds allow.

Every realistic setup is first timed alone on the idle server (median of 3, caches warm); under load each answer's
time is divided by its setup's time alone. Printed, per request type: how many, failed (any answer but 200, or no
answer), p50 alone, p50/p95 under load and the p50/p95 of the ratios; the heavy users' answers by status (with a
503's words); the server's peak memory (VmHWM). Each student is a client of its own (``X-Lrscope-Client``, as the
page sends it); setups, think times and the heavy mix are drawn from a seed. Bounded: every request times out after
``TIMEOUT`` s and the class ends after ``--minutes``.

    python benchmarks/bench_classroom.py [--students 30] [--setups 20] [--heavy 3] [--think 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlparse

import numpy as np

import lrscope as ls
from lrscope.web.local import server

TIMEOUT = 60.0
PAGE = ["/", "/static/style.css", "/api/options"] + [f"/static/js/{m}.js" for m in (
    "main", "state", "url", "lessons", "words", "examples", "controls", "requests", "charts", "motion", "panels",
    "finder")]


def catalogue() -> list[tuple[str, str, dict]]:
    """Realistic setups (type, path, body): what a class tries in the explorer."""
    sweeps = [
        {"objective": {"kind": "builtin", "name": "x2", "x0": [10]}, "lrs": [0.001, 0.1, 0.5, 1.1], "steps": 30},
        {"objective": {"kind": "builtin", "name": "quadratic"}, "lrs": [0.01, 0.1, 0.18, 0.21], "steps": 100},
        {"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": [1e-4, 1e-3, 2e-3, 5e-3], "steps": 1000},
        {"objective": {"kind": "builtin", "name": "beale"}, "optimizer": {"name": "adam", "params": {}},
         "lrs": [1e-3, 1e-2, 3e-2, 1e-1], "steps": 500},
        {"objective": {"kind": "builtin", "name": "himmelblau"}, "optimizer": {"name": "momentum",
         "params": {"beta": [0.0, 0.9]}}, "lrs": [1e-3, 1e-2, 2e-2], "steps": 200},
        {"objective": {"kind": "builtin", "name": "saddle"}, "lrs": [0.01, 0.1, 0.5, 2.5], "steps": 100,
         "schedule": {"name": "cosine", "params": {}}, "compare_constant": True},
        {"objective": {"kind": "formula", "formula": "x**2 + 10*y**2", "x0": [3, 1]}, "lrs": [0.01, 0.05, 0.1],
         "steps": 200},
        {"objective": {"kind": "formula", "formula": "sin(x) + 0.1*x**2 + (y - 1)**2", "x0": [2, 0]},
         "lrs": [0.05, 0.5, 1.5], "steps": 300, "compare_optimizer": {"name": "nesterov", "params": {}}},
    ]
    datasets = [
        {"objective": {"kind": "dataset", "dataset": "digits", "model": "softmax"}, "lrs": [0.01, 0.1, 1.0],
         "steps": 300, "batch_size": 32},
        {"objective": {"kind": "dataset", "dataset": "diabetes", "model": "linear"}, "lrs": [0.01, 0.1, 1.0],
         "steps": 200},
        {"objective": {"kind": "dataset", "dataset": "breast_cancer", "model": "logistic"},
         "optimizer": {"name": "adam", "params": {}}, "lrs": [1e-3, 1e-2, 1e-1], "steps": 300, "batch_size": 16},
        {"objective": {"kind": "dataset", "dataset": "wine", "model": "softmax"}, "lrs": [0.1, 0.5, 2.0],
         "steps": 200, "batch_size": 1},
    ]
    finds = [
        {"objective": {"kind": "builtin", "name": "x2", "x0": [10]}},
        {"objective": {"kind": "builtin", "name": "rosenbrock"}, "budget": 500},
        {"objective": {"kind": "formula", "formula": "x**2 + 10*y**2", "x0": [3, 1]}, "budget": 200},
    ]
    dataset_finds = [
        {"objective": {"kind": "dataset", "dataset": "digits", "model": "softmax"}, "batch_size": 32, "budget": 300},
        {"objective": {"kind": "dataset", "dataset": "diabetes", "model": "linear"}, "budget": 200},
    ]
    return ([("sweep", "/api/sweep", b) for b in sweeps] + [("data sweep", "/api/sweep", b) for b in datasets]
            + [("range test", "/api/find", b) for b in finds]
            + [("data range test", "/api/find", b) for b in dataset_finds])


def heaviest() -> list[tuple[str, dict]]:
    """The most expensive requests the bounds let through: steps chosen so that the server's own estimate (a step's
    CPU time, measured here on one BLAS thread as the server computes) sits just under its limit -- a sweep on raw
    digits and one on a formula whose exact Hessian would be huge; and a range test on digits with the largest
    budget."""
    from threadpoolctl import threadpool_limits

    from lrscope.run import seconds_per_step
    from lrscope.web.app import MAX_STEPS, REQUEST_SECONDS, WORK_SHARE
    text = "*".join(f"x{i}" for i in range(20))
    for _ in range(20):
        text = f"sigmoid({text})"
    bodies = []
    with threadpool_limits(1):
        for objective, obj in [({"kind": "dataset", "dataset": "digits", "standardize": False},
                                ls.objectives.dataset("digits", standardize=False)),
                               ({"kind": "formula", "formula": text}, ls.objectives.formula(text))]:
            steps = int(0.85 * WORK_SHARE * REQUEST_SECONDS / seconds_per_step(obj, 32))
            bodies.append(("/api/sweep", {"objective": objective, "lrs": list(np.geomspace(1e-6, 1e-3, 32)),
                                          "steps": max(1, min(steps, MAX_STEPS))}))
    bodies.append(("/api/find", {"objective": {"kind": "dataset", "dataset": "digits", "model": "softmax"},
                                 "budget": MAX_STEPS // 2}))
    return bodies


class Client:
    """One user's connection (keep-alive, like a browser's), sending ``X-Lrscope-Client``."""

    def __init__(self, url: str, name: str):
        u = urlparse(url)
        self.host, self.port, self.name, self.conn = u.hostname, u.port, name, None

    def send(self, path: str, body: dict | None = None) -> tuple[int, float, str]:
        """(status -- 0 when no answer came --, seconds, the detail of an error)"""
        t0 = time.perf_counter()
        for attempt in range(2):            # a keep-alive connection the server closed: once more on a new one
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
                headers = {"X-Lrscope-Client": self.name}
                if body is None:
                    self.conn.request("GET", path, headers=headers)
                else:
                    headers["Content-Type"] = "application/json"
                    self.conn.request("POST", path, body=json.dumps(body), headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                detail = ""
                if r.status != 200:
                    try:
                        detail = str(json.loads(data).get("detail", ""))
                    except ValueError:
                        detail = data[:200].decode(errors="replace")
                return r.status, time.perf_counter() - t0, detail
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self.conn = None
                if attempt:
                    return 0, time.perf_counter() - t0, type(exc).__name__
            except OSError as exc:          # a timeout
                self.conn = None
                return 0, time.perf_counter() - t0, type(exc).__name__
        raise AssertionError("unreachable")


def page_load(client: Client) -> tuple[int, float, str]:
    t0, worst = time.perf_counter(), (200, 0.0, "")
    for path in PAGE:
        status, _, detail = client.send(path)
        if status != 200:
            worst = (status, 0.0, f"{path}: {detail}")
    return worst[0], time.perf_counter() - t0, worst[2]


def alone_times(url: str, setups) -> tuple[list[float], float]:
    """Each setup's time on the idle server (median of 3, after one call that fills the caches), and a page load's."""
    client = Client(url, "alone")
    times = []
    for kind, path, body in setups:
        client.send(path, body)
        runs = [client.send(path, body) for _ in range(3)]
        bad = [r for r in runs if r[0] != 200]
        if bad:
            raise RuntimeError(f"{kind} {json.dumps(body)} answered {bad[0][0]} alone: {bad[0][2]}")
        times.append(float(np.median([r[1] for r in runs])))
    page_load(client)
    page = float(np.median([page_load(client)[1] for _ in range(3)]))
    return times, page


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(c) for c in f.read().split()]
    return found


def cpu_now(pid: int) -> tuple[float, float, float]:
    """CPU seconds so far: (this client, the server's process, its worker processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime, cpu_seconds(pid), sum(cpu_seconds(c) for c in children(pid))


def peak_memory(pid: int) -> tuple[float, float]:
    """The peak resident memory (MiB, VmHWM) of the server's process and of its worker processes together."""
    def hwm(p):
        with open(f"/proc/{p}/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    return hwm(pid), sum(hwm(c) for c in children(pid))


def lesson(url, pid, setups, alone, page_alone, args, n_heavy: int) -> dict:
    """One class: the students' answers (type, status, seconds, ratio to alone, detail) and the heavy users'."""
    rng = np.random.default_rng(args.seed + n_heavy)
    plans = []
    for s in range(args.students):
        picks = rng.integers(0, len(setups), size=args.setups)
        thinks = np.clip(rng.exponential(args.think, size=args.setups + 1), 0.3, 4 * args.think)
        plans.append((picks, thinks, thinks[0] * rng.random()))
    answers, heavy_answers, lock = [], [], threading.Lock()
    deadline = time.monotonic() + 60 * args.minutes
    stop = threading.Event()

    def student(s):
        client = Client(url, f"student-{s:02d}")
        picks, thinks, start = plans[s]
        time.sleep(start)            # the class does not start in one instant
        status, seconds, detail = page_load(client)
        with lock:
            answers.append(("page", status, seconds, page_alone, detail))
        for pick, think in zip(picks, thinks[1:]):
            if time.monotonic() > deadline:
                return
            time.sleep(think)
            kind, path, body = setups[pick]
            status, seconds, detail = client.send(path, body)
            with lock:
                answers.append((kind, status, seconds, alone[pick], detail))

    def heavy_user(h):
        client = Client(url, f"heavy-{h}")
        i = h
        while not stop.is_set() and time.monotonic() < deadline:
            path, body = bodies[i % len(bodies)]
            status, seconds, detail = client.send(path, body)
            with lock:
                heavy_answers.append((path, status, seconds, detail))
            i += 1

    bodies = heaviest() if n_heavy else []
    threads = [threading.Thread(target=heavy_user, args=(h,), daemon=True) for h in range(n_heavy)]
    threads += [threading.Thread(target=student, args=(s,), daemon=True) for s in range(args.students)]
    t0, cpu0 = time.monotonic(), cpu_now(pid)
    for t in threads:
        t.start()
    for t in threads[n_heavy:]:
        t.join()
    stop.set()
    for t in threads[:n_heavy]:
        t.join()
    cpu = [b - a for a, b in zip(cpu0, cpu_now(pid))]
    return {"answers": answers, "heavy": heavy_answers, "seconds": time.monotonic() - t0, "cpu": cpu}


def report(title: str, result: dict) -> None:
    by_type = defaultdict(list)
    for kind, status, seconds, alone, detail in result["answers"]:
        by_type[kind].append((status, seconds, alone, detail))
    client, own, workers = result["cpu"]
    print(f"\n{title} ({result['seconds']:.0f} s; cores busy on average: server {own / result['seconds']:.2f}, "
          f"its worker {workers / result['seconds']:.2f}, this benchmark's clients {client / result['seconds']:.2f})")
    print("  the same requests' times alone; under load; p95 under load / p95 alone; and each answer's time / its")
    print("  setup's time alone (p50, p95, worst)")
    print(f"  {'request':16} {'n':>4} {'failed':>6} {'p50 alone':>9} {'p95 alone':>9} {'p50 load':>9} {'p95 load':>9} "
          f"{'p95/p95':>8} {'each p50':>8} {'each p95':>8} {'worst':>7}")
    failed_words = Counter()
    for kind in ["page", "sweep", "data sweep", "range test", "data range test"]:
        rows = by_type.get(kind, [])
        if not rows:
            continue
        ok = [r for r in rows if r[0] == 200]
        for r in rows:
            if r[0] != 200:
                failed_words[f"{r[0]} {r[3][:110]}"] += 1
        sec = np.array([r[1] for r in rows])
        alone = np.array([r[2] for r in rows])
        ratio = sec / alone
        print(f"  {kind:16} {len(rows):4d} {len(rows) - len(ok):6d} {np.median(alone) * 1e3:7.0f}ms "
              f"{np.percentile(alone, 95) * 1e3:7.0f}ms {np.median(sec) * 1e3:7.0f}ms "
              f"{np.percentile(sec, 95) * 1e3:7.0f}ms {np.percentile(sec, 95) / np.percentile(alone, 95):7.2f}x "
              f"{np.median(ratio):7.2f}x {np.percentile(ratio, 95):7.2f}x {ratio.max():6.1f}x")
    for words, n in failed_words.most_common(5):
        print(f"    failed {n}x: {words}")
    if result["heavy"]:
        statuses = Counter(status for _, status, _, _ in result["heavy"])
        print(f"  heavy users: {len(result['heavy'])} requests, by status {dict(statuses)}")
        seen = set()
        for path, status, seconds, detail in result["heavy"]:
            if status != 200 and (status, path) not in seen:
                seen.add((status, path))
                print(f"    {status} {path} after {seconds:.1f} s: {detail[:150]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--setups", type=int, default=20)
    p.add_argument("--heavy", type=int, default=3)
    p.add_argument("--think", type=float, default=3.0, help="mean think time between setups (s)")
    p.add_argument("--minutes", type=float, default=4.0, help="a class ends after this long")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    setups = catalogue()
    with server() as (url, process):
        t0 = time.monotonic()
        alone, page_alone = alone_times(url, setups)
        print(f"Alone (idle server, median of 3; {time.monotonic() - t0:.0f} s): page load {page_alone * 1e3:.0f} ms")
        for kind in ["sweep", "data sweep", "range test", "data range test"]:
            times = [a for (k, _, _), a in zip(setups, alone) if k == kind]
            print(f"  {kind:16} {len(times)} setups: {', '.join(f'{t * 1e3:.0f}' for t in times)} ms")
        calm = lesson(url, process.pid, setups, alone, page_alone, args, 0)
        report(f"{args.students} students, {args.setups} setups each, think time ~{args.think:g} s", calm)
        if args.heavy:
            busy = lesson(url, process.pid, setups, alone, page_alone, args, args.heavy)
            report(f"the same class with {args.heavy} users sending the heaviest requests back to back", busy)
        again, _ = alone_times(url, setups)
        drift = np.array(again) / np.array(alone)
        print(f"\nthe setups alone again after the classes (this machine's own noise): time / the first time alone "
              f"median {np.median(drift):.2f}x, range {drift.min():.2f}-{drift.max():.2f}x")
        own, workers = peak_memory(process.pid)
        print(f"\nserver peak memory: {own:.0f} MiB, its worker process {workers:.0f} MiB")


if __name__ == "__main__":
    main()

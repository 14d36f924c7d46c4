"""Generated inputs across the web API, the command line and ``diagnose`` (issue 29): how many were answered, refused
as the user's mistake, or ended in a 500, a traceback or a hang -- and the peak memory.

- web: request bodies for ``POST /api/sweep`` (and a share for ``/api/find``), in-process (FastAPI's TestClient):
  valid and invalid objectives, formulas, optimizers and their options, schedules, rates, steps, batch sizes, seeds,
  values of the wrong type, NaN and infinities;
- CLI: argument lists for ``lrscope sweep``, ``find``, ``bound`` and ``diagnose`` (``lrscope.cli.main``, in-process,
  stdout and stderr captured): a run ends 0, a mistake 2 with one line; a bug (70) or an exception escaping ``main``
  is counted as a traceback;
- diagnose: log files -- CSV/TSV with random headers, cells (numbers, NaN, inf, huge integers, text, quotes, ragged
  rows) and trainer_state.json files with random entries -- through ``lrscope.logs.diagnose_log``: verdicts or a
  ``LogError``; any other exception is a traceback.

Every input has a time limit (``HANG_SECONDS``): one that takes longer is counted as a hang. Inputs are drawn from a
seed, so a run can be repeated.

    python benchmarks/bench_fuzz.py [--n 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import resource
import signal
import tempfile
import time
import traceback
import warnings
from collections import Counter

import numpy as np

HANG_SECONDS = 20


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise Hang()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


WILD = 0.3        # the share of numbers that are wild (NaN, inf, negative, huge, of the wrong type)


def number(rng):
    kind = rng.integers(8)
    return [float("nan"), float("inf"), -1.0, 0, 1e308, "0.1", True, None][kind] if rng.random() < WILD else \
        float(10 ** rng.uniform(-4, 0.5))


def body(rng) -> dict:
    """A request body: mostly plausible, with wrong types and extreme values mixed in."""
    pick = lambda xs: xs[rng.integers(len(xs))]               # noqa: E731
    objective = pick([{"kind": "builtin", "name": pick(["x2", "quadratic", "rosenbrock", "saddle", "ravine", "nope"])},
                      {"kind": "formula", "formula": pick(["x**2 + y**2", "x^4 - 3x^2 + y^2", "100(y-x^2)^2",
                                                           "-x**2", "log(x)", "exp(exp(x))", "x/0", "x**", "",
                                                           "sin x", "__import__('os')", "x" * 600])},
                      {"kind": "dataset", "dataset": pick(["digits", "diabetes", "wine", "breast_cancer", "mnist"]),
                       "standardize": pick([True, False, "yes"])},
                      {"kind": pick(["other", 3, None])}])
    if rng.random() < 0.4:
        objective["x0"] = [number(rng) for _ in range(rng.integers(0, 4))]
    out = {"objective": objective,
           "optimizer": {"name": pick(["gd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "lion"]),
                         "params": {pick(["beta", "beta1", "beta2", "eps", "weight_decay", "form", "amsgrad", "x"]):
                                    pick([number(rng), [0.5, 0.9], "ema", "heavy_ball", True])
                                    for _ in range(rng.integers(0, 3))}},
           "lrs": [number(rng) for _ in range(rng.integers(0, 5))] if rng.random() < 0.9 else number(rng),
           "steps": pick([10, 50, 200, 0, -5, 10**9, "100", None, 2.5])}
    if rng.random() < 0.3:
        out["schedule"] = {"name": pick(["cosine", "step_decay", "warm_restarts", "one_cycle", "reduce_on_plateau",
                                         "nope"]),
                           "params": {pick(["step_size", "gamma", "t_0", "pct_start", "k"]): number(rng)},
                           "warmup": pick([None, 5, 0, -1])}
    if rng.random() < 0.3:
        out["batch_size"] = pick([1, 8, 32, 0, -1, 10**6, "8"])
    if rng.random() < 0.2:
        out["seed"] = pick([0, 1, -1, 2**40, "s"])
    return out


def plausible(rng) -> dict:
    """A body a learner's page could send: every value in range (half the inputs; the rest are mutated)."""
    pick = lambda xs: xs[rng.integers(len(xs))]               # noqa: E731
    out = {"objective": pick([{"kind": "builtin", "name": pick(["x2", "quadratic", "rosenbrock", "ravine"])},
                              {"kind": "formula", "formula": pick(["x**2 + y**2", "x^4 - 3x^2 + y^2",
                                                                   "(1-x)^2 + 100(y-x^2)^2", "x**2"])},
                              {"kind": "dataset", "dataset": pick(["digits", "diabetes", "wine"])}]),
           "optimizer": {"name": pick(["gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])},
           "lrs": [float(10 ** rng.uniform(-4, 0.3)) for _ in range(rng.integers(1, 5))],
           "steps": int(pick([20, 100, 300]))}
    if out["objective"]["kind"] == "dataset" and rng.random() < 0.5:
        out["batch_size"] = int(pick([8, 32]))
    if rng.random() < 0.3:
        out["schedule"] = {"name": pick(["cosine", "step_decay", "inverse_time", "one_cycle", "warm_restarts"])}
    return out


def web_inputs(rng, n: int, counts: Counter, worst: list) -> None:
    from fastapi.testclient import TestClient
    from lrscope.web.app import create_app
    client = TestClient(create_app(), raise_server_exceptions=False)
    for i in range(n):
        url = "/api/find" if i % 10 == 0 else "/api/sweep"
        b = plausible(rng) if rng.random() < 0.5 else body(rng)
        if url == "/api/find":
            b = {k: v for k, v in b.items() if k in ("objective", "optimizer", "batch_size", "seed", "schedule")}
            b["budget"] = [50, 200, 0][rng.integers(3)]
        t0 = time.perf_counter()
        try:
            with time_limit(HANG_SECONDS):
                status = client.post(url, content=json.dumps(b, default=str),         # NaN, Infinity as they come
                                     headers={"content-type": "application/json"}).status_code
        except Hang:
            status = "hang"
        counts[f"web {status}"] += 1
        if status not in (200, 422, 503):
            worst.append(("web", url, status, json.dumps(b, default=str)[:300]))
        worst_time(worst, time.perf_counter() - t0, ("web", url, b))


def worst_time(worst: list, seconds: float, what) -> None:
    if seconds > 5:
        worst.append(("slow", round(seconds, 1), str(what)[:200]))


def cli_args(rng) -> list:
    pick = lambda xs: xs[rng.integers(len(xs))]               # noqa: E731
    command = pick(["sweep", "sweep", "sweep", "bound", "find", "diagnose"])
    if command == "diagnose":
        return ["diagnose", pick(["", "/nonexistent", "/dev/null", "/etc", "/proc/self/status"])]
    opts = ["--objective", "--lr", "--steps", "--optimizer", "--beta", "--beta1", "--schedule", "-S", "--warmup",
            "--x0", "--batch-size", "--dataset", "--model", "--seed", "--formula", "--json", "--csv", "--budget"]
    values = ["x**2", "rosenbrock", "quadratic", "0.1", "1e-3:1:3", "0.5,0.9", "-1", "0", "nan", "inf", "1e400",
              "adam", "momentum", "cosine", "step_decay", "gamma=0.5", "k=abc", "diabetes", "digits", "linear", "3,4",
              "", "x", "0.1:0.9:60", "-"]
    args = [command]
    for _ in range(rng.integers(0, 7)):
        args.append(pick(opts))
        if rng.random() < 0.9:
            args.append(pick(values))
    if command in ("sweep", "find") and "--steps" not in args:
        args += ["--steps", "30"]
    if command == "find" and "--budget" not in args:
        args += ["--budget", "60"]
    return args + ["--quiet"] if command != "bound" else args


def cli_inputs(rng, n: int, counts: Counter, worst: list, where: str) -> None:
    from lrscope.cli import main
    for _ in range(n):
        args = cli_args(rng)
        err, out = io.StringIO(), io.StringIO()
        t0 = time.perf_counter()
        try:            # in the temporary folder: --json x**2 writes a file named x**2
            with time_limit(HANG_SECONDS), contextlib.chdir(where), contextlib.redirect_stderr(err), \
                    contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = main(args)
        except Hang:
            code = "hang"
        except SystemExit as exc:
            code = exc.code
        except BaseException:                                   # noqa: BLE001 -- a traceback is what is counted
            code = "traceback"
            worst.append(("cli", args, traceback.format_exc(limit=3)[-300:]))
        if code == 70:
            worst.append(("cli bug", args, err.getvalue()[-300:]))
        if code == 2 and err.getvalue().count("\n") != 1:
            counts["cli refusal not one line"] += 1
        counts[f"cli {code}"] += 1
        worst_time(worst, time.perf_counter() - t0, ("cli", args))


def log_file(rng, path: str) -> str:
    pick = lambda xs: xs[rng.integers(len(xs))]               # noqa: E731
    if rng.random() < 0.2:
        entries = [{pick(["step", "loss", "learning_rate", "eval_loss", "epoch"]):
                    pick([rng.integers(0, 1000), float(rng.random()), "abc", None, [1], 1e400, -3, 2.5, 10**30])
                    for _ in range(rng.integers(0, 4))} for _ in range(rng.integers(0, 60))]
        name = os.path.join(path, "trainer_state.json")
        with open(name, "w") as f:
            f.write(json.dumps({"log_history": entries}, default=str).replace('"Infinity"', "Infinity"))
        return name
    if rng.random() < 0.5:                  # a real-looking log: a decaying, noisy loss, sometimes blowing up
        n = int(rng.integers(3, 3000))
        t = np.arange(n)
        loss = 0.1 + 2 * np.exp(-t / rng.uniform(5, 500)) + rng.uniform(0, 0.3) * rng.standard_normal(n) ** 2
        if rng.random() < 0.2:
            loss[rng.integers(n):] = rng.choice([np.nan, np.inf, 1e30])
        name = os.path.join(path, "log.csv")
        with open(name, "w") as f:
            f.write("step,loss,lr\n" + "\n".join(f"{k},{float(v)!r},0.01" for k, v in zip(t, loss)) + "\n")
        return name
    header = [pick(["step", "loss", "lr", "val_loss", "epoch", "train/loss", "run", "x", ""])
              for _ in range(rng.integers(1, 5))]
    cells = [lambda: repr(float(rng.normal())), lambda: str(rng.integers(-10**9, 10**9)), lambda: "nan",
             lambda: "inf", lambda: "", lambda: "abc", lambda: '"1,2"', lambda: str(10**40), lambda: "1e400",
             lambda: repr(float(np.exp(-rng.random() * 5)))]
    rows = [[cells[rng.integers(len(cells))]() for _ in range(rng.integers(0, len(header) + 2))]
            for _ in range(rng.integers(0, 300))]
    delimiter = pick([",", "\t", ";"])
    name = os.path.join(path, f"log{pick(['.csv', '.tsv', '.txt'])}")
    with open(name, "w") as f:
        f.write(delimiter.join(header) + "\n" + "\n".join(delimiter.join(r) for r in rows) + "\n")
    return name


def diagnose_inputs(rng, n: int, counts: Counter, worst: list, where: str) -> None:
    from lrscope.logs import LogError, diagnose_log
    for i in range(n):
        folder = os.path.join(where, f"d{i % 50}")
        os.makedirs(folder, exist_ok=True)
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
        name = log_file(rng, folder)
        try:
            with time_limit(HANG_SECONDS), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                diagnose_log(name)
            counts["diagnose judged"] += 1
        except LogError:
            counts["diagnose refused (LogError)"] += 1
        except Hang:
            counts["diagnose hang"] += 1
        except Exception:                                        # noqa: BLE001 -- a traceback is what is counted
            counts["diagnose traceback"] += 1
            worst.append(("diagnose", name, traceback.format_exc(limit=3)[-300:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs in all (40% web, 20% CLI, 40% diagnose)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    counts: Counter = Counter()
    worst: list = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as where:
        for what, share, run in (("web", 0.4, lambda k: web_inputs(rng, k, counts, worst)),
                                 ("cli", 0.2, lambda k: cli_inputs(rng, k, counts, worst, where)),
                                 ("diagnose", 0.4, lambda k: diagnose_inputs(rng, k, counts, worst, where))):
            start = time.perf_counter()
            run(max(1, math.ceil(share * args.n)))
            print(f"{what}: {time.perf_counter() - start:.0f} s", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{sum(v for k, v in counts.items() if not k.endswith('one line'))} inputs in "
          f"{time.perf_counter() - t0:.0f} s; peak memory {peak:.0f} MB")
    for key in sorted(counts):
        print(f"  {key:32s} {counts[key]:6d}")
    bad = [w for w in worst if w[0] != "slow"]
    print(f"500s, tracebacks, bugs and hangs: {len(bad)}" + "".join(f"\n  {w}" for w in bad[:20]))
    slow = [w for w in worst if w[0] == "slow"]
    print(f"inputs over 5 s: {len(slow)}" + "".join(f"\n  {w}" for w in slow[:5]))


if __name__ == "__main__":
    main()

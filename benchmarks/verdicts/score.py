"""Score verdicts on the corpus of real runs (``corpus.py``): every run's log cut at T, judged by lrscope (as
``lrscope diagnose`` judges a log) and by the rules a practitioner would otherwise use, against what the run did
next (``labels.py``). Prints, for the ``tune`` and the ``held`` problems apart: the confusion matrix, each class's
precision and recall, the agreement on the runs whose outcome is unambiguous, and the direction accuracy.

    python benchmarks/verdicts/score.py            # generates corpus.npz first when it is missing

Outcomes: diverged / improving / stopped. lrscope's kinds read as: diverged → diverged, slow → improving,
converged and oscillating → stopped. Directions come from the advice as data (``Verdict.direction``): raise → low,
keep → right, lower → high, unknown → not said (counted as not agreeing). lrscope is scored twice: on each log alone
(``lrscope diagnose run.csv``) and on each problem's runs as one folder (``lrscope diagnose runs/``, where the runs are
compared as a sweep compares them). "advice helps": of the runs whose advice names a rate, how often the grid's run
nearest that rate ended lower at T.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import corpus as corpus_mod  # noqa: E402
from labels import label, window_mean  # noqa: E402

OUTCOMES = ("diverged", "improving", "stopped")
DIRECTIONS = ("low", "right", "high")
KIND_TO_OUTCOME = {"diverged": "diverged", "unbounded": "diverged", "slow": "improving", "converged": "stopped",
                   "oscillating": "stopped"}
OUTCOME_TO_DIRECTION = {"diverged": "high", "improving": "low", "stopped": "right"}


# ------------------------------------------------------------------------------------------------------- judges
# A judge sees one problem's runs, each cut at T (steps 0 … T of the loss, the rate of every step), and says for each
# (outcome, direction, rate to try or None). Directions: 'low' (raise the rate), 'right' (keep it), 'high' (lower
# it), or None where the judge says it cannot tell.
TO_DIRECTION = {"raise": "low", "keep": "right", "lower": "high"}


def _logged(run: dict):
    from lrscope.logs import LoggedRun, Series
    T = run["T"]
    y, lr = run["loss"][:T + 1], run["lr_curve"][:T]
    steps = np.arange(y.size)
    return LoggedRun(run["problem"] + f" α={run['lr']:.3g}", Series(steps, y), Series(steps[:lr.size], lr))


def lrscope_judges(runs: list) -> dict:
    """lrscope on each run's log alone (``lrscope diagnose run.csv``) and on the problem's runs as one folder
    (``lrscope diagnose runs/``: each run judged from the task's starting level, then compared) -- a log is judged
    a second time only where the folder's starting level differs from its own."""
    from lrscope.logs import compare_runs, diagnose_run, starting_levels
    logged = [_logged(r) for r in runs]
    alone = [diagnose_run(r) for r in logged]
    in_folder = [d if start is None else diagnose_run(r, start=start)
                 for r, d, start in zip(logged, alone, starting_levels(logged))]
    return {"lrscope folder": [_said(d) for d in compare_runs(in_folder)], "lrscope one log": [_said(d) for d in alone]}


def _said(d) -> tuple:
    v = d.verdict
    return KIND_TO_OUTCOME[v.kind.value], TO_DIRECTION.get(v.direction.value), v.try_lr


def per_run(judge):
    """A judge of one log at a time as a judge of a problem's runs."""
    def judge_problem(runs: list) -> list:
        return [judge(r["loss"][:r["T"] + 1], r["lr_curve"][:r["T"]]) + (None,) for r in runs]
    judge_problem.__doc__ = judge.__doc__
    return judge_problem


def naive_judge(y: np.ndarray, lr: np.ndarray) -> tuple[str, str]:
    """Three lines: NaN or an end above the start → diverged; the last tenth's mean 2% below the tenth before →
    improving; else stopped."""
    w = max(1, (y.size - 1) // 10)
    if not np.all(np.isfinite(y)) or np.mean(y[-w:]) > y[0]:
        out = "diverged"
    elif np.mean(y[-w:]) < 0.98 * np.mean(y[-2 * w:-w]):
        out = "improving"
    else:
        out = "stopped"
    return out, OUTCOME_TO_DIRECTION[out]


def early_stopping_judge(y: np.ndarray, lr: np.ndarray) -> tuple[str, str]:
    """Lightning's ``EarlyStopping(check_finite=True, divergence_threshold=start, patience=3, min_delta=0)`` on
    the mean loss of every tenth of the log (its "epochs"): non-finite or worse than the start → diverged; stopped
    by patience (no new best for 3 epochs) → stopped; else improving."""
    w = max(1, (y.size - 1) // 10)
    epochs = [np.mean(y[i:i + w]) for i in range(1, y.size - w + 1, w)]
    best, wait = np.inf, 0
    for value in epochs:
        if not np.isfinite(value) or value > y[0]:
            return "diverged", "high"
        if value < best:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= 3:
                return "stopped", "right"
    return "improving", "low"


def loss_spike_judge(y: np.ndarray, lr: np.ndarray) -> tuple[str, str]:
    """llm-foundry's ``KillLossSpike`` idea: a run is diverging when, in its last window, most losses are outliers
    (above 2× the running mean of the window before) or the loss is non-finite; otherwise the naive rule."""
    w = max(4, (y.size - 1) // 10)
    if not np.all(np.isfinite(y)):
        return "diverged", "high"
    if y.size > 2 * w:
        before = np.mean(y[-2 * w:-w])
        if np.mean(y[-w:] > 2 * before) > 0.5 or np.mean(y[-w:]) > y[0]:
            return "diverged", "high"
    return naive_judge(y, lr)


BASELINES = {"naive rule": per_run(naive_judge), "EarlyStopping": per_run(early_stopping_judge),
             "KillLossSpike": per_run(loss_spike_judge)}
JUDGES = ("lrscope folder", "lrscope one log", *BASELINES)


# ------------------------------------------------------------------------------------------------------- scoring
def scores(runs: list, said: list, key: str, classes) -> dict:
    """Confusion matrix (truth × said), per-class precision and recall, agreement on the labelled runs."""
    pairs = [(r[key], s) for r, s in zip(runs, said) if r[key] is not None]
    m = np.zeros((len(classes), len(classes) + 1), dtype=int)          # the last column: 'cannot tell'
    for truth, s in pairs:
        m[classes.index(truth), len(classes) if s is None else classes.index(s)] += 1
    recall = {c: (m[i, i] / m[i].sum() if m[i].sum() else np.nan) for i, c in enumerate(classes)}
    precision = {c: (m[i, i] / m[:, i].sum() if m[:, i].sum() else np.nan) for i, c in enumerate(classes)}
    return {"n": len(pairs), "agreement": np.trace(m[:, :len(classes)]) / max(1, m.sum()), "matrix": m,
            "recall": recall, "precision": precision, "unsaid": m[:, -1].sum() / max(1, m.sum())}


def advice_helps(runs: list, name: str) -> tuple:
    """Of the runs whose advice names a rate: how often the grid's run nearest that rate (on a log scale; never the
    run itself) ends lower at T than the judged run -- and how many named one."""
    by_problem: dict = {}
    for r in runs:
        by_problem.setdefault(r["problem"], []).append(r)
    helped = named = 0
    for grid_runs in by_problem.values():
        lrs = np.array([r["lr"] for r in grid_runs])
        ends = np.array([window_mean(r["loss"], r["T"], r["T"])[0] for r in grid_runs])
        for k, r in enumerate(grid_runs):
            rate = r["said"][name][2]
            if rate is None or not rate > 0:
                continue
            named += 1
            distance = np.abs(np.log(lrs / rate))
            distance[k] = np.inf
            j = int(np.argmin(distance))
            helped += bool(ends[j] < ends[k])
    return helped, named


def report(runs: list, split: str) -> None:
    part = [r for r in runs if r["split"] == split]
    problems = len({r["problem"] for r in part})
    print(f"\n=== {split} problems: {problems} problems, {len(part)} runs; outcome labelled on "
          f"{sum(r['outcome'] is not None for r in part)}, "
          f"direction on {sum(r['direction'] is not None for r in part)}")
    print(f"{'judge':16s} {'agree':>6s} " + " ".join(f"{'rec ' + c:>14s}" for c in OUTCOMES)
          + f" {'direction':>10s} " + " ".join(f"{'rec ' + c:>10s}" for c in DIRECTIONS)
          + f" {'unsaid':>7s} {'advice helps':>13s}")
    for name in JUDGES:
        said = [r["said"][name] for r in part]
        o = scores(part, [s[0] for s in said], "outcome", OUTCOMES)
        d = scores(part, [s[1] for s in said], "direction", DIRECTIONS)
        helped, named = advice_helps(part, name)
        helps = f"{helped / named:.0%} of {named}" if named else "-"
        print(f"{name:16s} {o['agreement']:6.0%} " + " ".join(f"{o['recall'][c]:14.0%}" for c in OUTCOMES)
              + f" {d['agreement']:10.0%} " + " ".join(f"{d['recall'][c]:10.0%}" for c in DIRECTIONS)
              + f" {d['unsaid']:7.0%} {helps:>13s}")
    print("(direction 'unsaid': the judge said it cannot tell -- counted as not agreeing)")
    for name in ("lrscope folder", "naive rule"):
        o = scores(part, [r["said"][name][0] for r in part], "outcome", OUTCOMES)
        print(f"\n{name}: outcome confusion (rows: what happened; columns: what it said)")
        print(" " * 12 + "".join(f"{c:>11s}" for c in OUTCOMES) + "   precision")
        for i, c in enumerate(OUTCOMES):
            print(f"{c:12s}" + "".join(f"{v:11d}" for v in o["matrix"][i, :len(OUTCOMES)])
                  + f"   {o['precision'][c]:9.0%}")
    print("\nlrscope's misses by family (outcome): " + ", ".join(
        f"{fam} {n}" for fam, n in sorted(_misses(part).items(), key=lambda kv: -kv[1])))


def _misses(part: list) -> dict:
    out: dict = {}
    for r in part:
        if r["outcome"] is not None and r["said"]["lrscope folder"][0] != r["outcome"]:
            out[r["family"]] = out.get(r["family"], 0) + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "held", "both"), default="both")
    parser.add_argument("--corpus", type=Path, default=corpus_mod.CORPUS)
    args = parser.parse_args()
    if not args.corpus.exists():
        print("generating the corpus (a few minutes) ...")
        corpus_mod.generate(args.corpus)
    runs = label(corpus_mod.load(args.corpus))
    by_problem: dict = {}
    for r in runs:
        r["said"] = {}
        by_problem.setdefault(r["problem"], []).append(r)
    for grid_runs in by_problem.values():
        with np.errstate(all="ignore"):
            said = {**lrscope_judges(grid_runs), **{name: judge(grid_runs) for name, judge in BASELINES.items()}}
        for name, per_judge in said.items():
            for r, one in zip(grid_runs, per_judge):
                r["said"][name] = one
    print(f"corpus: {len(runs)} runs of {len({r['problem'] for r in runs})} problems from "
          f"{len(corpus_mod.FAMILIES)} families ({len({r['family'] for r in runs})} variants); each cut at T and "
          f"continued to {corpus_mod.HORIZON}T")
    for split in (("tune", "held") if args.split == "both" else (args.split,)):
        report(runs, split)


if __name__ == "__main__":
    main()

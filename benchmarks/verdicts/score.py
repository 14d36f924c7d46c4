"""Score verdicts on the corpus of real runs (``corpus.py``): every run's log cut at T, judged by lrscope (as
``lrscope diagnose`` judges a log) and by the rules a practitioner would otherwise use, against what the run did
next (``labels.py``). Prints, for the ``tune`` and the ``held`` problems apart: the confusion matrix, each class's
precision and recall, the agreement on the runs whose outcome is unambiguous, and the direction accuracy.

    python benchmarks/verdicts/score.py            # generates corpus.npz first when it is missing

Outcomes: diverged / improving / stopped. lrscope's kinds read as: diverged → diverged, slow → improving,
converged and oscillating → stopped; its direction: diverged and oscillating → high (lower the rate), slow → low
(raise it), converged → right.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import corpus as corpus_mod  # noqa: E402
from labels import label  # noqa: E402

OUTCOMES = ("diverged", "improving", "stopped")
DIRECTIONS = ("low", "right", "high")
KIND_TO_OUTCOME = {"diverged": "diverged", "unbounded": "diverged", "slow": "improving", "converged": "stopped",
                   "oscillating": "stopped"}
OUTCOME_TO_DIRECTION = {"diverged": "high", "improving": "low", "stopped": "right"}


# ------------------------------------------------------------------------------------------------------- judges
def lrscope_judge(y: np.ndarray, lr: np.ndarray) -> tuple[str, str]:
    """lrscope's verdict on the log (steps 0 … T of the loss, the rate of every step), as ``lrscope diagnose``."""
    from lrscope.logs import LoggedRun, Series, diagnose_run
    steps = np.arange(y.size)
    run = LoggedRun("run", Series(steps, y), Series(steps[:lr.size], lr))
    kind = diagnose_run(run).verdict.kind
    direction = "high" if kind in ("diverged", "unbounded", "oscillating") else "low" if kind == "slow" else "right"
    return KIND_TO_OUTCOME[kind], direction


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


JUDGES = {"lrscope": lrscope_judge, "naive rule": naive_judge, "EarlyStopping": early_stopping_judge,
          "KillLossSpike": loss_spike_judge}


# ------------------------------------------------------------------------------------------------------- scoring
def scores(runs: list, said: list, key: str, classes) -> dict:
    """Confusion matrix (truth × said), per-class precision and recall, agreement on the labelled runs."""
    pairs = [(r[key], s) for r, s in zip(runs, said) if r[key] is not None]
    m = np.zeros((len(classes), len(classes)), dtype=int)
    for truth, s in pairs:
        m[classes.index(truth), classes.index(s)] += 1
    recall = {c: (m[i, i] / m[i].sum() if m[i].sum() else np.nan) for i, c in enumerate(classes)}
    precision = {c: (m[i, i] / m[:, i].sum() if m[:, i].sum() else np.nan) for i, c in enumerate(classes)}
    return {"n": len(pairs), "agreement": np.trace(m) / max(1, m.sum()), "matrix": m, "recall": recall,
            "precision": precision}


def report(runs: list, split: str) -> None:
    part = [r for r in runs if r["split"] == split]
    problems = len({r["problem"] for r in part})
    print(f"\n=== {split} problems: {problems} problems, {len(part)} runs; outcome labelled on "
          f"{sum(r['outcome'] is not None for r in part)}, "
          f"direction on {sum(r['direction'] is not None for r in part)}")
    print(f"{'judge':14s} {'agree':>6s} " + " ".join(f"{'rec ' + c:>14s}" for c in OUTCOMES)
          + f" {'direction':>10s} " + " ".join(f"{'rec ' + c:>10s}" for c in DIRECTIONS))
    for name in JUDGES:
        said = [r["said"][name] for r in part]
        o = scores(part, [s[0] for s in said], "outcome", OUTCOMES)
        d = scores(part, [s[1] for s in said], "direction", DIRECTIONS)
        print(f"{name:14s} {o['agreement']:6.0%} " + " ".join(f"{o['recall'][c]:14.0%}" for c in OUTCOMES)
              + f" {d['agreement']:10.0%} " + " ".join(f"{d['recall'][c]:10.0%}" for c in DIRECTIONS))
    for name in ("lrscope", "naive rule"):
        o = scores(part, [r["said"][name][0] for r in part], "outcome", OUTCOMES)
        print(f"\n{name}: outcome confusion (rows: what happened; columns: what it said)")
        print(" " * 12 + "".join(f"{c:>11s}" for c in OUTCOMES) + "   precision")
        for i, c in enumerate(OUTCOMES):
            print(f"{c:12s}" + "".join(f"{v:11d}" for v in o["matrix"][i]) + f"   {o['precision'][c]:9.0%}")
    print("\nlrscope's misses by family (outcome): " + ", ".join(
        f"{fam} {n}" for fam, n in sorted(_misses(part).items(), key=lambda kv: -kv[1])))


def _misses(part: list) -> dict:
    out: dict = {}
    for r in part:
        if r["outcome"] is not None and r["said"]["lrscope"][0] != r["outcome"]:
            out[r["family"]] = out.get(r["family"], 0) + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "held", "both"), default="both")
    args = parser.parse_args()
    if not corpus_mod.CORPUS.exists():
        print("generating the corpus (a few minutes) ...")
        corpus_mod.generate()
    runs = label(corpus_mod.load())
    for r in runs:
        T = r["T"]
        log, rates = r["loss"][:T + 1], r["lr_curve"][:T]
        with np.errstate(all="ignore"):
            r["said"] = {name: judge(log, rates) for name, judge in JUDGES.items()}
    print(f"corpus: {len(runs)} runs of {len({r['problem'] for r in runs})} problems from "
          f"{len(corpus_mod.FAMILIES)} families ({len({r['family'] for r in runs})} variants); each cut at T and "
          f"continued to {corpus_mod.HORIZON}T")
    for split in (("tune", "held") if args.split == "both" else (args.split,)):
        report(runs, split)


if __name__ == "__main__":
    main()

"""Diagnose the run you already have: read a training log (CSV/TSV, TensorBoard events, a Lightning ``CSVLogger``
folder, a Hugging Face ``trainer_state.json``, or a folder of runs) and judge every run in it.

    import lrscope as ls
    report = ls.diagnose_log("lightning_logs/")
    for d in report:                       # one per run
        print(d.run.name, d.verdict.kind, d.advice)
    report.plot("runs.png")

:mod:`.read` turns logs into loss curves; :mod:`.judge` gives the verdicts and findings; :mod:`.plot` draws them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .judge import (RESOLUTION, Finding, LogDiagnosis, compare_runs, describe_lr, diagnose_run, lr_changes,
                    starting_levels)
from .read import MAX_RUNS, LogError, LoggedRun, Series, read_logs


class Stage(enum.Enum):
    """What :func:`diagnose_log` reports progress on: the bytes of the files read, then the runs judged."""

    READING = "reading"
    JUDGING = "judging"


@dataclass
class LogReport:
    """The diagnoses of every run read from one path (iterate over it, or index it)."""

    path: str
    diagnoses: list = field(default_factory=list)
    skipped: list = field(default_factory=list)       # (run, reason): runs of a folder that could not be judged

    def __iter__(self):
        return iter(self.diagnoses)

    def __len__(self) -> int:
        return len(self.diagnoses)

    def __getitem__(self, i):
        return self.diagnoses[i]

    def to_dict(self) -> dict:
        return {"path": self.path, "runs": [d.to_dict() for d in self.diagnoses],
                "skipped": [{"run": name, "reason": why} for name, why in self.skipped]}

    def _repr_html_(self) -> str:
        """In Jupyter: every run's loss as an interactive chart, the verdicts and findings beside it."""
        from ..notebook import log_html
        return log_html(self)

    def plot(self, path: str | None = None, ax=None):
        """The loss of every run (one colour each, its trend on top of the raw points), events marked; see
        :func:`lrscope.logs.plot.plot_report`."""
        from .plot import plot_report
        return plot_report(self, path=path, ax=ax)


def diagnose_log(path, *, loss: str | None = None, lr: str | None = None, val_loss: str | None = None,
                 grad_norm: str | None = None, step: str | None = None, run: str | None = None,
                 progress=None, resolution: int = RESOLUTION, max_runs: int = MAX_RUNS) -> LogReport:
    """Read every run in ``path`` and judge each: a :class:`LogReport` of :class:`LogDiagnosis` (verdict, findings,
    advice). The keyword arguments name the columns or tags where lrscope does not recognise them (``run``: a column
    that tells several runs of one file apart); ``progress(done, total, stage)`` is called as the work advances:
    bytes of the files while they are read (:attr:`Stage.READING`), then the runs judged (:attr:`Stage.JUDGING`).

    A path that holds no readable run is a :class:`LogError` (a ``ValueError``) naming the file and the problem; in
    a folder of several runs, one that cannot be read or judged (too few points) is listed in ``skipped``; a folder
    of more than ``max_runs`` runs is refused (say how many you mean)."""
    skipped: list = []
    reading = None if progress is None else (lambda done, total: progress(done, total, Stage.READING))
    runs = read_logs(path, loss=loss, lr=lr, val_loss=val_loss, grad_norm=grad_norm, step=step, run=run,
                     progress=reading, skipped=skipped, max_runs=max_runs)
    report = LogReport(str(path), [], skipped)
    for k, (r, start) in enumerate(zip(runs, starting_levels(runs))):
        if progress is not None:
            progress(k, len(runs), Stage.JUDGING)
        try:
            report.diagnoses.append(diagnose_run(r, resolution=resolution, start=start))
        except LogError as exc:
            if len(runs) == 1:
                raise
            skipped.append((r.name, str(exc)))
    if not report.diagnoses:
        raise LogError(f"{path}: no run could be judged ({skipped[0][1]})")
    report.diagnoses = compare_runs(report.diagnoses)        # runs of one task at several rates: which did better
    if progress is not None:
        progress(len(runs), len(runs), Stage.JUDGING)
    return report


__all__ = ["diagnose_log", "Stage", "LogReport", "LogDiagnosis", "Finding", "LoggedRun", "Series", "LogError",
           "read_logs", "diagnose_run", "compare_runs", "starting_levels", "describe_lr", "lr_changes"]

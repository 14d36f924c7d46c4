"""Speed of ``lrscope diagnose`` on a 10⁶-step log: a CSV (step, loss, lr) and a TensorBoard event file of the same
run, each read and judged; reported against reading alone with the usual tools, in the same process --
``numpy.loadtxt`` for the CSV (parsing only), tensorboard's own ``EventFileLoader`` for the events (parsing only,
judging nothing). Run by hand: ``pip install -e ".[all]" && python benchmarks/bench_logs.py`` (writing the event file
with ``SummaryWriter`` takes about a minute and is not timed).
"""

from __future__ import annotations

import glob
import os
import tempfile

import numpy as np

import lrscope as ls
from timing import median_time

STEPS = 1_000_000


def run_curve(n: int = STEPS, seed: int = 0):
    """A long mini-batch run: exponential decay to a noise floor, a step decay at 60%, three spikes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    lr = np.where(t < 0.6 * n, 0.1, 0.01)
    level = 0.3 + 2 * np.exp(-t / (0.05 * n)) - np.where(t < 0.6 * n, 0.0, 0.15)
    y = level * (1 + 0.1 * rng.standard_normal(n))
    for at in (0.2, 0.45, 0.8):
        i = int(at * n)
        y[i:i + 20] += 2.0
    return t, y, lr


def write_logs(folder: str):
    t, y, lr = run_curve()
    csv_path = os.path.join(folder, "run.csv")
    np.savetxt(csv_path, np.c_[t, y, lr], delimiter=",", header="step,loss,lr", comments="",
               fmt=["%d", "%.6g", "%.6g"])
    from torch.utils.tensorboard import SummaryWriter
    with SummaryWriter(os.path.join(folder, "tb")) as w:
        for i in range(t.size):
            w.add_scalar("train/loss", float(y[i]), i)
            if i % 100 == 0:
                w.add_scalar("lr", float(lr[i]), i)
    return csv_path, os.path.join(folder, "tb")


def main():
    with tempfile.TemporaryDirectory() as folder:
        csv_path, tb = write_logs(folder)
        events = glob.glob(os.path.join(tb, "events*"))[0]
        print(f"{STEPS:,} steps: CSV {os.path.getsize(csv_path) / 2**20:.0f} MiB, events "
              f"{os.path.getsize(events) / 2**20:.0f} MiB")
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        def tb_loader():
            n = 0
            for event in EventFileLoader(events).Load():
                n += len(event.summary.value)
            return n

        timings = {
            "CSV: lrscope read + judge": median_time(lambda: ls.diagnose_log(csv_path), 3),
            "CSV: numpy.loadtxt (read only)": median_time(lambda: np.loadtxt(csv_path, delimiter=",", skiprows=1), 3),
            "events: lrscope read + judge": median_time(lambda: ls.diagnose_log(tb), 3),
            "events: tensorboard EventFileLoader (read only)": median_time(tb_loader, 1),
        }
        for name, seconds in timings.items():
            print(f"{name:50s} {seconds:7.2f} s")
        csv_ratio = timings["CSV: lrscope read + judge"] / timings["CSV: numpy.loadtxt (read only)"]
        tb_ratio = (timings["events: lrscope read + judge"]
                    / timings["events: tensorboard EventFileLoader (read only)"])
        print(f"CSV: lrscope / loadtxt = {csv_ratio:.2f}×; events: lrscope / EventFileLoader = {tb_ratio:.2f}×")
        d = ls.diagnose_log(csv_path)[0]
        print(f"verdict: {d.verdict.kind} ({d.verdict.reason})")
        for f in d.findings:
            print(f"  {f.kind}: {f.text}")


if __name__ == "__main__":
    main()

"""`lrscope diagnose` / `ls.diagnose_log`: logs written by the real tools (torch's SummaryWriter, Lightning's
CSVLogger, a transformers Trainer) and by the csv module, with known outcomes; bad logs get one clear line."""

import csv
import json
import logging
import warnings

import numpy as np
import pytest

import lrscope as ls
from lrscope.cli import main
from lrscope.logs import LogError, Stage, diagnose_log, read, read_logs


def write_csv(path, columns, rows, delimiter=","):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(columns)
        w.writerows(rows)
    return path


def curves(n=2000, seed=0):
    """Known outcomes, one per name: (steps, loss, lr or None)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = {}
    level = 0.1 + 2 * np.exp(-t / 200)
    out["noisy"] = (t, level + 0.03 * np.sqrt(level) * rng.standard_normal(n), np.full(n, 0.1))
    lr = np.linspace(1e-4, 1.0, n)                      # a rising rate: it falls, then blows up, then nan
    y = 2 * np.exp(-np.cumsum(lr) / 30)
    y[1200:] = y[1200] * np.exp((t[1200:] - 1200) / 50.0)
    y[1700:] = np.nan
    out["diverging"] = (t, y, lr)
    out["slow"] = (t, 1 + np.exp(-t / 5000), np.full(n, 1e-3))
    lr = np.where(t < 1000, 0.1, 0.01)                  # a step decay ends the noise floor of 0.1
    y = 0.2 + 1.8 * np.exp(-t / 100) + np.where(t < 1000, 0.3, 0.0) + 0.02 * rng.standard_normal(n)
    out["plateau"] = (t, y, lr)
    y = 0.1 + 2 * np.exp(-t / 200) + 0.01 * rng.standard_normal(n)
    y[800:806] += 1.5                                   # a spike that recovers
    out["spike"] = (t, y, np.full(n, 0.05))
    return out


def by_name(report):
    return {d.run.name: d for d in report}


# --------------------------------------------------------------------------------------------------- CSV, verdicts
pytestmark = pytest.mark.xdist_group("lightning")   # one worker: its fixture once, and Lightning's import (5 s) once


@pytest.fixture(scope="module")
def csv_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv_runs")
    for name, (t, y, lr) in curves().items():
        write_csv(folder / f"{name}.csv", ["step", "train_loss", "lr"], zip(t, y, lr))
    return diagnose_log(folder)


def test_a_diverging_run_is_caught_at_its_step_and_the_advice_names_a_rate_below_where_it_was_still_improving(
        csv_report):
    d = by_name(csv_report)["diverging"]
    assert d.verdict.kind == "diverged" and d.verdict.step == 1700
    lr_low = np.linspace(1e-4, 1.0, 2000)[1190:1210]      # the loss's low is near step 1200
    assert "α=0.85" in d.advice                           # the rate at the failure
    named = float(d.advice.split("keep the rate below ")[1].split(" ")[0])
    assert lr_low.min() * 0.98 <= named <= lr_low.max() * 1.02


def test_a_slow_run_says_about_how_many_more_steps(csv_report):
    d = by_name(csv_report)["slow"]
    assert d.verdict.kind == "slow" and d.verdict.steps_needed is not None
    # f = 1 + exp(-t/5000): the decrease over a tenth of the run falls below 1e-4 of the scale after ~10⁴-10⁵ steps
    assert 5_000 < d.verdict.steps_needed < 200_000


def test_mini_batch_noise_is_not_failure(csv_report):
    d = by_name(csv_report)["noisy"]
    assert d.verdict.kind == "converged"
    noise = [f for f in d.findings if f.kind == "noise"]
    assert noise and 0.005 < d.noise < 0.02             # 0.03·√0.1 ≈ 0.0095 at the end


def test_a_spike_that_recovered_is_reported_and_does_not_spoil_the_verdict(csv_report):
    d = by_name(csv_report)["spike"]
    assert d.verdict.kind == "converged"
    spikes = [f for f in d.findings if f.kind == "spike"]
    assert len(spikes) == 1 and spikes[0].step == 800 and "recovered within 6 steps" in spikes[0].text


def test_a_plateau_ended_by_the_rate_drop_is_told_with_the_drop(csv_report):
    d = by_name(csv_report)["plateau"]
    plateaus = [f for f in d.findings if f.kind == "plateau"]
    assert len(plateaus) == 1 and plateaus[0].step == 1000 and "from 0.1 to 0.01" in plateaus[0].text


def test_overfitting_is_not_called_a_learning_rate_problem(tmp_path):
    rows = []
    for i in range(1000):
        rows.append((i, 0.05 + 2 * np.exp(-i / 150), ""))
        if i % 50 == 49:
            rows.append((i, "", 0.5 + 1.5 * np.exp(-i / 150) + 0.0005 * max(0, i - 400)))
    report = diagnose_log(write_csv(tmp_path / "run.csv", ["step", "loss", "val_loss"], rows))
    over = [f for f in report[0].findings if f.kind == "overfitting"]
    assert over and 399 <= over[0].step <= 549
    assert report[0].advice.startswith("overfitting, not a learning-rate problem")


def test_one_file_with_a_run_column_is_several_runs_and_columns_can_be_named(tmp_path):
    rows = [(run, i, 2 * np.exp(-i / 20) + (0 if run == "a" else 1e-3 * 1.05 ** i)) for run in "ab" for i in range(200)]
    path = write_csv(tmp_path / "runs.tsv", ["trial", "it", "objective"], rows, delimiter="\t")
    with pytest.raises(LogError, match="no loss column"):
        diagnose_log(path)
    report = diagnose_log(path, loss="objective", run="trial")
    got = {d.run.name: d.verdict.kind for d in report}
    assert got["a"] == "converged" and got["b"] == "diverged"
    assert report[0].run.loss.step[-1] == 199            # 'it' is recognised as the step


@pytest.mark.parametrize("with_lr", [True, False])
def test_a_noisy_run_still_falling_beneath_its_noise_is_slow_not_converged(tmp_path, with_lr):
    # a language model at a small rate: mini-batch noise ±0.1 around a loss that falls by 0.4 over the log's second
    # half, in a straight line -- its last two tenths differ by less than the noise, but the run is far from done
    # (benchmarks/verdicts: such runs were called converged; the trend's slope says otherwise)
    rng = np.random.default_rng(3)
    t = np.arange(1000)
    y = 5.2 - 0.0008 * t + 0.1 * rng.standard_normal(t.size)
    rows = zip(t, y, np.full(t.size, 1e-5)) if with_lr else zip(t, y)
    path = write_csv(tmp_path / "lm.csv", ["step", "loss", "lr"] if with_lr else ["step", "loss"], rows)
    d = diagnose_log(path)[0]
    assert d.verdict.kind == "slow" and "still improving" in d.verdict.reason
    # one run cannot tell whether another rate would do better: train longer, the direction unknown
    assert "train longer" in d.advice and ("1e-05" in d.advice) == with_lr
    assert d.direction == "unknown" and d.verdict.try_lr is None


def test_a_long_log_is_judged_at_a_working_resolution(tmp_path):
    n = 200_000
    t = np.arange(n)
    y = 0.1 + 2 * np.exp(-t / 20_000) + 0.01 * np.random.default_rng(0).standard_normal(n)
    y[150_000:150_050] += 3.0
    path = tmp_path / "long.csv"
    np.savetxt(path, np.c_[t, y], delimiter=",", header="step,loss", comments="", fmt=["%d", "%.6g"])
    seen = []
    d = diagnose_log(path, progress=lambda done, total, stage: seen.append((done, total, stage)))[0]
    read = [(done, total) for done, total, stage in seen if stage == Stage.READING]
    assert read and read[-1][0] == read[-1][1] == path.stat().st_size      # the reading reports its progress ...
    assert [(done, total) for done, total, stage in seen if stage == Stage.JUDGING] == [(0, 1), (1, 1)]   # ... judging
    assert d.verdict.kind == "converged" and len(d.trend) <= 10_001
    assert [f.step for f in d.findings if f.kind == "spike"] == [150_000]


# ----------------------------------------------------------------------------------------------------- bad logs
@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"step,loss\n", "no rows"),
    (b"\x00\x01\x02garbage" * 100, "binary data"),
    (b"1,2\n3,4\n", "the first line must name the columns"),
    (b"step,loss\n0,1.0\n1,oops\n", "row 3: loss .* is not a number: 'oops'"),
    (b"step,accuracy\n0,0.5\n", "no loss column among 'step', 'accuracy'"),
    (b"step,loss_a,loss_b\n0,1,2\n", "several loss columns"),
    (b"step,loss\n1e30,1\n2e30,2\n3e30,3\n", "not step numbers"),
    (b"step,loss\n0,1\n1," + b"9" * 200_000 + b"\n", "line 3: field larger than field limit"),    # a 200 KB cell
])
def test_a_bad_csv_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(LogError, match=message):
        diagnose_log(path)


@pytest.mark.parametrize("step", ["1e20", "1e400", '"abc"', "null", "[1]", "-3", "2.5"])
def test_a_trainer_state_step_that_is_no_step_number_is_named(tmp_path, step):
    path = tmp_path / "trainer_state.json"
    path.write_text('{"log_history": [{"step": %s, "loss": 1.0}, {"step": 2, "loss": 0.5}]}' % step)
    with pytest.raises(LogError, match=r"trainer_state.json: log_history\[0\]: 'step' must be a step number"):
        diagnose_log(path)


def test_a_trainer_state_too_large_or_too_deep_is_data_or_one_error(tmp_path):
    path = tmp_path / "trainer_state.json"
    entries = [f'{{"step": {i}, "loss": {"1" + "0" * 400 if i == 5 else 1.0 / (i + 1)}}}' for i in range(20)]
    path.write_text('{"log_history": [' + ",".join(entries) + "]}")
    d = diagnose_log(path)[0]                                  # a 400-digit loss: a loss that left the floats
    assert d.verdict.kind == "diverged" and d.verdict.step == 5
    path.write_text('{"log_history": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(LogError, match="nested too deeply"):
        diagnose_log(path)


def test_bad_json_event_files_and_folders_are_one_clear_error(tmp_path):
    (tmp_path / "trainer_state.json").write_text("{not json")
    with pytest.raises(LogError, match="not valid JSON"):
        diagnose_log(tmp_path / "trainer_state.json")
    (tmp_path / "trainer_state.json").write_text('{"epoch": 1}')
    with pytest.raises(LogError, match="no 'log_history'"):
        diagnose_log(tmp_path / "trainer_state.json")
    bad = tmp_path / "tb" / "events.out.tfevents.1.host"
    bad.parent.mkdir()
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(LogError, match="not (a|readable)"):
        diagnose_log(bad.parent)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LogError, match="no logs found"):
        diagnose_log(tmp_path / "empty")
    with pytest.raises(LogError, match="no such file"):
        diagnose_log(tmp_path / "missing")
    write_csv(tmp_path / "short.csv", ["step", "loss"], [(0, 1.0), (1, 0.5)])
    with pytest.raises(LogError, match="only 2 loss values"):
        diagnose_log(tmp_path / "short.csv")


def test_a_huge_file_is_refused_in_one_line_and_a_folder_keeps_its_good_runs(tmp_path, monkeypatch):
    write_csv(tmp_path / "a.csv", ["step", "loss"], [(i, 1 / (i + 1)) for i in range(50)])
    write_csv(tmp_path / "b.csv", ["step", "loss"], [(i, 1 / (i + 1)) for i in range(500)])
    monkeypatch.setattr(read, "MAX_ROWS", 100)
    with pytest.raises(LogError, match="more than 100 rows"):
        diagnose_log(tmp_path / "b.csv")
    report = diagnose_log(tmp_path)               # the folder: b is skipped with its reason, a is judged
    assert [d.run.name for d in report] == ["a"] and report.skipped[0][0] == "b"
    assert "more than 100 rows" in report.skipped[0][1]


def test_the_command_line_table_json_plot_and_errors(tmp_path, capsys):
    t, y, lr = curves()["diverging"]
    path = write_csv(tmp_path / "run.csv", ["step", "loss", "learning_rate"], zip(t, y, lr))
    assert main(["diagnose", str(path), "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out
    assert "diverged" in out and "keep the rate below" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["runs"][0]["verdict"]["kind"] == "diverged" and data["runs"][0]["verdict"]["step"] == 1700
    assert data["runs"][0]["columns"] == {"loss": "loss", "lr": "learning_rate"}
    assert (tmp_path / "r.png").stat().st_size > 10_000
    for argv, message in ([["diagnose", str(tmp_path / "nope")], "no such file or folder"],
                          [["diagnose", str(path), "--loss", "nope"], "no column or tag 'nope'"],
                          [["diagnose", str(path), "--plot", str(tmp_path / "x.txt")], "--plot: the file name"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err


# ----------------------------------------------------------------------------------------- the real tools' logs
torch = pytest.importorskip("torch")


def test_tensorboard_event_files_from_summary_writer(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter
    for name, (t, y, lr) in curves().items():
        if name not in ("diverging", "noisy"):
            continue
        with SummaryWriter(str(tmp_path / name)) as w:
            for i in range(t.size):
                w.add_scalar("train/loss", float(y[i]), int(t[i]), new_style=name == "noisy")
                if i % 10 == 0:
                    w.add_scalar("lr-SGD", float(lr[i]), int(t[i]))
            w.add_scalar("val/loss", 1.0, 0)
    report = by_name(diagnose_log(tmp_path))
    assert set(report) == {"diverging", "noisy"}
    assert report["diverging"].run.source == "tensorboard" and report["diverging"].run.names["lr"] == "lr-SGD"
    assert report["diverging"].verdict.kind == "diverged"
    assert report["noisy"].verdict.kind in ("converged", "slow") and len(report["noisy"].run.loss) == 2000
    # a run still being written: a truncated last record is the end of the file, not an error
    events = next((tmp_path / "noisy").glob("events*"))
    events.write_bytes(events.read_bytes()[:-7])
    assert len(diagnose_log(tmp_path / "noisy")[0].run.loss) >= 1998


def test_lightning_csv_logger_runs(tmp_path):
    L = pytest.importorskip("lightning")
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger
    logging.getLogger("lightning").setLevel(logging.ERROR)

    class Regression(L.LightningModule):
        def __init__(self, lr, step_size=None, n_in=8, hidden=0):
            super().__init__()
            torch.manual_seed(0)
            self.net = (torch.nn.Linear(n_in, 1) if not hidden else torch.nn.Sequential(
                torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)))
            self.lr, self.step_size = lr, step_size

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, i):
            loss = torch.nn.functional.mse_loss(self(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, i):
            self.log("val_loss", torch.nn.functional.mse_loss(self(batch[0]), batch[1]))

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=self.lr)
            if self.step_size is None:
                return opt
            decay = torch.optim.lr_scheduler.StepLR(opt, self.step_size, 0.1)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": decay, "interval": "step"}}

    def data(n=256, n_in=8, noise=0.1, seed=1, signal=True, shuffle=True):
        g = torch.Generator().manual_seed(seed)
        x = 3 * torch.randn(n, n_in, generator=g)
        w = torch.randn(n_in, 1, generator=torch.Generator().manual_seed(99))
        y = (x @ w if signal else 0) + noise * torch.randn(n, 1, generator=g)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=shuffle,
                                           generator=torch.Generator().manual_seed(2))

    def fit(name, model, steps, train, val=None):
        trainer = L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=CSVLogger(str(tmp_path), name=name),
                            log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, callbacks=[LearningRateMonitor("step")],
                            val_check_interval=10 if val is not None else None,
                            check_val_every_n_epoch=None if val is not None else 1,
                            limit_val_batches=None if val is not None else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(model, train, val)

    fit("good", Regression(0.01), 200, data())
    fit("bad", Regression(0.5), 60, data())                          # far above 2/λ_max for these features
    fit("decay", Regression(0.08, step_size=150), 400, data(noise=1.0))
    fit("overfit", Regression(0.01, n_in=20, hidden=256), 400, data(n=32, n_in=20, seed=5, signal=False, noise=1.0),
        data(n=256, n_in=20, seed=6, signal=False, noise=1.0, shuffle=False))
    report = by_name(diagnose_log(tmp_path))
    assert set(report) == {"good/version_0", "bad/version_0", "decay/version_0", "overfit/version_0"}
    assert all(d.run.source == "lightning" and d.run.names["lr"] == "lr-SGD" for d in report.values())
    bad = report["bad/version_0"]
    assert bad.verdict.kind == "diverged" and bad.verdict.step <= 30 and "α=0.5 diverged" in bad.advice
    good = report["good/version_0"]
    assert good.verdict.kind == "converged" and any(f.kind == "noise" for f in good.findings)
    decay = report["decay/version_0"]
    assert [f.step for f in decay.findings if f.kind == "plateau"] == [150]
    over = report["overfit/version_0"]
    assert over.run.val_loss is not None and len(over.run.val_loss) == 40
    assert any(f.kind == "overfitting" for f in over.findings) and over.advice.startswith("overfitting")


def test_a_transformers_trainer_state(tmp_path):
    transformers = pytest.importorskip("transformers")

    from tiny_bert import Rows, tiny_bert

    def train(folder, lr, optim, clip, steps=40):
        model = tiny_bert()
        args = transformers.TrainingArguments(output_dir=str(folder), max_steps=steps,
                                              per_device_train_batch_size=16, learning_rate=lr, optim=optim,
                                              lr_scheduler_type="linear", warmup_steps=5, report_to=[],
                                              save_strategy="steps", save_steps=steps, logging_steps=1,
                                              disable_tqdm=True, use_cpu=True, seed=0, max_grad_norm=clip,
                                              log_level="error")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            transformers.Trainer(model=model, args=args, train_dataset=Rows()).train()

    train(tmp_path / "runs" / "good", 3e-2, "adamw_torch", 1.0)
    train(tmp_path / "runs" / "bad", 500.0, "sgd", 0.0)          # no clipping: it blows up in the warmup
    report = by_name(diagnose_log(tmp_path / "runs"))
    assert set(report) == {"good", "bad"}
    good, bad = report["good"], report["bad"]
    assert good.run.source == "huggingface" and len(good.run.loss) == 40 and good.run.lr is not None
    assert good.run.grad_norm is not None
    assert good.verdict.kind in ("converged", "slow") and good.final_loss < 0.2 * good.run.loss.value[0]
    assert bad.verdict.kind == "diverged" and bad.verdict.step <= 5
    assert "try 20" in bad.advice                     # a tenth of the rate the warmup had reached (200 at step 3)
    assert ls.logs.describe_lr(good.run.lr).startswith("warmup to 0.03 by step 6")   # HF logs the rate after each step


def test_read_logs_is_exported_and_names_what_it_read(tmp_path):
    path = write_csv(tmp_path / "x.csv", ["global_step", "Loss/Train", "LearningRate"], [(i, 1 / (i + 1), 0.1)
                                                                                         for i in range(10)])
    run = read_logs(path)[0]
    assert run.names == {"loss": "Loss/Train", "lr": "LearningRate"}
    assert run.loss.step[-1] == 9


def test_a_sweep_written_as_csv_reads_back_with_the_same_verdicts(tmp_path):
    """lrscope's own long CSV (one row per configuration and step) is a log like any other: split by its config
    column, each run gets the verdict the sweep gave it where the loss alone carries the evidence."""
    from lrscope.cli import render
    res = ls.sweep(ls.objectives.formula("x**2 + 10*y**2", x0=[3, 1]), lrs=[0.001, 0.05, 0.11], steps=200)
    with open(tmp_path / "sweep.csv", "w", newline="") as fh:
        render.write_csv(res, fh)
    report = diagnose_log(tmp_path / "sweep.csv", run="config", lr="lr_used")
    assert [d.verdict.kind for d in report] == [v.kind for v in res.verdicts] == ["slow", "converged", "diverged"]
    assert report[1].verdict.step == pytest.approx(res.verdicts[1].step, abs=15)   # params settle later than loss


def test_an_epoch_log_and_a_gradient_norm_that_announced_the_divergence(tmp_path):
    t = np.arange(300)
    loss = np.exp(-t / 50)
    loss[200:] = loss[200] * np.exp((t[200:] - 200) / 5.0)
    grad = np.where(t < 200, 1.0, np.exp((t - 200) / 5.0))
    loss[260:], grad[260:] = np.nan, np.nan
    path = write_csv(tmp_path / "keras.csv", ["epoch", "loss", "grad_norm"], zip(t, loss, grad))
    d = diagnose_log(path)[0]
    assert d.run.names == {"loss": "loss", "grad_norm": "grad_norm"} and d.run.loss.step[-1] == 299
    assert d.verdict.kind == "diverged" and d.verdict.step == 260
    grown = [f for f in d.findings if f.kind == "grad_norm"]
    assert grown and grown[0].step == 259 and "133,252×" in grown[0].text      # e^(59/5)


def test_a_loss_that_is_not_finite_from_the_start_is_not_blamed_on_the_rate(tmp_path):
    d = diagnose_log(write_csv(tmp_path / "nan.csv", ["step", "loss", "lr"], [(i, "nan", 0.1) for i in range(5)]))[0]
    assert d.verdict.kind == "diverged" and d.verdict.step == 0 and "not the learning rate" in d.advice


def test_a_slow_run_is_not_told_to_triple_a_rate_the_log_cannot_place(tmp_path):
    """From a log alone the stability bound is unknown: gradient descent at 0.099 on x² + 10y² (2/L = 0.1) is slow
    and must not be told to try 0.3."""
    from lrscope.cli import render
    res = ls.sweep(ls.objectives.formula("x**2 + 10*y**2", x0=[3, 1]), lrs=[0.099], steps=200)
    with open(tmp_path / "edge.csv", "w", newline="") as fh:
        render.write_csv(res, fh)
    d = diagnose_log(tmp_path / "edge.csv", lr="lr_used")[0]
    # 200 steps shrink its stiff direction's loss 0.96× a step, to 3e-4 of the start: what 4× the steps would add is
    # a sliver of its progress -- nearly stopped, as a log tells it; and no rate is named either way
    assert d.verdict.kind == "converged" and "nearly stopped" in d.verdict.reason
    assert "0.297" not in d.advice and d.verdict.try_lr is None and d.direction == "unknown"


def test_a_folder_of_runs_at_several_rates_is_judged_as_a_sweep(tmp_path):
    """Runs of one task at several rates, one log each: alone, a still-falling run cannot know whether another rate
    does better (direction unknown); in their folder, each is told the rate that ended lower -- the same comparison
    a sweep makes (benchmarks/verdicts: direction 12% alone -> 85% as a folder on the held-back problems)."""
    res = ls.sweep(ls.objectives.dataset("diabetes"), lrs=[0.0003, 0.003, 0.03, 0.3], batch_size=16, epochs=3,
                   seed=0)
    for k in range(res.K):          # the loss on the whole data after every mini-batch step, and the rate
        write_csv(tmp_path / f"lr{k}.csv", ["step", "loss", "lr"],
                  zip(range(res.steps + 1), res.losses[k], np.r_[res.lr_used[k], res.lr_used[k, -1]]))
    alone = diagnose_log(tmp_path / "lr0.csv")[0]
    assert alone.verdict.kind == "slow" and alone.direction == "unknown" and alone.verdict.try_lr is None
    folder = {d.run.name: d for d in diagnose_log(tmp_path)}
    assert [folder[f"lr{k}"].direction for k in range(3)] == ["raise", "raise", "keep"]
    assert folder["lr0"].verdict.try_lr == folder["lr1"].verdict.try_lr == pytest.approx(0.03)
    assert "α=0.03 among these runs ends lower" in folder["lr0"].advice
    assert folder["lr3"].direction in ("keep", "lower")          # 0.3 ends within the noise of 0.03, or above it
    assert folder["lr2"].to_dict()["direction"] == "keep"        # and as data, for tools


def test_runs_of_other_tasks_in_one_folder_are_not_compared(tmp_path):
    t = np.arange(400)
    write_csv(tmp_path / "a.csv", ["step", "loss", "lr"], zip(t, 2.0 * np.exp(-t / 50) + 0.1, np.full(t.size, 0.1)))
    write_csv(tmp_path / "b.csv", ["step", "loss", "lr"], zip(t, 90 * np.exp(-t / 50) + 5, np.full(t.size, 0.01)))
    report = diagnose_log(tmp_path)
    assert all(d.direction == "unknown" for d in report)        # starts 2.1 and 95: two tasks, no comparison


def test_a_folder_reads_the_starting_level_off_its_slowest_run(tmp_path):
    """Runs of one task share their first mini-batch, whose loss can be low by chance: linear regression on diabetes
    by SGD in batches of 16 logs 0.446 first where the loss at the start is 0.5, and α=0.01 is at 0.25 within a few
    dozen steps. Alone, that run reads as having learned nothing beyond its noise; in its folder, the smallest rate's
    first steps (0.52) show the starting level, and the run is seen to have stopped improving -- as it had: 800 steps
    take its loss on the whole data from 0.245 to 0.243 (benchmarks/verdicts: the misses on linear regression by
    mini-batch SGD)."""
    res = ls.sweep(ls.objectives.dataset("diabetes"), lrs=[0.0003, 0.01, 0.1], batch_size=16, steps=200, seed=0)
    for k in range(res.K):          # each step's mini-batch loss, as a logger records it, and the rate
        write_csv(tmp_path / f"lr{k}.csv", ["step", "loss", "lr"],
                  zip(range(res.steps + 1), np.r_[res.batch_losses[k], res.losses[k, -1]],
                      np.r_[res.lr_used[k], res.lr_used[k, -1]]))
    alone = diagnose_log(tmp_path / "lr1.csv")[0]
    assert alone.verdict.kind == "slow" and "learned nothing" in alone.verdict.reason
    folder = {d.run.name: d for d in diagnose_log(tmp_path)}
    assert folder["lr1"].verdict.kind in ("converged", "oscillating") and folder["lr1"].direction == "keep"
    assert folder["lr0"].verdict.kind == "slow" and folder["lr0"].direction == "raise"


def test_a_folder_with_links_to_itself_is_walked_once(tmp_path):
    """Symlinks to the folder itself, to a parent and by absolute path used to multiply one run (21 copies of it
    here; a few more links made the walk run for minutes): each folder is read once."""
    t = np.arange(50)
    (tmp_path / "a").mkdir()
    write_csv(tmp_path / "a" / "run.csv", ["step", "loss"], zip(t, np.exp(-t / 10)))
    (tmp_path / "self").symlink_to(".")
    (tmp_path / "a" / "up").symlink_to("..")
    (tmp_path / "a" / "abs").symlink_to(tmp_path)
    report = diagnose_log(tmp_path)
    assert [d.run.name for d in report] == ["a/run"]


def test_a_folder_of_more_runs_than_allowed_can_be_allowed(tmp_path):
    """More than 200 runs is refused (it may be the wrong folder) -- and saying how many you mean reads them all."""
    t = np.arange(30)
    for i in range(5):
        write_csv(tmp_path / f"r{i}.csv", ["step", "loss"], zip(t, np.exp(-t / 10)))
    with pytest.raises(LogError, match="more than 4 runs below it; point at a smaller folder, or allow more"):
        diagnose_log(tmp_path, max_runs=4)
    assert len(diagnose_log(tmp_path, max_runs=5)) == 5
    with pytest.raises(LogError, match="max_runs: expected an integer >= 1"):
        diagnose_log(tmp_path, max_runs=0)


def test_a_lower_rate_that_a_higher_one_beat_is_still_on_its_way_down(tmp_path):
    """Linear regression on diabetes by SGD in batches of 16, 200 steps logged: α=0.001's level looks flat within
    its noise (the core: stopped), but α=0.03 reached a level well below it -- with mini-batch noise a lower rate
    settles lower, not higher, so α=0.001 has not stopped: it is slow, and told to raise α. What happened next: 600
    more steps take its loss on the whole data from 0.34 to 0.26 (benchmarks/verdicts)."""
    res = ls.sweep(ls.objectives.dataset("diabetes"), lrs=[0.0003, 0.001, 0.003, 0.03], batch_size=16, steps=800,
                   seed=0)
    for k in range(res.K):          # the first 200 steps' mini-batch losses, as a logger records them, and the rate
        write_csv(tmp_path / f"lr{k}.csv", ["step", "loss", "lr"],
                  zip(range(201), res.batch_losses[k, :201], res.lr_used[k, :201]))
    assert res.losses[1, 800] < res.losses[1, 200] - 0.05          # it did go on falling
    folder = {d.run.name: d for d in diagnose_log(tmp_path)}
    assert folder["lr1"].verdict.kind == "slow" and folder["lr1"].direction == "raise"
    assert "on its way down" in folder["lr1"].verdict.reason and folder["lr1"].verdict.try_lr == pytest.approx(0.03)
    assert folder["lr3"].verdict.kind != "slow"                    # the best rate is not told it is still falling


def _judged(tmp_path, name, loss):
    rows = [[k, v] for k, v in enumerate(loss)]
    return diagnose_log(write_csv(tmp_path / f"{name}.csv", ["step", "loss"], rows))[0]


def test_hostile_logs_a_loss_that_never_moved_is_not_a_good_choice(tmp_path):
    """Issue 29, item 8: lrscope's own trace of x² from 10 at α = 1 (the iterate jumps between 10 and −10: the loss
    is 100 at every step) and a flat loss learned nothing -- not "converged, good choice", and not "train longer"."""
    trace = ls.run.run(ls.objectives.formula("x**2", x0=[10.0]), lrs=[1.0], steps=200).losses[0]
    assert np.all(trace == 100.0)
    for name, loss in (("x2_alpha1", trace), ("flat", np.full(300, 2.3))):
        v = _judged(tmp_path, name, loss).verdict
        assert v.kind == "slow" and "has not moved at all" in v.reason and v.direction == "unknown"
        assert "training longer will not move it" in v.advice and "good choice" not in v.advice


def test_hostile_logs_a_loss_that_goes_up_and_down_every_step_is_oscillating(tmp_path):
    """Issue 29, item 8: a loss alternating at every step (around a constant, or around a decaying trend) is
    oscillating, told to lower α -- not "converged" or "learned nothing", and not "mini-batch noise"."""
    t = np.arange(300)
    for name, loss in (("around_a_level", 1 + 0.5 * (-1.0) ** t),
                       ("around_a_trend", np.exp(-t / 50) + 0.5 + 0.3 * (-1.0) ** t)):
        d = _judged(tmp_path, name, loss)
        assert d.verdict.kind == "oscillating" and d.verdict.direction == "lower", (name, d.verdict)
        assert "up and down at every step" in d.verdict.reason
        assert not any(f.kind == "noise" for f in d.findings)
    rng = np.random.default_rng(0)                      # independent mini-batch noise is not an alternation
    noisy = _judged(tmp_path, "noisy", np.exp(-t / 50) + 0.5 + 0.3 * rng.standard_normal(t.size))
    assert "up and down at every step" not in noisy.verdict.reason


def test_a_run_that_learned_nothing_is_not_called_still_improving(tmp_path):
    rng = np.random.default_rng(3)
    v = _judged(tmp_path, "nothing", 2.3 + 0.2 * rng.standard_normal(300)).verdict
    assert "learned nothing" in v.reason and "still improving" not in v.reason


def test_one_long_cell_does_not_make_a_table_take_memory_in_proportion(tmp_path):
    """Issue 29: NumPy's text arrays are as wide as their longest cell, so one 3,000-character number in a column
    made every row take 12 KB (a 3.6 MB file: 4.7 GB). Columns are now converted a chunk at a time, long cells on
    their own: 20,000 rows with one such cell stay far below what the wide array alone would take (240 MB)."""
    import tracemalloc
    long = "0." + "0" * 3000 + "1"
    rows = [[k, long if k == 777 else 1 / (k + 1), 0.001] for k in range(20_000)]
    path = write_csv(tmp_path / "long.csv", ["step", "loss", "lr"], rows)
    tracemalloc.start()
    try:
        (run,) = read_logs(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, peak
    assert run.loss.value[777] == 0.0 and run.loss.value[778] == pytest.approx(1 / 779)


# ------------------------------------------------------------------------------- long logs in bounded memory (#29)
@pytest.fixture
def small_limits(monkeypatch):
    """The thinning limits and the table chunk made small, so that a log of a few thousand rows is a long one."""
    from lrscope.logs import thin
    monkeypatch.setattr(thin, "MAX_POINTS", 3_000)
    monkeypatch.setattr(thin, "POOL_POINTS", 8_000)
    monkeypatch.setattr(read, "CHUNK", 1_000)
    return thin


def _write(path, columns: dict, fmt="%.9g"):
    header = ",".join(columns)
    np.savetxt(path, np.column_stack(list(columns.values())), delimiter=",", header=header, comments="", fmt=fmt)
    return path


def test_a_long_series_keeps_every_third_point_its_first_non_finite_one_and_its_last(small_limits):
    n = 20_000
    y = np.linspace(2.0, 1.0, n)
    y[12_345] = np.nan
    member = small_limits.Thinned()
    for a in range(0, n, 777):                       # chunks of any size, as a reader hands them over
        member.add(np.arange(a, min(a + 777, n)), y[a:a + 777])
    s = member.series()
    assert s.every == 9 and s.logged == n and len(s) <= 3_000
    kept = set(s.step.tolist())
    assert {0, 9, 18, 12_345, n - 1} <= kept and 12_346 not in kept
    np.testing.assert_array_equal(s.value[np.isfinite(s.value)], y[s.step[np.isfinite(s.value)]])


def test_a_pool_holds_at_most_its_points_whatever_the_logs_length(small_limits):
    pool = small_limits.Pool()
    members = [pool.series() for _ in range(4)]
    highest = 0
    for a in range(0, 60_000, 1_000):
        for k, m in enumerate(members[: 1 + a // 15_000]):          # series joining as they appear in a log
            m.add(np.arange(a, a + 1_000), np.full(1_000, float(k)))
            highest = max(highest, pool.total)
    assert highest <= 8_000 + 1_000 and pool.total == sum(m.kept for m in members)
    assert all(len(m.series()) <= 3_000 for m in members)


def test_a_log_too_long_to_hold_is_judged_on_every_few_points_and_says_so(tmp_path, small_limits):
    n = 30_000
    t = np.arange(n)
    rng = np.random.default_rng(1)
    y = 0.2 + 2 * np.exp(-t / 3_000) + 0.01 * rng.standard_normal(n)
    y[20_000:20_200] += 3.0                                          # a spike longer than the stride
    d = diagnose_log(_write(tmp_path / "long.csv", {"step": t, "loss": y}))[0]
    assert d.run.loss.every == 27 and d.run.loss.logged == n and d.to_dict()["points"] == n
    assert d.to_dict()["points_judged"] == len(d.run.loss) <= 3_000
    thinned = [f for f in d.findings if f.kind == "thinned"]
    assert len(thinned) == 1 and "every 27th of the 30,000 logged losses" in thinned[0].text
    assert d.verdict.kind == "converged"
    assert [f.step for f in d.findings if f.kind == "spike"] and all(
        20_000 <= f.step <= 20_027 for f in d.findings if f.kind == "spike" and f.step is not None)
    assert d.run.steps == n - 1


def test_a_long_alternating_loss_is_still_oscillating_after_thinning(tmp_path, small_limits):
    n = 20_000
    y = 1.0 + 0.5 * (np.arange(n) % 2)                               # up and down at every step
    d = diagnose_log(_write(tmp_path / "alt.csv", {"step": np.arange(n), "loss": y}))[0]
    assert d.run.loss.every > 1 and d.verdict.kind == "oscillating"


def test_a_long_run_that_diverged_is_judged_diverged_at_its_first_non_finite_step(tmp_path, small_limits):
    n = 20_000
    y = np.r_[np.linspace(2, 1, 15_001), np.full(n - 15_001, np.inf)]
    y[15_001] = np.nan
    d = diagnose_log(_write(tmp_path / "div.csv", {"step": np.arange(n), "loss": y}))[0]
    assert d.verdict.kind == "diverged" and d.verdict.step == 15_001


def test_the_memory_of_reading_a_table_does_not_grow_with_its_length(tmp_path, small_limits):
    import tracemalloc
    peaks = []
    for n in (20_000, 80_000):
        t = np.arange(n)
        path = _write(tmp_path / f"{n}.csv", {"step": t, "loss": 1 + np.exp(-t / n), "lr": np.full(n, 0.1)})
        tracemalloc.start()
        runs = read_logs(path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert runs[0].loss.logged == n and len(runs[0].loss) <= 3_000
    assert peaks[1] < 1.3 * peaks[0], peaks                           # 4× the rows, about the same memory


def test_a_folder_of_long_runs_shares_one_bounded_pool(tmp_path, small_limits):
    n = 6_000
    for k in range(4):
        _write(tmp_path / f"run{k}.csv", {"step": np.arange(n), "loss": np.linspace(2, 1, n) * (k + 1)})
    runs = read_logs(tmp_path)
    assert len(runs) == 4 and sum(len(r.loss) for r in runs) <= 8_000 + 4
    assert all(r.loss.logged == n and r.loss.value[-1] == pytest.approx(k + 1) for k, r in enumerate(runs))


def test_long_tensorboard_events_are_read_record_by_record_and_thinned(tmp_path, small_limits):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter
    n = 10_000
    with SummaryWriter(str(tmp_path / "tb")) as w:
        for i in range(n):
            w.add_scalar("train/loss", 1 + 1 / (1 + i), i)
            w.add_scalar("other/thing", float(i), i)                   # not wanted: its room is freed
    run = read_logs(tmp_path / "tb")[0]
    assert run.loss.logged == n and run.loss.every == 9 and len(run.loss) <= 3_000
    assert run.loss.step[-1] == n - 1 and run.loss.value[-1] == pytest.approx(1 + 1 / n)


def test_a_long_trainer_state_is_read_one_entry_at_a_time(tmp_path, small_limits, monkeypatch):
    monkeypatch.setattr(read, "JSON_BLOCK", 4096)                     # entries cut by every block's end
    peaks = []
    for n in (5_000, 20_000):
        history = [{"loss": 1 + 1 / (1 + i), "learning_rate": 1e-3, "grad_norm": 1.5, "epoch": i / n, "step": i}
                   for i in range(n)]
        history += [{"eval_loss": 1.2, "step": n}, {"train_runtime": 12.5, "step": n}]
        path = tmp_path / str(n) / "trainer_state.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"best_metric": None, "global_step": n, "log_history": history,
                                    "trial_params": {"a": [1, 2, {"b": "x"}]}}, indent=2))
        del history
        import tracemalloc
        tracemalloc.start()
        run = read_logs(path)[0]
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert run.loss.logged == n and len(run.loss) <= 3_000 and run.loss.value[-1] == pytest.approx(1 + 1 / n)
        assert len(run.val_loss) == 1 and run.lr.logged == n
    assert peaks[1] < 1.3 * peaks[0], peaks
    for text, message in (('{"log_history": [{"step": 1, "loss": 2}', "not valid JSON"),
                          ('{"log_history": [{"step": 1, "loss": 2}]} x', "not valid JSON"),
                          ('{1: 2}', "not valid JSON"), ('[{"step": 1}]', "no 'log_history'"),
                          ('{"log_history": 5}', "no 'log_history'"), ('{"a": 1}', "no 'log_history'")):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(LogError, match=message):
            read_logs(tmp_path / "bad.json")

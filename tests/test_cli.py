"""The lrscope command: every subcommand, outputs checked against the core, every bad input.

Most cases call ``main([...])`` in this process (fast); a few smoke tests start the real ``python -m lrscope.cli``.
"""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import lrscope as ls
from lrscope.cli import main
from lrscope.plan import read_values

PNG = b"\x89PNG\r\n\x1a\n"


def subprocess_run(*argv):
    """The real command in a fresh interpreter (smoke tests only: each costs a second or two)."""
    return subprocess.run([sys.executable, "-m", "lrscope.cli", *argv], capture_output=True, text=True, timeout=300)


@pytest.fixture
def run(capsys):
    """``run(*argv)`` calls the command in this process; returns (returncode, stdout, stderr)."""
    def call(*argv):
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(argv), code, captured.out, captured.err)
    return call


def test_demo_prints_the_worked_examples(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for text in ("6.4", "-12", "14.4", "converged", "diverged", "slow", "2/L = 1"):
        assert text in out


def test_demo_writes_a_real_png(tmp_path):
    path = tmp_path / "curves.png"
    assert main(["demo", "--plot", str(path), "--quiet"]) == 0
    assert path.read_bytes()[:8] == PNG


def test_version_and_help(capsys):
    assert subprocess_run("--version").stdout.strip() == f"lrscope {ls.__version__}"     # the installed command
    for cmd in ("demo", "sweep", "bound", "find"):
        with pytest.raises(SystemExit) as done:
            main([cmd, "--help"])
        assert done.value.code == 0 and "example" in capsys.readouterr().out


def test_sweep_json_matches_the_core(tmp_path, run):
    out = tmp_path / "r.json"
    proc = run("sweep", "--objective", "x**2", "--x0", "10", "--lr", "0.001,0.01,0.1,1.1", "--steps", "100",
               "--json", str(out), "--plot", str(tmp_path / "c.png"), "--csv", str(tmp_path / "c.csv"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    core = ls.sweep(ls.objectives.formula("x**2", x0=[10.0]), lrs=[0.001, 0.01, 0.1, 1.1], steps=100)
    assert [c["verdict"]["kind"] for c in data["configs"]] == [v.kind for v in core.verdicts]
    assert data["configs"][2]["params"][:3] == [[10.0], [8.0], [6.4]]
    np.testing.assert_array_equal(np.array(data["configs"][3]["losses"], dtype=float), core.losses[3])
    assert data["configs"][3]["verdict"]["advice"] == core.verdicts[3].advice
    assert data["configs"][0]["lr"] == [0.001] * 100
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    assert len(rows) == 4 * 101 and rows[2 * 101 + 1]["loss"] == repr(64.0) and rows[0]["verdict"] == "slow"
    assert "diverged" in proc.stdout and "2/L" in proc.stdout


def test_two_parameter_plot_has_curves_and_paths(tmp_path, run):
    path = tmp_path / "rosen.png"
    proc = run("sweep", "-o", "rosenbrock", "--lr", "1e-4,1e-3,5e-3", "--steps", "300", "--plot", str(path), "-q")
    assert proc.returncode == 0, proc.stderr
    from PIL import Image
    with Image.open(path) as img:
        assert img.size[0] > 1.5 * img.size[1]        # two panels side by side: curves and the contour map


def test_contour_levels_are_round_losses_above_the_minimum():
    from lrscope.plots import contour_levels, plot_trajectories
    g = np.linspace(-2, 2, 80)
    X, Y = np.meshgrid(g, g)
    bowl = X ** 2 + 10 * Y ** 2
    np.testing.assert_allclose(contour_levels(bowl, 0.0), [0.1, 0.2, 0.5, 1, 2, 5, 10, 20])     # 1-2-5 a decade
    np.testing.assert_allclose(contour_levels(bowl + 3) - 3, contour_levels(bowl))                # above the lowest
    wide = contour_levels(np.geomspace(1e-6, 1e6, 1000), 0.0)                                     # 12 decades
    assert len(wide) <= 12 and np.all(np.isclose(np.log10(wide), np.round(np.log10(wide))))    # powers of ten
    assert contour_levels(np.full(5, 2.0)).size == 0 and contour_levels([np.nan, np.inf]).size == 0
    res = ls.sweep(ls.objectives.rosenbrock(), lrs=[1e-3], steps=50)
    ax = plot_trajectories(res)
    labels = [t.get_text() for t in ax.texts]                   # the static map labels its lines with the loss
    assert len(labels) >= 3 and all(float(t) > 0 for t in labels)


def test_sweep_json_to_stdout_is_pure_json():
    proc = subprocess_run("sweep", "-o", "rosenbrock", "--optimizer", "adam", "--lr", "1e-3:1e-1:3", "--steps", "50",
               "--json", "-")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert len(data["configs"]) == 3 and data["optimizer"].startswith("adam")


def test_json_is_strict_even_where_theory_has_infinities(run):
    # softmax regression has a flat direction: condition number and 2/(L+mu) are infinite, JSON gets null
    proc = run("sweep", "--dataset", "wine", "--lr", "0.1", "--steps", "20", "--json", "-")
    assert proc.returncode == 0, proc.stderr

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(proc.stdout, parse_constant=refuse)
    assert data["theory"]["condition"] is None and data["theory"]["mu"] == 0.0


def test_sweep_grid_over_lr_and_beta(tmp_path, run):
    out = tmp_path / "g.json"
    proc = run("sweep", "-o", "quadratic", "--optimizer", "momentum", "--form", "heavy_ball", "--lr", "0.01,0.1",
               "--beta", "0.5,0.9", "--steps", "50", "--json", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    configs = [c["hyperparams"] for c in json.loads(out.read_text())["configs"]]
    assert [(c["lr"], c["beta"]) for c in configs] == [(0.01, 0.5), (0.01, 0.9), (0.1, 0.5), (0.1, 0.9)]


def test_sweep_dataset_minibatch_epochs(tmp_path, run):
    proc = run("sweep", "--dataset", "wine", "--batch-size", "32", "--optimizer", "momentum", "--lr", "0.01,0.1,1",
               "--epochs", "2", "--json", str(tmp_path / "w.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "w.json").read_text())
    assert data["steps"] == 2 * 6 and data["batch_size"] == 32


def test_sweep_schedule_params_and_warmup(tmp_path, run):
    out = tmp_path / "s.json"
    proc = run("sweep", "-o", "rosenbrock", "--lr", "1e-3", "--steps", "30", "--schedule", "step",
               "-S", "step_size=10", "-S", "gamma=0.5", "--warmup", "5", "--json", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    lr = json.loads(out.read_text())["configs"][0]["lr"]
    assert lr[0] == pytest.approx(1e-4) and lr[5] == 1e-3 and lr[15] == 5e-4


def test_bound_on_data_and_formula(run):
    proc = run("bound", "--dataset", "diabetes", "--model", "linear")
    assert proc.returncode == 0, proc.stderr
    a = ls.theory.analyze(ls.objectives.dataset("diabetes"))
    assert f"{a.stable_below:.6g}" in proc.stdout and "raw features" in proc.stdout
    proc = run("bound", "-o", "x**2 + 10*y**2", "--lr", "0.01,0.09,0.11")
    assert proc.returncode == 0 and "unstable" in proc.stdout and "0.0909091" in proc.stdout


def test_find_on_data_with_plot_and_json(tmp_path, run):
    proc = run("find", "--dataset", "breast_cancer", "--model", "logistic", "--plot", str(tmp_path / "range.png"),
               "--json", str(tmp_path / "f.json"), "--budget", "300")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "range.png").read_bytes()[:8] == PNG
    data = json.loads((tmp_path / "f.json").read_text())
    core = ls.find(ls.objectives.dataset("breast_cancer"), budget=300)
    assert data["suggestion"] == core.suggestion and data["steps_used"] == core.steps_used
    assert f"{core.suggestion:.4g}" in proc.stdout and "valley" in proc.stdout
    proc = run("find", "--dataset", "breast_cancer", "--model", "logistic", "--budget", "0")
    assert proc.returncode == 2 and "--budget" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run("find", "--dataset", "wine", "--holdout", "0.3", "--budget", "100", "--json", str(tmp_path / "h.json"))
    assert proc.returncode == 0, proc.stderr
    train, test = ls.objectives.train_test("wine", test_size=0.3)
    assert json.loads((tmp_path / "h.json").read_text())["suggestion"] == \
        ls.find(train, budget=100, validation=test).suggestion
    for bad, match in ((["--dataset", "wine", "--holdout", "1"], "--holdout"), (["-o", "x**2", "--holdout", "0.2"],
                                                                                 "--holdout")):
        proc = run("find", *bad)
        assert proc.returncode == 2 and match in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_sweep_and_bound_with_a_pytorch_model(tmp_path, run):
    pytest.importorskip("torch")
    out = tmp_path / "m.json"
    proc = run("sweep", "--dataset", "digits", "--model", "mlp", "--optimizer", "momentum", "--form", "heavy_ball",
               "--beta", "0.9", "--lr", "0.01,0.1,3", "--epochs", "2", "--json", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    kinds = [c["verdict"]["kind"] for c in data["configs"]]
    assert kinds[2] == "diverged" and kinds[1] in ("converged", "slow")
    assert data["configs"][1]["hyperparams"]["beta"] == 0.9 and "heavy_ball" in data["optimizer"]
    proc = run("bound", "--dataset", "digits", "--model", "cnn")
    assert proc.returncode == 0, proc.stderr
    assert "λ_max" in proc.stdout and "2/λ_max" in proc.stdout
    proc = run("find", "--dataset", "digits", "--model", "mlp", "--optimizer", "adam", "--steps", "30",
               "--verify-steps", "4", "--final-steps", "8", "--json", str(tmp_path / "f.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "f.json").read_text())["suggestion"] > 0 and "mlp on" in proc.stdout


def test_momentum_is_the_same_update_with_a_pytorch_model(tmp_path, run):
    # --optimizer momentum is the course's EMA form on every path, and the output says which form ran
    pytest.importorskip("torch")
    common = ("--dataset", "wine", "--optimizer", "momentum", "--lr", "0.1", "--epochs", "1", "--batch-size", "16")
    for model in ("softmax", "mlp"):
        proc = run("sweep", *common, "--model", model, "--json", str(tmp_path / f"{model}.json"))
        assert proc.returncode == 0, proc.stderr
        assert "momentum[ema]" in proc.stdout
        assert json.loads((tmp_path / f"{model}.json").read_text())["optimizer"].startswith("momentum[ema]")


def test_serve_on_a_busy_port_is_one_line():
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess_run("serve", "--port", str(port))
    assert proc.returncode == 2 and "--port" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_port_a_browser_just_left_is_free_to_serve_on():
    """A closed connection waits in TIME_WAIT on the side that closed first: the port is not in use, and uvicorn
    (SO_REUSEADDR) can listen on it -- the check before it must agree (it said 'Address already in use' for ~60 s)."""
    import socket
    from lrscope.cli.commands import UsageError, check_port
    with socket.socket() as server:       # a previous `lrscope serve` (uvicorn sets SO_REUSEADDR, as here)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()                      # the server's side closes first: its end of the connection is in TIME_WAIT
        client.close()
    check_port("127.0.0.1", port)         # no UsageError
    with socket.socket() as busy:         # a server listening on the port still holds it
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(UsageError, match="--port"):
            check_port("127.0.0.1", busy.getsockname()[1])


def test_read_values():
    np.testing.assert_allclose(read_values("1e-4:1e-1:4", "lrs"), [1e-4, 1e-3, 1e-2, 1e-1])
    assert read_values("0.1, 0.2", "lrs").tolist() == [0.1, 0.2]


BAD = [
    (["sweep", "--json", ""], "--json: needs a file name"),          # not a silent run that writes nothing
    (["sweep", "--csv", " "], "--csv: needs a file name"),
    (["diagnose", ""], "needs a log file or a folder"),             # not ": no such file"
    (["diagnose", ".", "--max-runs", "0"], "--max-runs"),
    (["sweep", "--objective", "nosuchfunction(x)"], "--objective"),
    (["sweep", "--objective", "__import__('os').system('true')"], "--objective"),
    (["sweep", "--objective", "x.real"], "attribute"),
    (["sweep", "--lr", "-1"], "--lr"),
    (["sweep", "--lr", "abc"], "--lr"),
    (["sweep", "--lr", "0.1,,0.2"], "--lr"),
    (["sweep", "--lr", "1:0:x"], "--lr"),
    (["sweep", "--steps", "0"], "--steps"),
    (["sweep", "--steps", "ten"], "--steps"),
    (["sweep", "-o", "rosenbrock", "--x0", "1"], "--x0"),
    (["sweep", "--optimizer", "lion"], "--optimizer"),
    (["sweep", "--optimizer", "gd", "--beta", "0.9"], "--beta"),
    (["sweep", "--optimizer", "momentum", "--beta", "1.5"], "--beta"),
    (["sweep", "--schedule", "sawtooth"], "--schedule"),
    (["sweep", "--schedule", "multi_step", "-S", "gamma=0.5"], "-S milestones"),
    (["sweep", "--schedule", "multi_step", "-S", "milestones=a,b"], "-S milestones"),
    (["sweep", "--schedule", "cosine", "-S", "wobble=1"], "-S wobble"),
    (["sweep", "--schedule", "cosine", "-S", "eta_min"], "--schedule-param"),
    (["sweep", "--schedule", "step", "-S", "step_size=2.5"], "-S step_size"),
    (["sweep", "--plot", "/nonexistent-dir/x.png"], "--plot"),
    (["sweep", "--plot", "out.txt"], "--plot"),
    (["sweep", "--json", "/nonexistent-dir/x.json"], "--json"),
    (["sweep", "--batch-size", "8"], "--batch-size"),
    (["sweep", "--dataset", "digits", "--batch-size", "100000"], "--batch-size"),
    (["sweep", "--dataset", "mnist"], "--dataset"),
    (["sweep", "--dataset", "digits", "--model", "linear"], "--model"),
    (["sweep", "--dataset", "digits", "--objective", "x**2"], "--objective"),
    (["sweep", "--epochs", "3"], "--epochs"),
    (["bound", "--objective", "x**2", "--at", "1,2"], "--at"),
    (["demo", "--steps", "0"], "--steps"),
    (["find", "--start", "1", "--end", "0.1"], "--start"),
    (["find", "--start", "-1"], "--start"),
    (["find", "--steps", "2"], "--steps"),
    (["find", "--optimizer", "momentum", "--beta", "0.5,0.9"], "--beta"),
    (["find", "--objective", "log(x)", "--x0", "-1"], "not the learning rate"),
    (["sweep", "--dataset", "wine", "--model", "cnn"], "--model"),
    (["sweep", "--model", "mlp"], "--model"),
    (["sweep", "--dataset", "digits", "--model", "mlp", "--optimizer", "rmsprop"], "--optimizer"),
    (["sweep", "--dataset", "digits", "--model", "mlp", "--steps", "10"], "--steps"),
    (["nonsense"], "invalid choice"),
]


@pytest.mark.parametrize("argv, needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_status_2(argv, needle, run):
    proc = run(*argv)
    assert proc.returncode == 2, proc.stdout
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_find_verifies_the_peak_of_the_schedule_you_name(capsys):
    from lrscope.cli import main
    assert main(["find", "--dataset", "digits", "--batch-size", "32", "--budget", "200", "--schedule", "cosine",
                 "--quiet"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Schedule: cosine over 200 steps, peak" in out and "verified with the cosine schedule" in out


def test_a_bug_is_not_reported_as_the_users_mistake(monkeypatch, capsys, tmp_path):
    """Issue 29: only lrscope's own answers to bad input are "lrscope: error: ..." with exit 2; an error from inside
    NumPy (here: a negative dimension lrscope never meant to ask for) is a bug -- one line that says so, exit 70, and
    the traceback in a file to report."""
    from lrscope.checks import is_input_error
    from lrscope.cli.commands import COMMANDS
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setitem(COMMANDS, "bound", lambda args: np.zeros(-1))
    assert main(["bound", "--objective", "quadratic"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (a bug in lrscope" in err and "negative dimensions" in err
    (report,) = tmp_path.glob("lrscope-bug-*.txt")
    assert "Traceback" in report.read_text() and "np.zeros(-1)" in report.read_text()
    with pytest.raises(ValueError) as exc:
        ls.find(ls.objectives.quadratic(), start=-1.0)
    assert is_input_error(exc.value)              # lrscope's own check: the user's to fix
    assert main(["find", "--objective", "quadratic", "--start", "-1"]) == 2

"""Nothing a user types breaks lrscope: bounded work, honest answers on odd losses, one-line errors.

Every case names the interface it goes through: the command line (one line on stderr, exit status 2, or the
documented quiet exit), the library (a ValueError/TypeError naming the argument) and the web API (a 4xx or 503 with
a message, never a 500).
"""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lrscope as ls
from lrscope.cli import main


@pytest.fixture
def cli(capsys):
    def call(*argv):
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("error")             # a RuntimeWarning on the way is a defect too
            code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return call


CLI_ERRORS = [
    (["sweep", "--objective", "rosenbrok"], "did you mean 'rosenbrock'"),
    (["sweep", "--objective", ""], "--objective: empty"),
    (["sweep", "--objective", "   "], "--objective: empty"),
    (["sweep", "-o", "x"], "--objective: 'x' is not a built-in"),
    (["sweep", "--objective", "x**2", "--lr", "1e-5:1:10000", "--steps", "100000"], "GB"),
    (["find", "-o", "-x**2"], "fell without limit"),
    (["sweep", "--schedule", "multi_step", "-S", "milestones=a,b"], "-S milestones"),
    (["sweep", "--schedule", "step", "-S", "step_size=inf"], "-S step_size"),
    (["sweep", "--optimizer", "adam", "--amsgrad", "--beta1", "nan"], "--beta1"),
    (["serve", "--host", "nonexistent.invalid"], "--host"),
]


@pytest.mark.parametrize("argv, needle", CLI_ERRORS, ids=[" ".join(a) for a, _ in CLI_ERRORS])
def test_command_line_mistakes_are_one_line(cli, argv, needle):
    code, out, err = cli(*argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_values_that_start_with_a_minus_are_values(cli, tmp_path):
    code, _, err = cli("sweep", "-o", "rosenbrock", "--x0", "-1.2,1", "--steps", "5", "-q",
                       "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["configs"][0]["params"][0] == [-1.2, 1.0]
    code, out, err = cli("sweep", "-o", "-x**2 + x**4", "--x0", "0.5", "--steps", "500")
    assert code == 0 and "converged" in out, err


def test_a_concave_loss_gets_no_bound_and_no_infinities(cli):
    code, out, err = cli("bound", "-o=-x**2", "--lr", "0.1")
    assert code == 0 and err == ""
    assert "no bound from curvature" in out and "inf" not in out and "near optimal" not in out


def test_a_loss_without_a_minimum_is_unbounded_not_slow(cli):
    code, out, _ = cli("sweep", "-o", "-x**2", "--lr", "0.1,1")
    assert code == 0 and "unbounded" in out and "slow: raise" not in out


def test_quiet_means_quiet(cli, tmp_path):
    for argv in (["demo", "-q"], ["bound", "-q"], ["sweep", "-q", "--steps", "5"]):
        code, out, err = cli(*argv)
        assert code == 0 and out == "" and err == "", argv


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_one_line(cli):
    for option in ("--json", "--csv"):
        code, _, err = cli("sweep", "--steps", "3", "-q", option, "/dev/full")
        assert code == 2 and err.startswith(f"lrscope: error: {option}: cannot write /dev/full")


def test_a_closed_pipe_ends_quietly():
    for argv in (["demo"], ["sweep", "-o", "rosenbrock", "--lr", "1e-4:1e-2:40", "--steps", "400", "--json", "-"]):
        proc = subprocess.Popen([sys.executable, "-m", "lrscope.cli", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) in (0, 141) and err == "", (argv, err)


@pytest.mark.parametrize("argv", [["sweep", "--steps", "20"], ["sweep", "--steps", "20", "--json", "-"],
                                  ["bound", "-o", "rosenbrock"]])
def test_an_output_that_cannot_be_written_is_one_line(argv, monkeypatch, capsys):
    # `lrscope sweep > /dev/full`: a full disk is one line on stderr (exit 1: not the user's mistake), no traceback
    import errno
    import io

    class Full(io.TextIOBase):
        def writable(self):
            return True

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    from lrscope.cli import main
    monkeypatch.setattr(sys, "stdout", Full())
    assert main(argv) == 1
    assert capsys.readouterr().err == "lrscope: error: cannot write the output: No space left on device\n"


# ---------------------------------------------------------------------------------------------------------------
def test_library_names_the_argument():
    with pytest.raises(ValueError, match="objective: 'rosenbrok' is not a built-in; did you mean 'rosenbrock'"):
        ls.objectives.get("rosenbrok")
    with pytest.raises(ValueError, match="objective: empty"):
        ls.objectives.get("")
    with pytest.raises(ValueError, match="steps: .* GB"):
        ls.sweep(ls.objectives.square(), lrs=np.geomspace(1e-5, 1, 10_000), steps=100_000)
    with pytest.raises(ValueError, match="objective: the loss fell without limit"):
        ls.find(ls.objectives.formula("-x**2"))
    # a NumPy scalar is a number (it used to be refused as "must be a number > 0"); a negative one is not > 0
    assert ls.find(ls.objectives.square(), start=np.float32(1e-6), end=np.float64(10.0), steps=60).suggestion > 0
    with pytest.raises(ValueError, match="start: must be a number > 0"):
        ls.find(ls.objectives.square(), start=np.float32(-1e-6))


def test_odd_losses_get_honest_verdicts_and_theory():
    res = ls.sweep(ls.objectives.formula("-x**2", x0=[1.0]), lrs=[0.001, 0.1, 1.0], steps=100)
    assert [v.kind for v in res.verdicts][1:] == ["unbounded", "unbounded"]
    assert "no learning rate fixes this" in res.verdicts[2].advice
    a = ls.theory.analyze(ls.objectives.formula("-x**2"))
    assert not a.has_bound and a.position(0.1).startswith("no curvature bound")
    assert a.to_dict()["stable_below"] is None and a.to_dict()["optimal"] is None
    # a bounded loss that falls fast at first is not 'unbounded'
    ok = ls.sweep(ls.objectives.rosenbrock(), lrs=[1e-3], steps=2000)
    assert ok.verdicts[0].kind != "unbounded"


def test_curvature_analysis_is_bounded():
    # twenty nested sigmoids of a product of twenty variables: the exact Hessian would have 26 million nodes
    variables = "*".join(f"x{i}" for i in range(20))
    text = variables
    for _ in range(20):
        text = f"sigmoid({text})"
    obj = ls.objectives.formula(text)
    assert obj.hessian(obj.x0) is None                          # not built: curvature from gradient differences
    assert ls.theory.analyze(obj).method == "Hessian from Hessian-vector products"
    digits = ls.objectives.dataset("digits", standardize=False)
    with pytest.raises(ls.theory.OutOfTime):
        ls.theory.analyze(digits, seconds=0.0)
    res = ls.sweep(digits, lrs=[1e-5], steps=3, analysis_seconds=0.0)
    assert res.analysis is None and any("gave up" in n for n in res.notes)


# ---------------------------------------------------------------------------------------------------------------
fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import lrscope.web.app as web  # noqa: E402

client = TestClient(web.app)


def post(body, url="/api/sweep"):
    return client.post(url, content=json.dumps(body), headers={"content-type": "application/json"})


WEB_ERRORS = [
    ({"schedule": {"name": "step_decay", "params": {"step_size": float("inf")}}}, 422, "schedule.params.step_size"),
    ({"schedule": {"name": "reduce_on_plateau", "params": {"patience": float("inf")}}}, 422, "patience"),
    ({"schedule": {"name": "warm_restarts", "params": {"t_0": float("inf"), "t_mult": 2}}}, 422, "t_0"),
    ({"schedule": {"name": "warm_restarts", "params": {"t_mult": float("nan")}}}, 422, "t_mult"),
    ({"optimizer": {"name": "adam", "params": {"amsgrad": "no"}}}, 422, "optimizer.params.amsgrad"),
    ({"optimizer": {"name": "adam", "params": {"beta1": "0.9"}}}, 422, "optimizer.params.beta1"),
    ({"objective": {"kind": "builtin", "name": "rosenbrok"}}, 422, "did you mean"),
    ({"objective": {"kind": "builtin", "x0": [float("inf")]}}, 422, "objective.x0"),
    ({"steps": "ten"}, 422, "steps: "),
    ({"seed": 2.5}, 422, "seed: "),
    ({"objective": {"kind": "dataset", "dataset": "digits"}, "lrs": [0.1] * 32, "steps": 5000}, 422, "work:"),
    ({"objective": {"kind": "dataset", "dataset": "wine", "model": "mlp"}}, 422, "objective.model"),
]


@pytest.mark.parametrize("body, status, needle", WEB_ERRORS, ids=[str(b)[:60] for b, _, _ in WEB_ERRORS])
def test_web_mistakes_are_answered_with_a_message(body, status, needle):
    r = post(body)
    assert r.status_code == status and needle in r.json()["detail"], r.text


def test_a_request_past_its_time_limit_is_stopped_with_a_503(monkeypatch):
    monkeypatch.setattr(web, "REQUEST_SECONDS", 0.0)      # the work estimate lets it through, the clock does not
    monkeypatch.setattr(web, "WORK_SHARE", float("inf"))
    r = post({"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": [1e-3], "steps": 2000})
    assert r.status_code == 503 and "computed for" in r.json()["detail"]


def test_the_finder_through_the_web_refuses_a_loss_without_a_minimum():
    r = post({"objective": {"kind": "formula", "formula": "-x**2"}}, url="/api/find")
    assert r.status_code == 422 and "fell without limit" in r.json()["detail"]


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6), st.booleans(),
                    st.text(max_size=8), st.none())
BODIES = st.fixed_dictionaries({}, optional={
    "objective": st.fixed_dictionaries({}, optional={
        "kind": st.sampled_from(["builtin", "formula", "dataset", "other"]),
        "name": st.sampled_from(["x2", "rosenbrock", "saddle", "nope", ""]),
        "formula": st.sampled_from(["x**2 + y**2", "-x", "log(x)", "x/0", "exp(exp(x))", "x**", ""]),
        "x0": st.lists(NUMBERS, max_size=3), "dataset": st.sampled_from(["wine", "diabetes", "mnist"]),
        "standardize": NUMBERS}),
    "optimizer": st.fixed_dictionaries({"name": st.sampled_from(["gd", "momentum", "adam", "rmsprop", "lion"])},
                                       optional={"params": st.dictionaries(
                                           st.sampled_from(["beta", "form", "beta1", "eps", "amsgrad", "x"]),
                                           NUMBERS, max_size=3)}),
    "schedule": st.fixed_dictionaries({"name": st.sampled_from(["cosine", "step_decay", "warm_restarts",
                                                                "multi_step", "one_cycle", "nope"])},
                                      optional={"params": st.dictionaries(
                                          st.sampled_from(["step_size", "gamma", "t_0", "t_mult", "milestones",
                                                           "pct_start"]), NUMBERS, max_size=3),
                                          "warmup": NUMBERS}),
    "lrs": st.lists(NUMBERS, max_size=4), "steps": NUMBERS, "batch_size": NUMBERS, "seed": NUMBERS})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
def test_any_request_body_is_answered_never_a_500(body):
    r = post(body)
    assert r.status_code in (200, 422, 503), (r.status_code, r.text[:300])
    if r.status_code != 200:
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]


CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**30, 10**30).map(str),
                  st.text(alphabet="0123456789.eE+-nainf ,\"x", max_size=12), st.just(""))
LOG_TABLES = st.tuples(st.lists(st.sampled_from(["step", "loss", "lr", "val_loss", "epoch", "train/loss", "x", ""]),
                                min_size=1, max_size=4),
                       st.lists(st.lists(CELLS, max_size=5), max_size=40))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(LOG_TABLES)
def test_any_table_of_log_contents_is_judged_or_refused_by_name(tmp_path, table):
    """Issue 29: whatever a CSV holds -- numbers, inf, nan, huge integers, stray text, ragged rows, quotes -- the
    answer is verdicts or a LogError that names the file or its run; never another exception (a traceback)."""
    from lrscope.logs import LogError, diagnose_log
    header, rows = table
    path = tmp_path / "run7.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = diagnose_log(str(path))
    except LogError as exc:
        assert "run7" in str(exc), str(exc)                   # the file, or the run read from it
    else:
        assert all(d.verdict.kind for d in report)


OPTIONS = st.lists(st.one_of(
    st.sampled_from(["--objective", "--lr", "--steps", "--optimizer", "--beta", "--schedule", "-S", "--warmup",
                     "--x0", "--batch-size", "--dataset", "--seed", "--quiet"]),
    st.sampled_from(["x**2", "rosenbrock", "quadratic", "0.1", "1e-3:1:3", "-1", "0", "nan", "inf", "1e400",
                     "adam", "momentum", "cosine", "step_decay", "gamma=0.5", "k=abc", "diabetes", "3,4", "", "x"])),
    max_size=8)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(OPTIONS)
def test_any_sweep_command_line_is_run_or_refused_in_one_line(args):
    """Issue 29: any argument list is either run (exit 0) or refused as the user's mistake (exit 2, one line on
    stderr) -- never a traceback, and never "a bug in lrscope" (exit 70)."""
    import contextlib
    import io
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["sweep", "--steps", "20", *args, "--quiet"])
    assert code in (0, 2), (args, code, err.getvalue()[-500:])
    if code == 2:
        assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue(), err.getvalue()

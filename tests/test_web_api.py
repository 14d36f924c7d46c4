"""The explorer's API: every control reaches the core, every bound is a 422 that says which."""

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import lrscope as ls  # noqa: E402
from lrscope.web.app import MAX_CONFIGS, MAX_STEPS, app  # noqa: E402

client = TestClient(app)


def post(body, url="/api/sweep"):
    return client.post(url, json=body)


def test_page_and_assets_are_served_locally():
    r = client.get("/")
    assert r.status_code == 200 and "lrscope explorer" in r.text and "/static/plotly.min.js" in r.text
    assert "cdn" not in r.text.lower()
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    main = client.get("/static/js/main.js")
    assert main.status_code == 200 and main.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/js/nope.js").status_code == 404 and client.get("/static/app.js").status_code == 404
    assert client.get("/static/../app.py").status_code == 404
    # every module of the page is asked for at once (a browser otherwise finds them import by import), and served
    import re
    preloaded = re.findall(r'<link rel="modulepreload" href="(/static/js/[a-z]+\.js)">', r.text)
    imported = set(re.findall(r'from "\./([a-z]+\.js)"', "".join(
        client.get(p).text for p in preloaded)))
    assert "/static/js/main.js" in preloaded and {f"/static/js/{m}" for m in imported} <= set(preloaded)
    assert all(client.get(p).status_code == 200 for p in preloaded)


def test_options_list_every_control():
    o = client.get("/api/options").json()
    assert set(o["builtins"]) >= {"x2", "quadratic", "rosenbrock", "beale", "himmelblau", "saddle"}
    assert set(o["optimizers"]) == {"gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    assert "cosine" in o["schedules"] and "reduce_on_plateau" in o["schedules"]
    assert o["limits"]["configs"] == MAX_CONFIGS


def test_course_example_through_the_api():
    r = post({"objective": {"kind": "builtin", "name": "x2"}, "lrs": [0.1, 1.1], "steps": 50})
    assert r.status_code == 200
    d = r.json()
    c0, c1 = d["configs"]
    assert c0["path"][0][:3] == [10.0, 8.0, 6.4] and c1["path"][0][1] == -12.0
    assert (c0["verdict"]["kind"], c1["verdict"]["kind"]) == ("converged", "diverged")
    assert d["theory"]["stable_below"] == 1.0 and d["theory"]["optimal"] == 0.5
    assert d["landscape"]["kind"] == "curve"
    assert c0["table"][1] == [1, 64.0, [8.0]]


def test_matches_the_core_for_a_two_parameter_function_with_schedule_and_optimizer():
    body = {"objective": {"kind": "builtin", "name": "rosenbrock", "x0": [-1.0, 1.5]},
            "optimizer": {"name": "adam", "params": {"beta1": 0.8, "amsgrad": True}},
            "schedule": {"name": "cosine", "params": {"eta_min": 1e-5}, "warmup": 10},
            "lrs": [1e-3, 1e-2], "steps": 300}
    d = post(body).json()
    core = ls.sweep(ls.objectives.rosenbrock(x0=[-1.0, 1.5]), lrs=[1e-3, 1e-2],
                    optimizer=ls.optim.adam(beta1=0.8, amsgrad=True),
                    schedule=ls.schedules.warmup(10, then=ls.schedules.cosine(eta_min=1e-5)), steps=300)
    for k in range(2):
        np.testing.assert_allclose(d["configs"][k]["loss"], core.losses[k][d["step_index"]], rtol=1e-6)   # 7 digits
        assert d["configs"][k]["verdict"] == core.verdicts[k].to_dict()
    assert d["landscape"]["kind"] == "contour" and len(d["landscape"]["levels"]) >= 3


def test_formula_dataset_minibatch_and_every_optimizer():
    r = post({"objective": {"kind": "formula", "formula": "x^2 + 10*y^2", "x0": [1, 1]}, "lrs": [0.05, 0.11]})
    assert [c["verdict"]["kind"] for c in r.json()["configs"]] == ["converged", "diverged"]
    r = post({"objective": {"kind": "dataset", "dataset": "wine", "model": "softmax", "standardize": True},
              "optimizer": {"name": "momentum", "params": {"beta": 0.9, "form": "heavy_ball"}},
              "lrs": [0.01, 0.1], "steps": 40, "batch_size": 16})
    assert r.status_code == 200, r.text
    assert r.json()["landscape"] is None and r.json()["dim"] == 42
    for name in ("gd", "nesterov", "adagrad", "rmsprop", "adamw"):
        assert post({"optimizer": {"name": name}, "lrs": [0.01]}).status_code == 200
    for name in ("inverse_time", "step_decay", "exponential", "warm_restarts", "one_cycle", "reduce_on_plateau"):
        assert post({"schedule": {"name": name}, "lrs": [0.01]}).status_code == 200, name


def test_range_test_endpoint():
    r = post({"objective": {"kind": "builtin", "name": "quadratic"}}, url="/api/find")
    assert r.status_code == 200
    d = r.json()
    assert 0 < d["suggestion"] < d["bound"] and set(d["methods"]) == {"steepest", "valley", "min/10", "lrscope"}
    body = {"objective": {"kind": "dataset", "dataset": "breast_cancer", "standardize": False},
            "budget": 300}
    r = post(body, url="/api/find")
    assert r.status_code == 200, r.text
    d = r.json()
    core = ls.find(ls.objectives.dataset("breast_cancer", standardize=False), budget=300)
    assert d["suggestion"] == pytest.approx(core.suggestion) and d["steps_used"] == core.steps_used
    assert post({"budget": 0}, url="/api/find").status_code == 422


@pytest.mark.parametrize("body, needle", [
    ({"lrs": [0.1] * (MAX_CONFIGS + 1)}, "at most"),
    ({"steps": MAX_STEPS + 1}, "steps"),
    ({"objective": {"kind": "dataset", "dataset": "digits"}, "lrs": [0.1] * 32, "steps": 5000}, "work"),
    ({"objective": {"kind": "formula", "formula": "__import__('os')"}}, "formula"),
    ({"objective": {"kind": "formula", "formula": "x." + "a" * 10}}, "attribute"),
    ({"objective": {"kind": "formula", "formula": "x" * 600}}, "formula"),
    ({"objective": {"kind": "formula", "formula": ""}}, "formula"),
    ({"objective": {"kind": "builtin", "name": "nope"}}, "objective.name"),
    ({"objective": {"kind": "builtin", "name": "rosenbrock", "x0": [1.0]}}, "x0"),
    ({"objective": {"kind": "dataset", "dataset": "mnist"}}, "dataset"),
    ({"lrs": [-1.0]}, "lrs"),
    ({"lrs": []}, "lrs"),
    ({"steps": 0}, "steps"),
    ({"optimizer": {"name": "lion"}}, "optimizer.name"),
    ({"optimizer": {"name": "gd", "params": {"beta": 0.9}}}, "optimizer.params"),
    ({"optimizer": {"name": "momentum", "params": {"beta": 2.0}}}, "beta"),
    ({"schedule": {"name": "sawtooth"}}, "schedule.name"),
    ({"schedule": {"name": "cosine", "params": {"wobble": 1}}}, "schedule.params"),
    ({"batch_size": 4}, "batch_size"),
])
def test_bad_requests_are_422_with_a_message(body, needle):
    r = post(body)
    assert r.status_code == 422
    assert needle in str(r.json()["detail"])


def test_the_theory_chart_gets_its_numbers_from_the_core():
    # the page draws the error factor per step; the server computes it (the page used to compute max|1-αλ| itself)
    d = post({"objective": {"kind": "builtin", "name": "quadratic"}, "lrs": [0.01, 0.1]}).json()
    a = ls.theory.analyze(ls.objectives.quadratic())
    curve = d["theory"]["curve"]
    np.testing.assert_allclose(curve["factor"], a.contraction(np.array(curve["lr"])), rtol=1e-6)
    np.testing.assert_allclose(d["theory"]["contraction"], a.contraction([0.01, 0.1]), rtol=1e-6)
    js = client.get("/static/js/panels.js").text
    assert "Math.abs(1 -" not in js and "th.curve" in js


def test_the_page_keeps_its_map_while_it_still_fits():
    body = {"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": [1e-3, 2e-3], "steps": 200}
    first = post(body).json()["landscape"]
    frame = [first["x"][0], first["x"][-1], first["y"][0], first["y"][-1]]
    again = post({**body, "lrs": [1e-3, 1.9e-3], "landscape_frame": frame}).json()["landscape"]
    assert again["kind"] == "same" and again["minimizer"] == [1.0, 1.0]
    # a frame that no longer holds the paths (or is far too wide for them) gets a new map
    assert post({**body, "landscape_frame": [0.9, 1.1, 0.9, 1.1]}).json()["landscape"]["kind"] == "contour"
    assert post({**body, "landscape_frame": [-100, 100, -100, 100]}).json()["landscape"]["kind"] == "contour"


def test_the_map_has_contour_lines_at_round_losses_labelled_where_they_lie():
    d = post({"objective": {"kind": "formula", "formula": "(x-3)**2 + 10*(y+2)**2 + 3", "x0": [0, 0]},
              "lrs": [0.01, 0.05], "steps": 100}).json()["landscape"]
    f = ls.objectives.formula("(x-3)**2 + 10*(y+2)**2 + 3")
    values = [lv["value"] for lv in d["levels"]]
    gaps = np.array(values) - 3                       # the lowest loss (found numerically) is 3
    mantissa = gaps / 10.0 ** np.floor(np.log10(gaps))
    assert np.all(np.isin(np.round(mantissa, 6), [1, 2, 3, 5])) and 3 <= len(values) <= 12
    for lv in d["levels"]:                            # every drawn point lies on its level (grid interpolation)
        pts = np.array([(x, y) for x, y in zip(lv["x"], lv["y"]) if x is not None])
        np.testing.assert_allclose(f.value(pts), lv["value"], rtol=0.05)
    assert len(d["labels"]) >= 3
    for lb in d["labels"]:
        assert lb["value"] in values
        assert abs(f.value(np.array([[lb["x"], lb["y"]]]))[0] - lb["value"]) <= 0.05 * lb["value"]
        assert d["x"][0] < lb["x"] < d["x"][1] and d["y"][0] < lb["y"] < d["y"][1]
    spots = np.array([((lb["x"] - d["x"][0]) / (d["x"][1] - d["x"][0]), (lb["y"] - d["y"][0]) / (d["y"][1] - d["y"][0]))
                      for lb in d["labels"]])
    apart = np.hypot(*(spots[:, None] - spots[None]).transpose(2, 0, 1)) + np.eye(len(spots))
    assert apart.min() >= 0.14                        # labels never overlap


def test_a_hyperparameter_list_sweeps_it_with_every_rate():
    r = post({"objective": {"kind": "formula", "formula": "x**2 + 100*y**2", "x0": [10, 1]}, "lrs": [0.02],
              "optimizer": {"name": "momentum", "params": {"beta": [0, 0.9, 0.99]}}, "steps": 150})
    assert r.status_code == 200, r.text
    configs = r.json()["configs"]
    assert [c["hyperparams"]["beta"] for c in configs] == [0, 0.9, 0.99] and {c["lr"] for c in configs} == {0.02}
    assert [c["verdict"]["kind"] for c in configs] == ["diverged", "converged", "slow"]
    bad = post({"objective": {"kind": "builtin", "name": "x2"}, "lrs": [0.1],
                "optimizer": {"name": "adam", "params": {"amsgrad": [1, 0]}}})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("optimizer.params.amsgrad")


def test_a_mini_batch_run_sends_its_batch_losses_and_many_parameters_their_gradient_norms():
    d = post({"objective": {"kind": "dataset", "dataset": "wine", "model": "softmax"}, "lrs": [0.01, 0.1],
              "steps": 40, "batch_size": 16}).json()
    for c in d["configs"]:
        assert len(c["batch_loss"]) == len(c["lr_used"]) == len(c["grad_norm"]) == 40      # every update, ≤ 160
        assert all(v > 0 for v in c["grad_norm"])
    d = post({"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": [1e-3], "steps": 40}).json()
    assert "batch_loss" not in d["configs"][0] and "grad_norm" not in d["configs"][0]     # a map, full batches


def test_a_schedule_can_be_compared_with_the_same_rates_held_constant():
    body = {"objective": {"kind": "builtin", "name": "x2", "x0": [10]}, "lrs": [0.05, 0.2], "steps": 60,
            "schedule": {"name": "exponential", "params": {"k": 0.3}}, "compare_constant": True}
    d = post(body).json()
    plain = post({**body, "schedule": None}).json()
    assert d["constant"] == [c["loss"] for c in plain["configs"]]          # exactly the constant-α runs
    assert d["configs"][0]["loss"] != d["constant"][0]
    assert "constant" not in post({**body, "schedule": None}).json()          # nothing to compare without one


def test_the_same_rates_can_be_compared_with_another_method():
    body = {"objective": {"kind": "builtin", "name": "rosenbrock"}, "lrs": [1e-3, 1e-2], "steps": 200,
            "optimizer": {"name": "adam", "params": {}}, "compare_optimizer": {"name": "gd", "params": {}}}
    d = post(body).json()
    gd = post({**body, "optimizer": {"name": "gd", "params": {}}, "compare_optimizer": None}).json()
    assert d["compared"]["optimizer"] == "gd" and d["compared"]["lrs"] == [1e-3, 1e-2]
    assert d["compared"]["loss"] == [c["loss"] for c in gd["configs"]]      # exactly gradient descent's runs
    bad = post({**body, "compare_optimizer": {"name": "sgdd", "params": {}}})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("compare_optimizer.name:")


def test_a_comparison_counts_in_the_time_estimate_not_against_the_step_limit():
    # 3,000 steps is within the limit; the schedule's comparison run trains them twice, which is the server's
    # business -- not "steps: at most 5000, got 6000"
    r = post({"objective": {"kind": "builtin", "name": "x2", "x0": [10]}, "lrs": [0.1], "steps": 3000,
              "schedule": {"name": "exponential", "params": {"k": 0.001}}, "compare_constant": True})
    assert r.status_code == 200, r.text
    assert len(r.json()["constant"]) == 1


def test_the_step_table_shows_only_losses_that_were_evaluated():
    # a big data set's mini-batch run evaluates the full loss every few steps: the table must not repeat the last
    # value as if nothing had happened in between
    d = post({"objective": {"kind": "dataset", "dataset": "digits"}, "lrs": list(np.geomspace(0.01, 1, 16)),
              "steps": 300, "batch_size": 32}).json()
    losses = [row[1] for row in d["configs"][0]["table"]]
    assert losses[0] == pytest.approx(np.log(10)) and None in losses
    assert all(v is None or v > 0 for v in losses)


def test_the_range_test_verifies_the_peak_of_the_schedule_the_learner_chose():
    """The explorer's schedule goes with the range test: the pick is the peak verified with it (a step decay every
    quarter of the 200-step budget, read at the same fractions of the shorter verification runs) and the rates of
    every step follow it; constant and reduce-on-plateau (it reads the loss) verify a constant rate."""
    body = {"objective": {"kind": "dataset", "dataset": "digits"}, "batch_size": 32, "budget": 200,
            "schedule": {"name": "step_decay", "params": {"step_size": 50, "gamma": 0.5}}}
    r = post(body, url="/api/find")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["verified_with"] == "step_decay"
    rates = np.array(d["step_sizes"])
    np.testing.assert_allclose(rates[[0, 49, 50, 199]], d["suggestion"] * np.array([1, 1, 0.5, 0.125]), rtol=1e-12)
    for name in ("constant", "reduce_on_plateau"):
        r = post({**body, "schedule": {"name": name}}, url="/api/find")
        assert r.status_code == 200, r.text
        assert r.json()["verified_with"] is None
    assert post({**body, "schedule": {"name": "nope"}}, url="/api/find").status_code == 422


def test_a_bug_is_a_500_not_the_requests_fault(monkeypatch, caplog):
    """Issue 29: a ValueError from inside NumPy is a bug, not a mistake in the request: a 500 with the traceback in
    the server's log; lrscope's own checks stay a 422 naming the control."""
    import lrscope.web.app as web
    monkeypatch.setattr(web, "sweep", lambda *a, **k: np.zeros(-1))
    with caplog.at_level("ERROR", logger="lrscope.web"):
        r = TestClient(web.create_app(), raise_server_exceptions=False).post(
            "/api/sweep", json={"objective": {"kind": "builtin", "name": "quadratic"}, "lrs": [0.1]})
    assert r.status_code == 500 and "a bug in lrscope" in r.json()["detail"]
    assert any(rec.exc_info for rec in caplog.records)
    assert post({"steps": 0}).status_code == 422

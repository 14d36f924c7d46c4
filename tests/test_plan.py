"""The plan layer: one catalogue read from the factories, one way to build a sweep, shared by the CLI and the web."""

import inspect

import numpy as np
import pytest

import lrscope as ls
from lrscope import plan
from lrscope.cli import build_parser
from lrscope.cli.commands import COMMANDS
from lrscope.cli.parser import plan_from


def plain_parameters(factory):
    return [n for n, p in inspect.signature(factory).parameters.items() if n != "then"]


def test_the_catalogue_holds_every_parameter_of_every_factory():
    for table, catalogue in ((ls.optim.OPTIMIZERS, plan.OPTIMIZERS), (ls.schedules.SCHEDULES, plan.SCHEDULES)):
        for factory in set(table.values()):
            assert list(catalogue[factory.__name__]) == plain_parameters(factory), factory.__name__
    beta = plan.OPTIMIZERS["momentum"]["beta"]
    assert (beta.kind, beta.default, beta.sweepable) == ("float", 0.9, True)
    assert plan.OPTIMIZERS["momentum"]["form"].choices == ("ema", "heavy_ball")
    assert plan.OPTIMIZERS["adam"]["amsgrad"].kind == "bool"
    # the integer-valued schedule parameters come from the signatures: the same for every interface
    ints = {(s, k) for s, opts in plan.SCHEDULES.items() for k, o in opts.items() if o.kind == "int"}
    assert {("step_decay", "step_size"), ("reduce_on_plateau", "patience"), ("warm_restarts", "t_0"),
            ("warm_restarts", "t_mult"), ("cosine", "t_max")} <= ints
    assert plan.SCHEDULES["multi_step"]["milestones"].kind == "ints"


def test_the_command_line_offers_exactly_the_catalogues_hyperparameters():
    parser = build_parser(COMMANDS)
    sweep = parser._subparsers._group_actions[0].choices["sweep"]
    group = next(g for g in sweep._action_groups if g.title.startswith("optimizer hyperparameters"))
    assert {a.dest for a in group._group_actions} == set(plan.hyperparameter_owners())
    flags = {a.dest: a for a in group._group_actions}
    assert flags["form"].choices == ("ema", "heavy_ball") and flags["amsgrad"].nargs == 0


def test_the_web_lists_exactly_the_catalogue():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from lrscope.web.app import app
    options = TestClient(app).get("/api/options").json()
    assert options["optimizers"] == {name: {k: o.to_dict() for k, o in opts.items()}
                                     for name, opts in plan.OPTIMIZERS.items()}
    assert set(options["schedules"]) == set(plan.SCHEDULES) - {"warmup"}
    assert options["verdict_colors"] == ls.plots.VERDICT_COLORS


def test_the_command_line_and_the_web_build_the_same_setup():
    pytest.importorskip("fastapi")
    from lrscope.web.app import OptimizerSpec, ObjectiveSpec, ScheduleSpec, request_plan
    args = build_parser(COMMANDS).parse_args(
        ["sweep", "-o", "rosenbrock", "--optimizer", "momentum", "--form", "heavy_ball", "--beta", "0.5",
         "--lr", "0.001,0.002", "--schedule", "step_decay", "-S", "step_size=50", "-S", "gamma=0.5", "--steps", "80"])
    cli = plan.build(plan_from(args))
    web = plan.build(request_plan(ObjectiveSpec(kind="builtin", name="rosenbrock"),
                                  OptimizerSpec(name="momentum", params={"form": "heavy_ball", "beta": 0.5}),
                                  ScheduleSpec(name="step_decay", params={"step_size": 50.0, "gamma": 0.5}),
                                  lrs=[0.001, 0.002], steps=80))
    assert repr(cli.optimizer) == repr(web.optimizer) and repr(cli.schedule) == repr(web.schedule)
    same = {**cli.run_options(), "schedule": None} == {**web.run_options(), "schedule": None}
    assert cli.lrs.tolist() == web.lrs.tolist() and same
    assert cli.objective.name == web.objective.name


def test_the_grid_is_every_combination_learning_rate_outermost():
    setup = plan.build(plan.Plan(objective="quadratic", optimizer="adam", lrs="0.01,0.1",
                                 hyperparams={"beta1": [0.8, 0.9], "beta2": "0.99", "amsgrad": "true"}))
    assert setup.lrs.tolist() == [0.01, 0.01, 0.1, 0.1]
    assert setup.swept["beta1"].tolist() == [0.8, 0.9, 0.8, 0.9]
    assert setup.optimizer.name == "adam[amsgrad]" and setup.optimizer.hyperparams["beta2"] == 0.99
    assert plan.build(plan.Plan(optimizer="adam")).lrs.tolist() == [0.001]      # the optimizer's usual rate


def test_a_grid_too_large_is_refused_before_it_is_built():
    import tracemalloc
    values = {key: list(np.linspace(0.1, 0.9, 80)) for key in ("beta1", "beta2", "eps", "weight_decay")}
    tracemalloc.start()
    with pytest.raises(plan.PlanError, match="80 beta1 × 80 beta2 × 80 eps × 80 weight_decay is 40960000 config"):
        plan.build(plan.Plan(optimizer="adam", lrs=[0.1], hyperparams=values))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6          # 41M configurations built would be gigabytes (3.6 GB when the issue was filed)


@pytest.mark.parametrize("description, field", [
    (dict(optimizer="lion"), "optimizer"),
    (dict(optimizer="gd", hyperparams={"beta": 0.9}), "hyperparams.beta"),
    (dict(optimizer="momentum", hyperparams={"beta": 1.0}), "hyperparams.beta"),
    (dict(optimizer="momentum", hyperparams={"form": "ball"}), "hyperparams.form"),
    (dict(optimizer="adam", hyperparams={"amsgrad": "no way"}), "hyperparams.amsgrad"),
    (dict(optimizer="adam", hyperparams={"amsgrad": 1.0}), "hyperparams.amsgrad"),
    (dict(schedule="step_decay", schedule_params={"step_size": 2.5}), "schedule_params.step_size"),
    (dict(schedule="step_decay", schedule_params={"gamma": "0.5,0.6"}), "schedule_params.gamma"),
    (dict(schedule="multi_step"), "schedule_params.milestones"),
    (dict(schedule="multi_step", schedule_params={"milestones": "a,b"}), "schedule_params.milestones"),
    (dict(schedule="cosine", schedule_params={"eta_min": -1.0}), "schedule_params.eta_min"),
    (dict(schedule="reduce_on_plateau", warmup=5), "warmup"),
    (dict(lrs="0.1,-1"), "lrs"),
    (dict(lrs=[True]), "lrs"),
    (dict(lrs="1e-5:1:300", hyperparams={"weight_decay": list(np.linspace(0, 1, 50))}), "lrs"),
    # too many configurations: the longest list is the one named (not the rates when the betas are the many)
    (dict(optimizer="adam", hyperparams={"beta1": "0.1:0.9:200", "beta2": "0.5:0.999:300"}), "hyperparams.beta2"),
    (dict(dataset="wine", x0=[1.0]), "x0"),
    (dict(objective="nope", kind="builtin"), "objective"),
])
def test_mistakes_name_the_plans_field(description, field):
    with pytest.raises(plan.PlanError) as info:
        plan.build(plan.Plan(**description))
    assert info.value.field == field


def test_booleans_are_read_not_guessed():
    assert plan.build(plan.Plan(optimizer="adam", hyperparams={"amsgrad": "false"})).optimizer.name == "adam"
    assert plan.build(plan.Plan(optimizer="adam", hyperparams={"amsgrad": True})).optimizer.name == "adam[amsgrad]"

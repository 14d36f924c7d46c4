"""Mini-batch training: the verified rate, then a linear cooldown to 0 over the last 20% of the budget."""

import numpy as np
import pytest
import torch

import lrscope as ls
import lrscope.torch as lt
from lrscope.finder.cooldown import COOLDOWN, with_cooldown


def test_the_rate_holds_for_four_fifths_of_the_budget_then_falls_linearly_towards_0():
    rates = with_cooldown(0.3, 100)
    n = round(COOLDOWN * 100)
    assert rates.size == 100 and np.all(rates[:100 - n + 1] == 0.3)
    np.testing.assert_allclose(np.diff(rates[100 - n:]), -0.3 / n)       # linear
    assert 0 < rates[-1] <= 0.3 / n
    assert with_cooldown(1.0, 10).size == 10 and with_cooldown(1.0, 9) is None    # too short to cool down


def test_find_on_mini_batches_recommends_a_cooldown_and_it_ends_lower_than_the_constant_rate():
    obj = ls.objectives.dataset("digits")
    opt = ls.optim.momentum(0.9, form="heavy_ball")
    res = ls.find(obj, optimizer=opt, batch_size=32, steps=80, seeds=2, budget=285)
    assert res.step_sizes.size == 285 and res.schedule_loss is None
    np.testing.assert_allclose(res.step_sizes, with_cooldown(res.suggestion, 285))
    assert "cooldown" in res.reason and any("cooldown" in n for n in res.notes)
    assert res.steps_used == sum(res.compute.values())                    # no steps of its own
    # the batches' noise is what the last steps leave: cooled down, two batch orders end lower than at the
    # constant rate (measured over three: 0.0345 against 0.0465)
    cooled, constant = [], []
    for seed in (0, 1):
        kw = dict(optimizer=opt, batch_size=32, epochs=5, analyze=False, seed=seed)
        cooled.append(ls.sweep(obj, lrs=[res.suggestion], schedule=res.schedule, **kw).final_losses[0])
        constant.append(ls.sweep(obj, lrs=[res.suggestion], **kw).final_losses[0])
    assert np.mean(cooled) < 0.9 * np.mean(constant)


@pytest.mark.parametrize("kw", [{"batch_size": 16}, {"budget": 200}], ids=["no budget", "full batch"])
def test_no_cooldown_without_a_budget_or_on_a_full_batch(kw):
    kw = {"batch_size": kw.get("batch_size"), "budget": kw.get("budget")}
    res = ls.find(ls.objectives.dataset("wine"), **kw)
    assert res.step_sizes is None or res.schedule_loss is not None     # full batch: only checked step sizes
    assert any("budget=" in n for n in res.notes) == (kw["budget"] is None)     # without one, how to get them


def test_lr_find_on_a_mini_batch_loader_recommends_the_cooldown_too():
    torch.manual_seed(0)
    X, y = torch.randn(256, 5), torch.randint(0, 2, (256,))
    ds = torch.utils.data.TensorDataset(X, y)
    model = torch.nn.Linear(5, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1e-7)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    res = lt.lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, budget=120)
    np.testing.assert_allclose(res.step_sizes, with_cooldown(res.suggestion, 120))
    whole = torch.utils.data.DataLoader(ds, batch_size=256)
    res = lt.lr_find(model, torch.nn.functional.cross_entropy, whole, opt, steps=40, budget=120)
    assert res.step_sizes is None


def test_the_plot_shows_the_schedule_below_the_range_test(tmp_path):
    import json
    import matplotlib
    matplotlib.use("Agg")
    res = ls.find(ls.objectives.dataset("wine"), batch_size=16, steps=60, seeds=1, budget=100)
    json.dumps(res.to_dict())
    path = tmp_path / "range.png"
    ax = res.plot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    panel = [a for a in ax.figure.axes if "schedule" in a.get_title()]
    assert len(panel) == 1 and panel[0].get_yscale() == "linear"       # a cooldown: on a linear scale
    np.testing.assert_allclose(panel[0].get_lines()[0].get_ydata(), res.step_sizes)
    assert res.schedule_summary() == (f"Schedule: {res.suggestion:.4g}, from step 80 falling linearly to 0 at step "
                                      f"100 (a cooldown)")
    assert "schedule" in res._repr_html_()

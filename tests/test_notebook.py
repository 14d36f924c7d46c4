"""Results display themselves in Jupyter; the example notebook in docs/ runs from top to bottom."""

from pathlib import Path

import pytest

import lrscope as ls

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "example.ipynb"


def test_a_sweep_and_a_range_test_show_a_chart_and_their_verdicts():
    pytest.importorskip("plotly")
    from lrscope import notebook
    notebook._SENT["plotly"] = False
    sweep = ls.sweep(ls.objectives.formula("x**2", x0=[10]), lrs=[0.1, 1.1], steps=40)
    first, second = sweep._repr_html_(), sweep._repr_html_()
    assert "plotly" in first.lower() and len(first) > 1_000_000          # plotly.js inline once, no CDN
    assert len(second) < 50_000 and 'src="https://cdn' not in first + second            # nothing fetched
    assert "converged" in second and "diverged" in second and "α" in second
    found = ls.find(ls.objectives.dataset("diabetes"), budget=100)
    shown = found._repr_html_()
    assert f"{found.suggestion:.4g}" in shown and "compute" in shown


def test_the_example_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) == 3 and "diverged" in html[0] and "suggested α" in html[1]
    assert "training loss" in html[2] and "converged" in html[2]           # the diagnosed log
    last = outputs[-1]["data"]["text/plain"]
    assert "'0', 'slow'" in last and "'1', 'converged'" in last and "'2', 'diverged'" in last


def test_the_chart_counts_steps_even_when_the_full_loss_is_evaluated_every_few_steps():
    pytest.importorskip("plotly")
    import re
    result = ls.sweep(ls.objectives.dataset("wine"), lrs=[0.1], steps=30, batch_size=16, eval_every=5)
    x = re.search(r'"x":\[([0-9,]+)\]', result._repr_html_()).group(1).split(",")
    assert x[0] == "0" and x[-1] == "30" and len(x) == 31          # not 0 … 150


def test_a_diagnosed_log_the_monitor_and_the_curvature_show_themselves(tmp_path):
    pytest.importorskip("plotly")
    from lrscope.cli import render
    sweep = ls.sweep(ls.objectives.formula("x**2 + 10*y**2", x0=[3, 1]), lrs=[0.05, 0.11], steps=100)
    with open(tmp_path / "sweep.csv", "w", newline="") as fh:
        render.write_csv(sweep, fh)
    shown = ls.diagnose_log(tmp_path / "sweep.csv", run="config")._repr_html_()
    assert "converged" in shown and "diverged" in shown and "training loss" in shown
    analysis = ls.analyze(sweep.objective)._repr_html_()
    assert "optimal constant α" in analysis and "0.0909091" in analysis and "stable for 0 &lt; α &lt; 2/L = 0.1" \
        in analysis
    torch = pytest.importorskip("torch")
    from lrscope.torch import Monitor
    w = torch.nn.Parameter(torch.tensor([3.0]))
    opt = torch.optim.SGD([w], lr=1.2)                    # x²: above 2/L = 1, it diverges
    monitor = Monitor(opt, check_every=5)
    for _ in range(30):
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        monitor.update(loss)
        opt.step()
    shown = monitor._repr_html_()
    assert "lrscope monitor · 30 steps" in shown and "diverged" in shown and "alarms" in shown

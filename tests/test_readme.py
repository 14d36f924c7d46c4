"""The README's Python examples run as written (a user copies them first)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_python_example_runs_and_says_what_it_shows():
    assert len(BLOCKS) == 2
    namespace = {}
    exec(BLOCKS[0], namespace)
    res = namespace["res"]
    assert 0 < res.suggestion and res.interval[0] <= res.suggestion <= res.interval[1]
    first = namespace["ls"].sweep(namespace["obj"], lrs=[0.001, 0.1, 1.0, 1.1], steps=100)
    np.testing.assert_allclose(first.params[1, :3, 0], [10.0, 8.0, 6.4])
    assert [v.kind for v in first.verdicts] == ["slow", "converged", "oscillating", "diverged"]
    assert first.verdicts[3].advice == "α=1.1 > 2/L=1: lower it below 1 (the best constant α is about 0.5)"


def test_the_pytorch_example_runs_on_a_small_model():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    namespace = {"model": model, "loss_fn": torch.nn.functional.cross_entropy, "loader": loader, "opt": opt,
                 "X": X, "y": y}
    exec(BLOCKS[1], namespace)
    assert namespace["res"].K == 4 and "λ_max" in namespace["s"].summary()

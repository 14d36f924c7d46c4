"""The finder's verification runs as Ray actors (a local Ray on this machine's CPUs): the same pick and the same
compute as the local path for the same seed; resources that cannot fit are refused up front."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

import lrscope.torch as lt  # noqa: E402


pytestmark = pytest.mark.xdist_group("ray")      # one worker: the module's fixture starts once


@pytest.fixture(scope="module")
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    if started:
        ray.shutdown()


def problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 10, generator=g)
    y = (X[:, :3].sum(dim=1) > 0).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    return model, loader


def test_the_ray_path_picks_what_the_local_path_picks(local_ray, monkeypatch):
    from lrscope.torch import cluster
    started, original = [], cluster.CandidateActors.close

    def close(self):
        started.append(len(self.actors))
        original(self)

    monkeypatch.setattr(cluster.CandidateActors, "close", close)
    picks = {}
    for backend in ("local", "ray"):
        model, loader = problem()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        before = [p.detach().clone() for p in model.parameters()]
        res = lt.lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, budget=80, backend=backend)
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))     # the user's model untouched
        picks[backend] = res
    local, remote = picks["local"], picks["ray"]
    # the 8 candidates' runs shared the cluster's 2 CPUs: 2 actors, 4 runs each, interleaved -- with the answer of
    # one process per run
    assert started == [2]
    assert remote.suggestion == local.suggestion and remote.steps_used == local.steps_used
    np.testing.assert_array_equal(remote.finalists, local.finalists)
    # the actors train with one thread each: the same numbers up to floating-point grouping
    finite = np.isfinite(local.finalist_losses) & (local.finalist_losses < 10)
    np.testing.assert_allclose(remote.finalist_losses[finite], local.finalist_losses[finite], rtol=1e-4)


def test_actors_that_cannot_all_live_at_once_are_refused(local_ray):
    model, loader = problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # one run per actor where each asks for a device share: the candidates × 0.5 GPU of a cluster without one
    with pytest.raises(ValueError, match="ray_options: .* × 0.5 GPU each do not fit"):
        lt.lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, backend="ray",
                   ray_options={"num_gpus": 0.5})
    with pytest.raises(ValueError, match="ray_options: an actor asks for 3 CPU"):
        lt.lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, backend="ray",
                   ray_options={"num_cpus": 3})
    with pytest.raises(ValueError, match="backend"):
        lt.lr_find(model, torch.nn.functional.cross_entropy, loader, opt, backend="dask")


def test_a_sweep_trains_its_configurations_as_ray_tasks(local_ray):
    lrs = [0.01, 0.1, 1.0, 30.0]
    model, loader = problem()               # a fresh loader for each: the same batch order
    local = lt.sweep(model, torch.nn.functional.cross_entropy, loader, lrs, optimizer="momentum", beta=0.9,
                     form="heavy_ball", epochs=2, vectorize=False)
    model, loader = problem()
    remote = lt.sweep(model, torch.nn.functional.cross_entropy, loader, lrs, optimizer="momentum", beta=0.9,
                      form="heavy_ball", epochs=2, backend="ray")
    assert [v.kind for v in remote.verdicts] == [v.kind for v in local.verdicts]
    finite = np.isfinite(local.losses[:3])
    np.testing.assert_allclose(remote.losses[:3][finite], local.losses[:3][finite], rtol=1e-5)
    assert remote.verdicts[3].kind == "diverged"
    with pytest.raises(ValueError, match="backend"):
        lt.sweep(model, torch.nn.functional.cross_entropy, loader, lrs, backend="spark")

"""Fair turns at the server's work (issue 29, item 2): a light request is not stuck behind a heavy one, heavy ones
take turns, a time limit counts computing only, a busy server says so -- and the worker process answers as the
server would."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import lrscope as ls  # noqa: E402
from lrscope.web import app as web, turns  # noqa: E402


def start(queue, job, work):
    """``work(job)`` in a thread once the job has its turn; returns the thread and a list that gets its outcome."""
    out = []

    def go():
        try:
            out.append(queue.run(job, lambda: work(job)))
        except Exception as exc:          # the outcome is what the test looks at
            out.append(exc)
    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, out


def computing(seconds, log=None, name=None):
    """Work that computes for ``seconds`` (wall time), reporting progress every millisecond."""
    def work(job):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if log is not None:
                log.append(name)
            job.check()
            time.sleep(0.001)
        return name
    return work


def test_a_light_request_is_answered_while_a_heavy_one_waits():
    queue = turns.Turns()
    heavy = queue.admit("heavy-user", 10.0)
    log = []
    t_heavy, out_heavy = start(queue, heavy, computing(1.0, log, "heavy"))
    time.sleep(0.2)                                   # the heavy request has computed for a while
    t0 = time.monotonic()
    light = queue.admit("student", 10.0)
    t_light, out_light = start(queue, light, computing(0.03, log, "light"))
    t_light.join(5)
    waited = time.monotonic() - t0
    assert out_light == ["light"] and waited < 0.5, waited    # not behind the heavy one's remaining 0.8 s
    assert not out_heavy                                       # which is still going
    t_heavy.join(5)
    assert out_heavy == ["heavy"]
    first, last = log.index("light"), len(log) - 1 - log[::-1].index("light")
    assert set(log[first:last + 1]) == {"light"}               # the heavy one paused meanwhile


def test_heavy_requests_take_turns_instead_of_first_come():
    queue = turns.Turns()
    log = []
    a = queue.admit("a", 10.0)
    t_a, _ = start(queue, a, computing(0.6, log, "a"))
    time.sleep(0.1)
    b = queue.admit("b", 10.0)
    t_b, _ = start(queue, b, computing(0.6, log, "b"))
    t_a.join(5), t_b.join(5)
    switches = sum(x != y for x, y in zip(log, log[1:]))
    assert switches >= 4, switches                    # interleaved, not a then b


def test_the_time_limit_counts_computing_not_waiting():
    queue = turns.Turns()
    first = queue.admit("a", 10.0)
    t_first, _ = start(queue, first, computing(0.5))
    time.sleep(0.05)
    second = queue.admit("a", 0.3)                    # same user, same age: it waits its turn
    t_second, out = start(queue, second, computing(0.1, name="done"))
    t_first.join(5), t_second.join(5)
    assert out == ["done"]                            # waited ~0.45 s, computed 0.1 s of its 0.3 s
    late = queue.admit("a", 0.05)
    _, out = start(queue, late, computing(0.3))
    time.sleep(0.6)
    assert isinstance(out[0], turns.Aborted) and "computed for 0.05 s" in str(out[0])


def test_a_busy_server_says_so_and_when_to_retry(monkeypatch):
    monkeypatch.setattr(turns, "MAX_JOBS", 1)
    queue = turns.Turns()
    job = queue.admit("a", 10.0)
    with pytest.raises(turns.Busy) as info:
        queue.admit("b", 10.0)
    assert str(info.value).startswith("busy:") and "try again in about" in str(info.value)
    assert info.value.retry_after >= 1 and "steps" not in str(info.value)     # the queue, not the request's size
    queue.done(job)
    monkeypatch.setattr(turns, "MAX_JOBS", 5)
    monkeypatch.setattr(turns, "SWITCH", 100.0)         # no handing over: the second request only waits
    monkeypatch.setattr(turns, "WAIT_SECONDS", 0.2)
    t, _ = start(queue, queue.admit("a", 10.0), computing(0.6))
    time.sleep(0.05)
    t_b, out = start(queue, queue.admit("b", 10.0), computing(0.01))
    t_b.join(5), t.join(5)
    assert isinstance(out[0], turns.Busy) and "while yours waited" in str(out[0]) and out[0].retry_after >= 1


def test_a_pages_newer_request_supersedes_its_oldest():
    queue = turns.Turns()
    jobs = [queue.admit("tab", 10.0) for _ in range(turns.PER_USER + 1)]
    assert jobs[0].cancelled and "superseded" in jobs[0].cancelled
    assert not any(j.cancelled for j in jobs[1:])
    with pytest.raises(turns.Aborted, match="superseded"):
        jobs[0].check()


def test_a_request_accepted_once_is_not_refused_later_because_the_server_is_busy(monkeypatch):
    obj = ls.objectives.rosenbrock()
    costs = iter([1e-3, 5e-3])            # the second measurement is taken on a busy machine
    monkeypatch.setattr(web, "seconds_per_step", lambda *_: next(costs))
    limit_steps = int(web.WORK_SHARE * web.REQUEST_SECONDS / 1e-3) - 1
    assert web.check_bounds(obj, 1, limit_steps, None) == pytest.approx(limit_steps * 1e-3)
    assert web.check_bounds(obj, 1, limit_steps, None) == pytest.approx(limit_steps * 1e-3)    # not 5x: accepted


def test_a_busy_answer_is_a_503_with_retry_after(monkeypatch):
    monkeypatch.setattr(turns, "MAX_JOBS", 0)
    r = TestClient(web.create_app()).post("/api/sweep", json={"lrs": [0.1], "steps": 10})
    assert r.status_code == 503 and r.json()["detail"].startswith("busy:") and int(r.headers["retry-after"]) >= 1


HEAVY = {"objective": {"kind": "dataset", "dataset": "digits", "model": "softmax"}, "lrs": [0.01, 0.1, 1.0],
         "steps": 150}


def test_the_worker_process_answers_heavy_requests_as_the_server_would(monkeypatch):
    monkeypatch.setattr(web, "LIGHT_SECONDS", 0.0)             # every request is heavy: all go to the worker
    inline = TestClient(web.create_app()).post("/api/sweep", json=HEAVY)
    app = web.create_app()
    with TestClient(app) as client:                            # the lifespan starts the worker process
        assert app.state.worker.running
        r = client.post("/api/sweep", json=HEAVY)
        mistake = client.post("/api/sweep", json={**HEAVY, "optimizer": {"name": "adam", "params": {"beta1": 2}}})
        find = client.post("/api/find", json={"objective": {"kind": "formula", "formula": "-x**2"}})
    assert not app.state.worker.running                        # stopped with the server
    assert r.status_code == 200 and inline.status_code == 200
    a, b = r.json(), inline.json()
    assert [c["verdict"]["kind"] for c in a["configs"]] == [c["verdict"]["kind"] for c in b["configs"]]
    np.testing.assert_allclose([c["loss"][-1] for c in a["configs"]], [c["loss"][-1] for c in b["configs"]],
                               rtol=1e-6)
    assert mistake.status_code == 422 and "beta1" in mistake.json()["detail"]
    assert find.status_code == 422 and "fell without limit" in find.json()["detail"]

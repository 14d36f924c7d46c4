"""The explorer's API (FastAPI): it validates a plan, calls the core, and returns what the page draws.

Endpoints: ``GET /`` the page, ``GET /api/options`` what can be chosen, ``POST /api/sweep`` curves + verdicts + theory
+ the landscape, ``POST /api/find`` the LR range test. Every request's cost is bounded before it starts (a step's
cost is measured on its objective; too much is a 422 that says what to change) and while it runs: the numerical
work runs in a worker thread that stops when the client disconnects or the request's computing time passes its limit
(a 503 with the reason). Requests take fair turns at the work (:mod:`.turns`): a light one is never stuck behind a
heavy one, a busy server says so and when to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import sys
import threading
from importlib import resources
from typing import Literal

import anyio
import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from .. import __version__, objectives, plan
from ..api import safe_analysis, sweep
from ..checks import is_input_error
from ..diagnose import Kind
from ..finder import find
from ..finder.range_test import ramp_steps
from ..jsonable import numbers
from ..plots import RATE_COLORS, VERDICT_COLORS, VERDICT_DASH, numerical_minimizer, window
from ..run import full_loss_every, run, seconds_per_step
from ..schedules import Schedule
from ..theory import error_factor
from . import turns, worker
from .contours import contour_map

LOG = logging.getLogger("lrscope.web")

MAX_CONFIGS = 32
MAX_STEPS = 5000
REQUEST_SECONDS = 10.0      # a request's computing time limit (waiting not counted): past it, stopped with a 503
WORK_SHARE = 0.5            # a request is refused up front when its run alone is estimated at more than this share
LIGHT_SECONDS = 0.05        # a request estimated at more is computed in the worker process (.worker)
ANALYSIS_SECONDS = 2.0      # the curvature analysis (advice only) gives up after this long
MAX_POINTS = 160            # points per curve sent to the page (a chart is ~600 px wide: one point per ~4 px)
TABLE_STEPS = 12
FULL_LOSSES = 50            # a mini-batch run on a big data set records the full loss at most this often

BUILTIN_DEFAULTS = {
    "x2": {"label": "x² (the course example)", "x0": [10.0], "lrs": [0.001, 0.1, 0.5, 1.1]},
    "quadratic": {"label": "quadratic bowl, condition 10", "x0": [10.0, 10.0], "lrs": [0.01, 0.1, 0.18, 0.21]},
    "rosenbrock": {"label": "Rosenbrock valley", "x0": [-1.2, 1.0], "lrs": [1e-4, 1e-3, 2e-3, 5e-3]},
    "beale": {"label": "Beale", "x0": [1.0, 1.0], "lrs": [1e-3, 1e-2, 3e-2, 1e-1]},
    "himmelblau": {"label": "Himmelblau (four minima)", "x0": [0.0, 0.0], "lrs": [1e-3, 1e-2, 2e-2, 5e-2]},
    "saddle": {"label": "saddle ½x² + ¼y⁴ − ½y²", "x0": [2.0, 0.01], "lrs": [0.01, 0.1, 0.5, 2.5]},
}
FIELD_NAMES = {"objective": "objective.name", "kind": "objective.kind", "x0": "objective.x0",
               "formula": "objective.formula", "dataset": "objective.dataset", "model": "objective.model",
               "optimizer": "optimizer.name", "schedule": "schedule.name", "schedule_params": "schedule.params",
               "warmup": "schedule.warmup"}


class ObjectiveSpec(BaseModel):
    kind: Literal["builtin", "formula", "dataset"] = "builtin"
    name: str = Field("x2", max_length=40)
    formula: str | None = Field(None, max_length=500)
    x0: list[float] | None = Field(None, max_length=20)
    dataset: str | None = Field(None, max_length=40)
    model: str | None = Field(None, max_length=40)
    standardize: bool = True


class OptimizerSpec(BaseModel):
    name: str = Field("gd", max_length=20)
    # a list sweeps a hyperparameter that takes one value per configuration (β = 0, 0.9, 0.99: every α with each)
    params: dict[str, float | bool | str | list[float]] = Field(default_factory=dict, max_length=10)


class ScheduleSpec(BaseModel):
    name: str = Field("constant", max_length=30)
    params: dict[str, float | int | bool | str] = Field(default_factory=dict, max_length=10)
    warmup: int | None = Field(None, ge=1, le=MAX_STEPS)


class SweepRequest(BaseModel):
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    schedule: ScheduleSpec | None = None
    lrs: list[float] = Field(default_factory=lambda: [0.001, 0.1, 1.1], min_length=1)
    steps: int = Field(100, ge=1)
    batch_size: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0, le=2**31)
    landscape: bool = True
    landscape_frame: list[float] | None = Field(None, min_length=4, max_length=4)    # the map the page already has
    compare_constant: bool = False      # with a schedule: the same rates at a constant α too (what it changes)
    compare_optimizer: OptimizerSpec | None = None     # the same rates with another method too


class FindRequest(BaseModel):
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    batch_size: int | None = Field(None, ge=1)
    steps: int | None = Field(None, ge=5, le=1000)    # the ramp (default 100; fewer with a short budget)
    budget: int | None = Field(None, ge=1, le=MAX_STEPS // 2)     # the steps the learner will train for
    schedule: ScheduleSpec | None = None       # the schedule the learner trains with: its peak is verified
    seed: int = Field(0, ge=0, le=2**31)


def _bad(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


def field_name(field: str) -> str:
    """A plan field as the request names it: ``hyperparams.beta`` is ``optimizer.params.beta``."""
    group, dot, name = field.partition(".")
    if dot and group == "hyperparams":
        return f"optimizer.params.{name}"
    if dot and group == "schedule_params":
        return f"schedule.params.{name}"
    return FIELD_NAMES.get(field, field)


def request_plan(objective: "ObjectiveSpec", optimizer: "OptimizerSpec", schedule: "ScheduleSpec | None" = None,
                 **rest) -> plan.Plan:
    """The plan a request describes (the request's fields are the plan's, grouped as the page sends them)."""
    if objective.kind == "dataset":
        if not objective.dataset:
            raise _bad("objective.dataset: choose a data set")
        if objective.model in plan.TORCH_MODELS:
            raise _bad(f"objective.model: {objective.model} is not available in the explorer; choose one of "
                       f"{', '.join(objectives.datasets.MODELS)}")
        where = {"dataset": objective.dataset, "model": objective.model or None,
                 "standardize": objective.standardize}
    else:
        text = objective.formula if objective.kind == "formula" else objective.name
        if objective.kind == "formula" and not text:
            raise _bad("objective.formula: type a formula, e.g. x**2 + 10*y**2")
        where = {"objective": text, "kind": objective.kind, "x0": objective.x0}
    timing = {} if schedule is None else {"schedule": schedule.name, "schedule_params": schedule.params,
                                          "warmup": schedule.warmup}
    # JSON has types: a boolean takes true or false and a number a number, not text (the command line reads text)
    return plan.Plan(**where, optimizer=optimizer.name, hyperparams=optimizer.params, **timing, **rest, text=False)


def objective_key(description: plan.Plan) -> str:
    """What identifies a request's objective and start point (the key of the caches below)."""
    return json.dumps({f: getattr(description, f) for f in plan.OBJECTIVE_FIELDS}, sort_keys=True, default=list)


@functools.lru_cache(maxsize=32)
def cached_objective(key: str):
    """Objectives are built once per (objective, start point): a data set is loaded and standardized once, a
    formula parsed and differentiated once."""
    return plan.build_objective(plan.Plan(**json.loads(key)))


_ANALYSES: dict = {}
_ANALYSES_LOCK = threading.Lock()


def cached_analysis(key: str, check=None):
    """The curvature (L, μ, the bounds) is measured once per (objective, start point), within its time budget;
    (analysis or None, note or None). ``check()`` is called as it is measured: a request's turn and cancellation
    (an analysis stopped that way is not kept)."""
    found = _ANALYSES.get(key)
    if found is None:
        found = safe_analysis(cached_objective(key), ANALYSIS_SECONDS, check)
        with _ANALYSES_LOCK:
            if len(_ANALYSES) >= 32:
                _ANALYSES.pop(next(iter(_ANALYSES)))
            _ANALYSES[key] = found
    return found


_STEP_COSTS: dict = {}


def step_cost(obj, k: int, batch_size: int | None) -> float:
    """A step's cost on ``obj`` (:func:`~lrscope.run.seconds_per_step`: this thread's CPU time), the least measured
    so far: a request accepted on an idle server is accepted on a busy one too."""
    key = (id(obj), k, batch_size)
    cost = seconds_per_step(obj, k, batch_size)
    if key in _STEP_COSTS and _STEP_COSTS[key][0] is obj:      # the objective is kept: its id stays its own
        cost = min(cost, _STEP_COSTS[key][1])
    elif len(_STEP_COSTS) >= 256:
        _STEP_COSTS.clear()
    _STEP_COSTS[key] = (obj, cost)
    return cost


def check_bounds(obj, k: int, steps: int, batch_size: int | None, runs: float = 1.0) -> float:
    """Refuse requests too big to answer in time, saying which bound they exceed and what to change (a step's cost
    is measured on this objective, not guessed from its size); the estimated seconds otherwise. ``runs``: how many
    times the request trains its ``k`` × ``steps`` (a comparison run beside the sweep, the range test's rounds) --
    it counts in the time estimate, not against the limits the learner set."""
    if k > MAX_CONFIGS:
        raise _bad(f"lrs: at most {MAX_CONFIGS} learning rates per request, got {k}")
    if steps > MAX_STEPS:
        raise _bad(f"steps: at most {MAX_STEPS}, got {steps}")
    if batch_size is not None and obj.n_samples is not None and batch_size > obj.n_samples:
        raise _bad(f"batch_size: {batch_size} is larger than the data set ({obj.n_samples} samples)")
    per_step = step_cost(obj, k, batch_size)
    estimate = per_step * steps * runs
    if estimate > WORK_SHARE * REQUEST_SECONDS:
        again = "" if runs == 1 else f" (× {runs:g} with the comparison)"
        raise _bad(f"work: {k} rates × {steps} steps{again} at {per_step * 1e3:.2g} ms a step would take about "
                   f"{estimate:.2g} s, more than a request may ({WORK_SHARE * REQUEST_SECONDS:g} s): use fewer "
                   f"steps or rates, or a smaller batch")
    return estimate


_THREADS: dict = {}


def _threads() -> anyio.CapacityLimiter:
    """Worker threads for the admitted requests, per event loop (a limiter belongs to the loop it was made in):
    as many as may be admitted, so a request never waits for a thread, and the default pool stays free for the
    page's files."""
    loop = asyncio.get_running_loop()
    if loop not in _THREADS:
        _THREADS.clear()
        _THREADS[loop] = anyio.CapacityLimiter(turns.MAX_JOBS)
    return _THREADS[loop]


def user_of(request: Request) -> str:
    """Who sent a request, for fair turns: the page's own id (``X-Lrscope-Client``, one per browser tab) at the
    client's address."""
    host = request.client.host if request.client else "?"
    return f"{host}/{request.headers.get('x-lrscope-client', '')[:64]}"


@contextlib.asynccontextmanager
async def watching(request: Request, on_gone):
    """``async with watching(request, on_gone)``: ``on_gone()`` is called if the client disconnects meanwhile."""
    async def watch():
        while not await request.is_disconnected():
            await anyio.sleep(0.25)
        on_gone()

    watcher = asyncio.ensure_future(watch())
    try:
        yield
    finally:
        watcher.cancel()


async def answer(app: FastAPI, request: Request, kind: str, req: BaseModel) -> Response:
    """A request's work (``WORK[kind]``), in a thread of this process when its turn comes -- or, when it is
    estimated heavier than ``LIGHT_SECONDS`` and the worker process runs, there; stopped when the client goes."""
    user, worker = user_of(request), app.state.worker
    job = app.state.turns.admit(user, REQUEST_SECONDS, light=LIGHT_SECONDS if worker.started else None)

    def cancel():
        job.cancelled = "the client went away"

    try:
        async with watching(request, cancel):
            return await anyio.to_thread.run_sync(job.turns.run, job, functools.partial(WORK[kind][1], req, job),
                                                  limiter=_threads())
    except turns.Heavy:
        return await worker.answer(kind, req.model_dump_json(), user, functools.partial(watching, request))


def _thin(n: int) -> np.ndarray:
    """Indices of at most MAX_POINTS steps out of n, first and last included."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.r_[np.linspace(0, n - 1, MAX_POINTS).astype(int), n - 1])


def _clean(a, digits: int = 7) -> list:
    """Numbers for the page: 7 significant digits (it draws, it does not compute), null where not finite."""
    return numbers(a, digits)


FIRST_ITERATES = 3          # a 1-D picture holds each run's first 3 steps (x² from 10 at α = 1.1: -12, 14.4, -17.28)


def _with_first_iterates(lo, hi, first):
    """The frame [lo, hi] widened to hold the finite first iterates -- those within 4 widths of it (one run far
    out must not shrink the others to a dot)."""
    width = float(hi[0] - lo[0])
    near = first[np.isfinite(first) & (first >= lo[0] - 4 * width) & (first <= hi[0] + 4 * width)]
    if not near.size:
        return lo, hi
    pad = 0.05 * (max(hi[0], near.max()) - min(lo[0], near.min()))
    return (np.minimum(lo, near.min() - pad * (near.min() < lo[0])),
            np.maximum(hi, near.max() + pad * (near.max() > hi[0])))


def landscape(obj, res, frame=None) -> dict | None:
    """What to draw the paths on: f(x) for one parameter, labelled contour lines for two -- or, when the page's map
    ``frame`` ([x_lo, x_hi, y_lo, y_hi]) still holds what should be seen and is not far too wide for it,
    ``{"kind": "same"}``: the page keeps its map (a slider move does not recompute and resend its lines)."""
    if res.params is None or obj.dim > 2:
        return None
    shown = res.params if obj.dim == 2 else res.params[:, :TABLE_STEPS]     # 1-D: the first iterates are drawn
    settled = [k for k, v in enumerate(res.verdicts) if v.kind not in (Kind.DIVERGED, Kind.UNBOUNDED)]
    found = None if obj.minimizer is not None or obj.dim != 2 else numerical_minimizer(obj)
    minimizer = obj.minimizer if obj.minimizer is not None else found
    # the frame holds the start, the minimum and the paths that stay; a diverging path is clipped, with an arrow
    lo, hi = window(obj, shown[settled] if settled else shown[:, :1], minimizer)
    if obj.dim == 1:        # the course's picture: every run's first FIRST_ITERATES steps, a diverging one's too
        lo, hi = _with_first_iterates(lo, hi, res.params[:, 1:FIRST_ITERATES + 1, 0])
    star = {"minimizer": None if minimizer is None else _clean(minimizer), "minimizer_found": found is not None}
    if frame is not None and obj.dim == 2 and all(np.isfinite(frame)):
        f_lo, f_hi = np.array(frame[::2]), np.array(frame[1::2])
        inside = np.all(f_lo <= lo) and np.all(hi <= f_hi)
        if inside and np.prod(f_hi - f_lo) <= 16 * np.prod(hi - lo):
            return {"kind": "same", **star}
    if obj.dim == 1:
        xs = np.linspace(lo[0], hi[0], 300)
        with np.errstate(all="ignore"):
            return {"kind": "curve", "x": _clean(xs), "f": _clean(obj.value(xs[:, None]))}
    base = obj.minimum                      # the lowest loss: the contour labels read as the loss above it
    if base is None and minimizer is not None:
        base = float(obj.value(np.asarray(minimizer, dtype=np.float64)[None])[0])
    return {**contour_map(obj, lo, hi, base), **star}


def contraction_curve(a, lrs, limit) -> dict | None:
    """Gradient descent's error factor per step max|1−αλ| over a log range of α around the swept ones, the
    bound and the optimum (what the theory chart draws); None where there is no positive curvature."""
    if not a.L > 0:
        return None
    xs = _rate_axis(lrs, limit, a.optimal)
    return {"lr": _clean(xs), "factor": _clean(a.contraction(xs))}


def _rate_axis(*marks) -> np.ndarray:
    """The theory chart's α axis: a log range from a tenth of the smallest mark (rates, bounds) to 3× the largest."""
    xs = [x for m in marks if m is not None for x in np.ravel(m) if np.isfinite(x) and x > 0]
    top = max(xs)
    return np.geomspace(min(xs) / 10, top * 3 if top < 1e300 else top, 201)     # a rate of 1e308: no overflow


def momentum_curves(a, kind, lrs, beta, dampening, limits) -> list | None:
    """For momentum kinds, the error factor per step over a log range of α for each distinct (β, dampening) of
    the sweep (what the theory chart draws, one curve per β); None for gradient descent (``contraction_curve``) and
    adaptive methods."""
    if kind not in ("heavy_ball", "ema_momentum", "nesterov") or not a.L > 0 or limits is None:
        return None
    xs = _rate_axis(lrs, limits)
    out, seen = [], set()
    for k, (b, t) in enumerate(zip(beta, dampening)):
        if (b, t) in seen:
            continue
        seen.add((b, t))
        out.append({"config": k, "lr": _clean(xs), "factor": _clean(error_factor(kind, xs, a.mu, a.L, b, t))})
    return out


def _rows(a, digits: int = 7) -> list:
    """The rows of a 2-D array as lists of numbers (one conversion for all of them: a request has many)."""
    a = np.asarray(a)
    flat = _clean(a, digits)
    width = a.shape[1] if a.ndim == 2 else 0
    return [flat[i * width:(i + 1) * width] for i in range(a.shape[0])]


def sweep_payload(obj, res) -> dict:
    """The page's answer: per configuration its loss curve (at most ``MAX_POINTS`` steps), α at each update, the
    verdict, the path (up to two parameters), the first steps' table, the mini-batch losses (stochastic runs) and
    the gradient norms (more than two parameters, where there is no map); the theory."""
    idx = _thin(res.steps + 1)
    losses = _rows(res.losses[:, idx])
    updates = idx[idx < res.steps]                  # the steps an update was made at (α_t, ‖∇L‖, batch loss)
    lr_used = _rows(res.lr_used[:, updates], 5)
    batch = None if res.batch_losses is None else _rows(res.batch_losses[:, updates], 5)
    gnorm = _rows(res.grad_norms[:, updates], 5) if obj.dim > 2 else None      # drawn where there is no map
    finals, bests = _clean(res.final_losses), _clean(res.best_losses)
    drawn = res.params is not None and obj.dim <= 2
    paths = [_rows(res.params[:, idx, i], 5) for i in range(obj.dim)] if drawn else None     # drawn, not read
    if res.params is not None:
        n, width = min(TABLE_STEPS, res.steps + 1), min(obj.dim, 4)
        table_x = _rows(res.params[:, :n, :width].reshape(res.K, n * width), 10)
        # the full loss where it was evaluated (a big data set's mini-batch run: every few steps), else "—"
        evaluated = np.arange(n) % max(1, res.eval_every) == 0
        table_loss = _rows(np.where(evaluated, res.losses[:, :n], np.nan), 10)
    configs = []
    for k in range(res.K):
        entry = {"lr": float(res.lrs[k]), "hyperparams": res.config(k), "loss": losses[k], "lr_used": lr_used[k],
                 "final_loss": finals[k], "best_loss": bests[k],
                 "diverged_at": None if res.diverged_at[k] < 0 else int(res.diverged_at[k]),
                 "verdict": res.verdicts[k].to_dict()}
        if drawn:
            entry["path"] = [p[k] for p in paths]
        if batch is not None:
            entry["batch_loss"] = batch[k]
        if gnorm is not None:
            entry["grad_norm"] = gnorm[k]
        if res.params is not None:
            entry["table"] = [[t, loss, table_x[k][t * width:(t + 1) * width]] for t, loss in enumerate(table_loss[k])]
        configs.append(entry)
    a = res.analysis
    th = None
    if a is not None:
        limit = a.stability_limit(res.optimizer)
        kind, hp = res.optimizer.kind, res.optimizer.hyperparams
        per = lambda v: np.broadcast_to(np.asarray(v, dtype=np.float64), (res.K,))     # noqa: E731
        beta, dampening = per(hp.get("beta", 0.0)), per(hp.get("dampening", 0.0))
        limits = None if limit is None else np.broadcast_to(np.asarray(limit, dtype=np.float64), (res.K,))
        th = {**a.to_dict(), "limit": None if limit is None else _clean(np.ravel(limit))[0],
              "contraction": _clean(a.contraction(res.lrs)), "optimizer_kind": kind,
              "curve": contraction_curve(a, res.lrs, limit), "explain": a.explain(res.optimizer),
              # each configuration's own: a β sweep at one α is as many factors and bounds as β values
              "limits": None if limits is None else _clean(limits),
              "factors": _clean(error_factor(kind, res.lrs, a.mu, a.L, beta, dampening)),
              "curves": momentum_curves(a, kind, res.lrs, beta, dampening, limits)}
    return {"objective": obj.name, "variables": list(obj.variables), "dim": obj.dim, "steps": res.steps,
            "step_index": idx.tolist(),
            "optimizer": repr(res.optimizer), "configs": configs, "theory": th, "notes": res.notes,
            "minimum": obj.minimum, "minimizer": None if obj.minimizer is None else _clean(obj.minimizer)}


def _json(payload: dict) -> Response:
    """Serialize once with the standard library (FastAPI's generic encoder walks every number: 2× slower)."""
    return Response(json.dumps(payload, separators=(",", ":"), allow_nan=False), media_type="application/json")


def one_blas_thread() -> None:
    """A server answers many requests at once: each one's matrix products on one core (BLAS would otherwise spread
    one heavy request over every core and starve the others). Nothing to do without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn (web extra) brings it
        return
    threadpool_limits(1)


@contextlib.asynccontextmanager
async def lifespan(app):
    one_blas_thread()
    # the event loop (the page's files, every answer) needs the GIL while a light request computes in a thread:
    # handed over every 0.2 ms rather than every 5 (Python's default), a page load is not stretched by it
    # (docs/reliability.md, "A class on one server")
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:        # scikit-learn's import (0.7 s here) at start, not on a learner's first data-set request
        import sklearn.datasets  # noqa: F401
    except ImportError:  # pragma: no cover - the web extra brings it
        pass
    try:
        app.state.worker.start()
    except OSError as exc:      # no second process here: every request computes in this one, as fairly
        LOG.warning("lrscope: no worker process (%s); heavy requests compute in the server's process", exc)
    try:
        yield
    finally:
        app.state.worker.stop()
        sys.setswitchinterval(switch)       # the process's own again (a test's server leaves it as it was)


def sweep_work(req: SweepRequest, work: turns.Job) -> Response:
    """``POST /api/sweep``'s numerical work: the curves, verdicts, theory and landscape as the page draws them."""
    description = request_plan(req.objective, req.optimizer, req.schedule, lrs=req.lrs, steps=req.steps,
                                batch_size=req.batch_size, seed=req.seed)
    key = objective_key(description)
    setup = plan.build(description, objective=cached_objective(key))
    obj = setup.objective
    # beside the sweep, for comparison (loss curves only): the same rates without the schedule, or with
    # another method -- (payload key, rates, optimizer, run options)
    beside = []
    if req.compare_constant and setup.schedule is not None:
        beside.append(("constant", setup.lrs, setup.optimizer, {**setup.run_options(), "schedule": None}))
    if req.compare_optimizer is not None:       # its hyperparameters are named as compare_optimizer's
        try:
            other = plan.build(request_plan(req.objective, req.compare_optimizer, req.schedule, lrs=req.lrs,
                                            steps=req.steps, batch_size=req.batch_size, seed=req.seed),
                               objective=obj)
        except plan.PlanError as e:
            raise _bad("compare_optimizer." + field_name(e.field).removeprefix("optimizer.") + ": "
                       + e.message) from None
        beside.append(("compared", other.lrs, other.optimizer, other.run_options()))
    runs = 1 + sum(lrs.size for _, lrs, _, _ in beside) / setup.lrs.size
    work.expect(check_bounds(obj, setup.lrs.size, req.steps, req.batch_size, runs=runs))
    analysis, note = cached_analysis(key, work.check)
    every = full_loss_every(obj, setup.lrs.size, setup.steps, req.batch_size, at_most=FULL_LOSSES)
    res = sweep(obj, lrs=setup.lrs, optimizer=setup.optimizer, progress=work.check, analysis=analysis,
                analyze=False, eval_every=every, **setup.run_options())
    if note:
        res.notes.append(note)
    work.check()
    with np.errstate(over="ignore", invalid="ignore"):     # a rate near 1e308: factors of inf, no log noise
        payload = sweep_payload(obj, res)
    for name, lrs, optimizer, options in beside:
        more = run(obj, lrs=lrs, optimizer=optimizer, progress=work.check, eval_every=every,
                   keep_params=False, **options)
        curves = _rows(more.losses[:, _thin(more.steps + 1)])
        payload[name] = curves if name == "constant" else {"optimizer": req.compare_optimizer.name,
                                                           "lrs": _clean(lrs), "loss": curves}
    payload["landscape"] = landscape(obj, res, req.landscape_frame) if req.landscape else None
    return _json(payload)


def find_work(req: FindRequest, work: turns.Job) -> Response:
    """``POST /api/find``'s numerical work: the range test and its verified pick."""
    description = request_plan(req.objective, req.optimizer, req.schedule)
    setup = plan.build(description, objective=cached_objective(objective_key(description)))
    obj = setup.objective
    # a schedule of the step is verified (its peak); reduce-on-plateau reads the loss: a constant rate
    verified = (setup.schedule if isinstance(setup.schedule, Schedule) and setup.schedule.name != "constant"
                else None)
    estimate = check_bounds(obj, 12, ramp_steps(req.steps, req.budget), req.batch_size, runs=2)   # ~12 candidates
    if req.budget is not None:      # with a budget: at most about twice it
        estimate += check_bounds(obj, 1, req.budget, req.batch_size, runs=2)
    work.expect(estimate)
    res = find(obj, setup.optimizer, steps=req.steps, batch_size=req.batch_size, budget=req.budget,
               seed=req.seed, progress=work.check, analysis_seconds=min(ANALYSIS_SECONDS, work.left()),
               schedule=verified)
    out = res.to_dict()
    out["band"] = [_clean(res.band[0]), _clean(res.band[1])]
    return _json(out)


WORK = {"sweep": (SweepRequest, sweep_work), "find": (FindRequest, find_work)}   # what the worker process can run


def error_answer(exc: Exception, path: str) -> tuple[int, str, dict]:
    """The answer to a request that raised ``exc``: (status, detail, headers). A mistake in the request is a 422
    naming its field; a request stopped or a busy server a 503 (with ``Retry-After``); anything else is a bug in
    lrscope: a 500, its traceback in the server's log."""
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail), {}
    if isinstance(exc, plan.PlanError):         # named as the request names the field
        return 422, f"{field_name(exc.field)}: {exc.message}", {}
    if isinstance(exc, turns.Aborted):
        return 503, str(exc), {"Retry-After": str(exc.retry_after)} if isinstance(exc, turns.Busy) else {}
    if isinstance(exc, (ValueError, TypeError)) and is_input_error(exc):   # the core names the argument
        head, sep, rest = str(exc).partition(":")
        return 422, f"{field_name(head)}:{rest}" if sep else str(exc), {}
    LOG.error("internal error on %s", path, exc_info=exc)
    return 500, f"internal error (a bug in lrscope, logged on the server): {type(exc).__name__}", {}


def create_app() -> FastAPI:
    app = FastAPI(title="lrscope explorer", version=__version__, lifespan=lifespan)
    static = resources.files("lrscope.web") / "static"

    app.state.turns = turns.Turns(user_weight=0.0)   # light work, here: the least computed first
    app.state.worker = worker.Worker()      # heavy work, in another (started with the server: see lifespan)

    @app.exception_handler(plan.PlanError)
    @app.exception_handler(ValueError)
    @app.exception_handler(TypeError)
    @app.exception_handler(turns.Aborted)
    def known_error(request, exc):
        status, detail, headers = error_answer(exc, request.url.path)
        return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)

    @app.exception_handler(RequestValidationError)
    def request_error(request, exc):        # one line per field, not pydantic's records
        def where(loc):
            return ".".join(str(part) for part in loc[1:]) or "body"
        return JSONResponse(status_code=422, content={"detail": "; ".join(
            f"{where(e['loc'])}: {e['msg']}" for e in exc.errors())})

    # the page and its files, read once and answered on the event loop (no worker thread: a page loads at once
    # while requests compute)
    page, style = ((static / name).read_text(encoding="utf-8") for name in ("index.html", "style.css"))
    modules = {f.name: f.read_text(encoding="utf-8") for f in (static / "js").iterdir() if f.name.endswith(".js")}
    main_script = '<script type="module" src="/static/js/main.js"></script>'
    page = page.replace(main_script, "".join(       # every module asked for at once, not import by import
        f'<link rel="modulepreload" href="/static/js/{name}">\n' for name in sorted(modules)) + main_script)

    @app.get("/", response_class=HTMLResponse)
    async def index():
        return HTMLResponse(page)

    @app.get("/static/{name}")
    async def static_file(name: str):
        if name == "plotly.min.js":
            import plotly
            return FileResponse(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"),
                                media_type="application/javascript")
        if name != "style.css":
            raise HTTPException(status_code=404, detail="not found")
        return HTMLResponse(style, media_type="text/css")

    @app.get("/static/js/{name}")
    async def module_file(name: str):
        if name not in modules:
            raise HTTPException(status_code=404, detail="not found")
        return Response(modules[name], media_type="text/javascript")

    @app.get("/favicon.ico")
    async def favicon():
        return HTMLResponse(status_code=204)

    @app.get("/api/options")
    async def options():
        return Response(options_body, media_type="application/json")

    def _options() -> dict:
        def catalogue(table):
            return {name: {key: option.to_dict() for key, option in opts.items()} for name, opts in table.items()}
        schedules = {name: opts for name, opts in plan.SCHEDULES.items() if name != "warmup"}   # its own control
        return {"builtins": BUILTIN_DEFAULTS, "datasets": {k: v[1] for k, v in objectives.DATASETS.items()},
                "models": list(objectives.datasets.MODELS), "optimizers": catalogue(plan.OPTIMIZERS),
                "schedules": catalogue(schedules), "verdict_colors": VERDICT_COLORS, "rate_colors": RATE_COLORS,
                "verdict_dash": VERDICT_DASH,
                "limits": {"configs": MAX_CONFIGS, "steps": MAX_STEPS, "formula_length": 500,
                           "seconds": REQUEST_SECONDS},
                "version": __version__}

    options_body = json.dumps(_options()).encode()      # built once: it never changes while the server runs

    @app.post("/api/sweep")
    async def api_sweep(req: SweepRequest, request: Request):
        if len(req.lrs) > MAX_CONFIGS:      # before anything is built
            raise _bad(f"lrs: at most {MAX_CONFIGS} learning rates per request, got {len(req.lrs)}")
        return await answer(app, request, "sweep", req)

    @app.post("/api/find")
    async def api_find(req: FindRequest, request: Request):
        return await answer(app, request, "find", req)

    return app


app = create_app()

"""Heavy requests computed in a second process, so the server's own stays free for the page and light requests.

Python runs one thread at a time per process: a long run in a worker thread would slow every page load and every
light request beside it, however fairly turns are given. A request estimated heavier than ``LIGHT_SECONDS``
(:func:`.app.answer`) is sent to this process instead, where the heavy requests take fair turns among themselves
(:mod:`.turns`). Messages over a pipe: ``("run", id, kind, body, user)`` and ``("cancel", id)`` in; ``(id, status,
body, headers)`` out. The server starts it (``lifespan``); if it stops, the requests it held are answered with a 503
and it is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import multiprocessing
import threading

from starlette.responses import Response

STOPPED = (503, json.dumps({"detail": "busy: the server's worker process stopped and is starting again; try "
                                      "again in about 5 s"}).encode(), {"Retry-After": "5"})


class Worker:
    """The server's side of the worker process: send a request's work, await its answer."""

    def __init__(self):
        self.process, self.conn, self.started = None, None, False
        self.pending: dict[int, tuple] = {}         # id -> (event loop, future, the connection it was sent on)
        self.ids = itertools.count()
        self.lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")      # a fresh interpreter: nothing of the server's threads
        ours, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs,), daemon=True, name="lrscope-worker")
        self.process.start()
        theirs.close()
        self.conn, self.started = ours, True
        threading.Thread(target=self._read, args=(ours,), daemon=True, name="lrscope-worker-answers").start()

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self._send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
        self.process, self.started = None, False

    def _send(self, message) -> None:
        with self.lock:
            self.conn.send(message)

    def _read(self, conn) -> None:
        """Answers from the process, handed to the request that waits for each; when it stops, a 503 to all."""
        while True:
            try:
                number, *answer = conn.recv()
            except (EOFError, OSError):
                break
            self._resolve(number, tuple(answer))
        for number in [n for n, (_, _, sent) in list(self.pending.items()) if sent is conn]:    # not a restart's
            self._resolve(number, STOPPED)

    def _resolve(self, number: int, answer: tuple) -> None:
        loop, future, _ = self.pending.pop(number, (None, None, None))
        if future is not None:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(answer))

    async def answer(self, kind: str, body: str, user: str, watching) -> Response:
        """The worker's answer to a request (``kind``: a key of :data:`.app.WORK`, ``body``: its JSON);
        ``watching(on_gone)``: an async context manager that calls ``on_gone()`` if the client goes away."""
        if self.started and not self.running:
            self.start()
        number = next(self.ids)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending[number] = (loop, future, self.conn)

        def cancel():
            with contextlib.suppress(OSError):      # the process gone too: nothing left to stop
                self._send(("cancel", number))

        try:
            self._send(("run", number, kind, body, user))
            async with watching(cancel):
                status, payload, headers = await future
        except OSError:
            status, payload, headers = STOPPED
        finally:
            self.pending.pop(number, None)
        return Response(payload, status_code=status, media_type="application/json", headers=headers)


def serve(conn) -> None:
    """The worker process: each request's work in a thread of its own, taking fair turns; answers sent back."""
    from . import app as web
    from . import turns

    web.one_blas_thread()
    queue, jobs, cancelled, lock = turns.Turns(), {}, set(), threading.Lock()

    def send(message):
        with lock:
            conn.send(message)

    def handle(number, kind, body, user):
        model, work = web.WORK[kind]
        try:
            job = queue.admit(user, web.REQUEST_SECONDS)
            jobs[number] = job
            if number in cancelled:
                job.cancelled = "the client went away"
            response = queue.run(job, lambda: work(model.model_validate_json(body), job))
            send((number, 200, response.body, {}))
        except Exception as exc:        # answered as the server answers it: 422, 503 or a logged 500
            status, detail, headers = web.error_answer(exc, f"/api/{kind}")
            send((number, status, json.dumps({"detail": detail}).encode(), headers))
        finally:
            jobs.pop(number, None)
            cancelled.discard(number)

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "run":
            threading.Thread(target=handle, args=message[1:], daemon=True).start()
        elif message[0] == "cancel":
            if len(cancelled) > 1000:        # cancels of requests already answered
                cancelled.clear()
            cancelled.add(message[1])
            if message[1] in jobs:
                jobs[message[1]].cancelled = "the client went away"

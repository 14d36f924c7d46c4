"""The explorer on this machine, for the benchmarks and the documentation's screenshots: ``lrscope serve`` in a child
process on a free loopback port, and how they start headless Chromium."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request

# Debian's chromium, headless, touching nothing outside the page
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(seconds: float = 30.0):
    """``lrscope serve`` in a child process until the block ends; yields (its address, the process) once it answers
    (a ``RuntimeError`` if it does not within ``seconds``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "lrscope.cli", "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                urllib.request.urlopen(url + "/api/options", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"lrscope serve did not answer on {url} within {seconds:g} s") from None
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def serving(seconds: float = 30.0):
    """``lrscope serve`` in a child process until the block ends; yields its address once it answers."""
    with server(seconds) as (url, _):
        yield url

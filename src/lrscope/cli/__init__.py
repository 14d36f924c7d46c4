"""The ``lrscope`` command: a thin layer that turns options into a plan and shows what the library returns.

    lrscope demo                      the course examples, reproduced and explained
    lrscope sweep --objective "x**2" --x0 10 --lr 0.001,0.01,0.1,1.1 --steps 100 --plot curves.png
    lrscope bound --dataset diabetes --model linear
    lrscope find  --dataset breast_cancer --model logistic --plot range.png

``parser`` declares the options (once each), ``commands`` runs them, ``render`` shows the results. Every mistake on
the command line is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

from .. import __version__
from ..checks import is_input_error
from .commands import COMMANDS
from .parser import UsageError, as_option, attach_values, build_parser

COUNTS = ("steps", "epochs", "batch_size", "warmup", "seeds", "verify_steps", "final_steps", "budget")


def main(argv=None) -> int:
    parser = build_parser(COMMANDS)
    try:
        args = parser.parse_args(attach_values(parser, list(sys.argv[1:] if argv is None else argv)))
        if args.command is None:
            parser.print_help()
            return 0
        for option in COUNTS:
            value = getattr(args, option, None)
            if value is not None and value < 1:
                raise UsageError(f"--{option.replace('_', '-')}: must be >= 1, got {value}")
        return args.func(args)
    except UsageError as exc:
        print(f"lrscope: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        if not is_input_error(exc):
            return _bug(exc)
        print(f"lrscope: error: {as_option(str(exc).splitlines()[0])}", file=sys.stderr)
        return 2
    except ImportError as exc:          # an optional dependency the command needs (torch, ray ...)
        print(f"lrscope: error: {as_option(str(exc).splitlines()[0])}", file=sys.stderr)
        return 2
    except BrokenPipeError:             # `lrscope ... | head`: the reader left; say nothing more (128 + SIGPIPE)
        _stdout_to_devnull()
        return 141
    except OSError as exc:              # the output cannot be written (a full disk, /dev/full), or a named file
        _stdout_to_devnull()            # what is left in stdout's buffer would fail again at exit
        where = f"{exc.filename}: " if exc.filename else "cannot write the output: "
        print(f"lrscope: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2 if exc.filename else 1
    except KeyboardInterrupt:
        print("lrscope: interrupted", file=sys.stderr)
        return 130


def _bug(exc: BaseException) -> int:
    """An error that is not the user's (:func:`lrscope.checks.is_input_error`): one line that says so, and the
    traceback in a file to report."""
    try:
        fd, path = tempfile.mkstemp(prefix="lrscope-bug-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"lrscope {__version__}, python {sys.version.split()[0]}\n{' '.join(sys.argv)}\n\n")
            traceback.print_exception(exc, file=f)
        where = f"the traceback is in {path}"
    except OSError as err:              # no room for the report either: say so, still in one line
        where = f"its traceback could not be written ({err.strerror or err})"
    first = str(exc).splitlines()[0] if str(exc) else ""
    print(f"lrscope: internal error (a bug in lrscope, not in your command): {type(exc).__name__}: {first[:200]} -- "
          f"{where}; please report it", file=sys.stderr)
    return 70                           # EX_SOFTWARE


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what could not be written says nothing."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):      # no real file behind sys.stdout (tests, notebooks)
        pass


__all__ = ["main", "build_parser", "UsageError"]

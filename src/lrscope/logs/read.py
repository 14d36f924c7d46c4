"""Reading training logs into loss curves: a CSV/TSV file, TensorBoard event files, a Lightning ``CSVLogger`` folder,
a Hugging Face ``trainer_state.json`` -- or a folder holding several runs of any of them.

Every reader returns :class:`LoggedRun` objects: the training loss per step and, where the log has them, the
learning rate, the gradient norm and the validation loss, each as its own (steps, values) series (logs write them
at different steps). Quantities are found by their names (``train_loss``, ``loss``, ``train/loss``, ``lr``,
``learning_rate``, ``lr-Adam``, ``val_loss``, ``eval_loss``, ``grad_norm`` ...) or named by the caller. A log that
cannot be read is a :class:`LogError` naming the file and what is wrong with it, never a traceback.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import struct
import numpy as np

from ..checks import integer
from .series import LoggedRun, Series
from .thin import Pool

QUANTITIES = ("loss", "lr", "grad_norm", "val_loss")
# names tried in order, after normalizing (lower case, runs of non-alphanumerics -> '_')
KNOWN = {
    "loss": ("train_loss_step", "train_loss", "training_loss", "loss_train", "train_batch_loss", "batch_loss",
             "loss_step", "loss", "train_loss_epoch"),
    "val_loss": ("val_loss", "valid_loss", "validation_loss", "eval_loss", "loss_val", "loss_valid",
                 "loss_validation", "val_loss_epoch", "test_loss", "dev_loss"),
    "lr": ("lr", "learning_rate", "learningrate", "train_lr", "train_learning_rate", "lr_0", "learning_rate_0"),
    "grad_norm": ("grad_norm", "gradient_norm", "train_grad_norm", "grad_norm_total", "grad_2_0_norm_total"),
    "step": ("step", "global_step", "trainer_global_step", "iteration", "iter", "it", "steps", "batch", "_step",
             "epoch"),                   # Keras' CSVLogger writes one row per epoch: the epoch is its step
    "run": ("run", "run_id", "run_name", "trial", "trial_id", "experiment"),
}
HELD_OUT = ("val", "valid", "validation", "eval", "test", "dev")
TF_EVENTS = "tfevents"
MAX_RUNS = 200
MAX_ROWS = 50_000_000        # rows of a CSV/TSV (a 10⁶-step log is 1,000,000)
CHUNK = 1 << 16              # a table's cells become numbers this many rows at a time (memory bounded by the chunk)
LONG_CELL = 64               # a cell longer than this is converted on its own (NumPy's text arrays are as wide as
                             # their longest cell: one 3,000-character cell made a 3.6 MB file take 4.7 GB)
SNIFF_BYTES = 1 << 16
EVENT_BLOCK = 1 << 24        # bytes of an event file framed at a time


class LogError(ValueError):
    """A log that cannot be read: the message names the file and the problem, in one line."""


def _unreadable(where: str, exc: OSError) -> LogError:
    return LogError(f"{where}: cannot read it: {exc.strerror or exc}")


def normalize(name: str) -> str:
    """'train/loss' -> 'train_loss', 'lr-Adam' -> 'lr_adam', 'Loss/Train' -> 'loss_train'."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def pick_names(names: list, given: dict, where: str) -> dict:
    """Which of ``names`` (columns or tags) holds each quantity: ``given`` (quantity -> name) first, then the
    known names, then for the loss the one name that mentions a loss and no held-out split."""
    by_norm: dict = {}
    for n in names:
        by_norm.setdefault(normalize(n), n)
    out = {}
    for quantity, name in given.items():
        if name is None:
            continue
        if name not in names:
            hint = ", ".join(repr(n) for n in names[:12]) + (" ..." if len(names) > 12 else "")
            raise LogError(f"{where}: no column or tag {name!r} (--{quantity.replace('_', '-')}); it has {hint}")
        out[quantity] = name
    for quantity, candidates in KNOWN.items():
        if quantity in out:
            continue
        for c in candidates:
            if c in by_norm and by_norm[c] not in out.values():
                out[quantity] = by_norm[c]
                break
    if "lr" not in out:                          # Lightning's LearningRateMonitor: lr-SGD, lr-Adam, lr-AdamW/pg1
        rates = [n for n in names if re.match(r"^(lr|learning_rate)([_\-/].*)?$", n.strip().lower())]
        if rates:
            out["lr"] = sorted(rates)[0]
    if "loss" not in out:
        losses = [n for n in names if "loss" in normalize(n)
                  and not set(normalize(n).split("_")) & set(HELD_OUT)]
        if len(losses) == 1:
            out["loss"] = losses[0]
        elif len(losses) > 1:
            raise LogError(f"{where}: several loss columns ({', '.join(map(repr, losses))}): choose one with --loss")
    if "val_loss" not in out:
        held = [n for n in names if "loss" in normalize(n) and set(normalize(n).split("_")) & set(HELD_OUT)
                and n not in out.values()]
        if len(held) == 1:
            out["val_loss"] = held[0]
    return out


# -------------------------------------------------------------------------------------------------------- CSV / TSV
def _numbers(cells: list, what: str, where: str, first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells of text as floats: (mask of the non-empty cells, their values). A cell that is not a number is an
    error naming its row. NumPy converts them at once unless a cell is longer than ``LONG_CELL`` (its text array
    would be as wide as the longest cell); those, and a chunk NumPy cannot read, go one cell at a time."""
    if cells and max(map(len, cells)) <= LONG_CELL:
        text = np.array(cells, dtype=str)
        present = np.char.str_len(np.char.strip(text)) > 0
        try:
            return present, text[present].astype(np.float64)
        except ValueError:
            pass                                # find the cell that is not a number, one at a time
    present, values = [], []
    for i, cell in enumerate(cells):
        present.append(bool(cell.strip()))
        if present[-1]:
            try:
                values.append(float(cell))
            except ValueError:
                raise LogError(f"{where}: row {first_row + i}: {what} is not a number: {cell[:40]!r}") from None
    return np.array(present, dtype=bool), np.array(values, dtype=np.float64)


class _Chunks:
    """The wanted columns of one table as it is read: every ``CHUNK`` rows (:meth:`flush`) their cells become
    numbers and go to each run's series in ``pool`` -- memory bounded by the chunk and the pool, whatever the file's
    length or its longest cell. Rows without a step take the step of the row before them (Lightning writes none on
    some)."""

    def __init__(self, chosen: dict, where: str, pool: Pool):
        self.chosen, self.where, self.pool = chosen, where, pool
        self.text: dict = {q: [] for q in chosen}
        self.rows = 0
        self.last_step = math.nan
        self.codes: dict = {}                  # run name -> its number, in the order first seen
        self.series: dict = {}                 # (run number, quantity) -> Thinned

    def _what(self, q: str) -> str:
        return f"the step ({self.chosen[q]!r})" if q == "step" else f"{q.replace('_', ' ')} ({self.chosen[q]!r})"

    def _column(self, q: str) -> tuple[np.ndarray, np.ndarray]:
        """(whether each row's cell was filled, its value or NaN)."""
        present, values = _numbers(self.text[q], self._what(q), self.where, 2 + self.rows)
        full = np.full(present.size, np.nan)
        full[present] = values
        return present, full

    def flush(self) -> None:
        n = len(self.text["loss"])
        if n == 0:
            return
        if "step" in self.text:
            has_step, steps = self._column("step")
            if not np.all(has_step):
                idx = np.where(has_step, np.arange(n), -1)
                np.maximum.accumulate(idx, out=idx)
                steps = np.where(idx >= 0, steps[np.maximum(idx, 0)], self.last_step)
            if not np.all(np.isfinite(steps)) or np.any(np.abs(steps) > 2.0 ** 53):
                raise LogError(f"{self.where}: the step column {self.chosen['step']!r} has values that are not step "
                               f"numbers (not finite, or beyond 2^53)")
            self.last_step = float(steps[-1])
        else:
            steps = np.arange(self.rows, self.rows + n, dtype=np.float64)
        steps = steps.astype(np.int64)
        if "run" in self.text:
            codes = np.array([self.codes.setdefault(cell, len(self.codes)) for cell in self.text["run"]], np.int32)
            if len(self.codes) > MAX_RUNS:
                raise LogError(f"{self.where}: the run column {self.chosen['run']!r} has more than {MAX_RUNS} values")
        else:
            self.codes.setdefault(None, 0)
            codes = np.zeros(n, np.int32)
        runs = [(int(k), codes == k) for k in np.unique(codes)] if len(self.codes) > 1 else [(0, None)]
        for q in QUANTITIES:
            if q not in self.text:
                continue
            present, values = self._column(q)
            for k, rows in runs:
                sel = present if rows is None else present & rows
                if np.any(sel):
                    if (k, q) not in self.series:
                        self.series[k, q] = self.pool.series()
                    self.series[k, q].add(steps[sel], values[sel])
        self.rows += n
        for cells in self.text.values():          # emptied in place: the reader keeps appending to them
            cells.clear()

    def runs(self) -> dict:
        """{run name: {quantity: Thinned}} for every run that logged a loss, by name."""
        self.flush()
        out = {}
        for name, k in sorted(self.codes.items(), key=lambda item: (item[0] is not None, str(item[0]))):
            got = {q: member for (code, q), member in self.series.items() if code == k}
            if "loss" in got:
                out[name] = got
        return out


def _rows(reader, where: str):
    """The rows of a CSV reader; one the csv module cannot parse (a cell longer than its 128 KB limit, a NUL) is a
    :class:`LogError` naming the file and the line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise LogError(f"{where}: line {reader.line_num}: {exc}: not a training log") from None


def read_table(path: str, *, columns: dict | None = None, run_column: str | None = None,
               progress=None, name: str | None = None, source: str = "csv", pool: Pool | None = None
               ) -> list[LoggedRun]:
    """Runs from a CSV or TSV file (the delimiter is the one of comma, tab and semicolon the header uses most); one
    run, or one per value of the run column. ``pool``: where the series are held while they are read (a
    :class:`lrscope.logs.thin.Pool`; by default one for this file), which bounds the memory."""
    pending = _table_runs(path, columns=columns, run_column=run_column, progress=progress, name=name, source=source,
                          pool=pool or Pool())
    return [run() for run in pending]


def _table_runs(path: str, *, columns, run_column, progress, name, source, pool: Pool) -> list:
    """The runs of a table, each a function that builds its :class:`LoggedRun` (once the whole read is done: its
    series can still be thinned by the pool until then)."""
    where = path
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise _unreadable(where, exc) from None
    if size == 0 or not head.strip():
        raise LogError(f"{where}: the file is empty")
    if b"\0" in head:
        raise LogError(f"{where}: not a text log (binary data); expected CSV/TSV, TensorBoard events, a Lightning "
                       f"metrics.csv or a trainer_state.json")
    text_head = head.decode("utf-8", errors="replace")
    first = text_head.splitlines()[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}         # the separator the header uses most
    delimiter = max(counts, key=lambda d: (counts[d], d == ("\t" if path.lower().endswith(".tsv") else ",")))
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = _rows(csv.reader(fh, delimiter=delimiter), where)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise LogError(f"{where}: the file is empty") from None
        if len(header) < 1 or all(_is_number(h) for h in header if h):
            raise LogError(f"{where}: the first line must name the columns (e.g. step,loss), got {first[:60]!r}")
        given = dict(columns or {})
        if run_column is not None:
            given["run"] = run_column
        chosen = pick_names(header, given, where)
        if "loss" not in chosen:
            raise LogError(f"{where}: no loss column among {', '.join(map(repr, header[:12]))}: name it with --loss")
        table = _Chunks(chosen, where, pool)
        width = len(header)
        last = 0
        appends = [(table.text[q].append, header.index(n)) for q, n in chosen.items()]
        kept = 0
        for i, row in enumerate(reader):
            if len(row) < width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue                              # a blank line
                row = row + [""] * (width - len(row))
            for append, j in appends:
                append(row[j])
            kept += 1
            if kept % CHUNK == 0:                         # memory bounded by the chunk, not the file
                table.flush()
            if i >= MAX_ROWS:
                raise LogError(f"{where}: more than {MAX_ROWS:,} rows: too many to judge at once; keep every k-th "
                               f"row (e.g. awk 'NR==1 || NR%10==0') or split the file")
            if progress is not None and i - last >= 100_000:
                last = i
                progress(fh.buffer.tell(), size)
    runs = table.runs()
    if table.rows == 0:
        raise LogError(f"{where}: the header names columns but there are no rows")
    if not runs:
        raise LogError(f"{where}: the loss column {chosen['loss']!r} is empty")
    if progress is not None:
        progress(size, size)
    base = name or _run_name(path)

    def pending(run, members):
        return lambda: LoggedRun.of(base if run is None else f"{name}:{run}" if name else run,
                                    {q: m.series() for q, m in members.items()}, source, chosen)

    return [pending(run, members) for run, members in runs.items()]


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _run_name(path: str) -> str:
    base = os.path.basename(os.path.normpath(path))
    return os.path.splitext(base)[0] if os.path.isfile(path) else base


# ------------------------------------------------------------------------------------------------------- TensorBoard
def _event_records(path: str, progress=None, offset: int = 0, total: int | None = None):
    """The serialized records of a TFRecord file (length, its CRC, data, its CRC), framed in blocks of
    ``EVENT_BLOCK`` bytes (memory bounded by the block, not the file): a truncated last record (a run still being
    written) ends the file."""
    try:
        size = os.path.getsize(path)
        fh = open(path, "rb")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    unpack = struct.Struct("<Q").unpack_from
    data, pos, base = b"", 0, 0              # the block in hand; where in it; where it starts in the file
    with fh:
        while True:
            end = len(data)
            while pos + 12 <= end:
                (length,) = unpack(data, pos)
                if pos + 16 + length > end:
                    break
                yield data[pos + 12:pos + 12 + length]
                pos += 16 + length
            length = unpack(data, pos)[0] if pos + 12 <= end else 0
            if length > size:
                raise LogError(f"{path}: not a TensorBoard event file (a record at byte {base + pos} claims "
                               f"{length} bytes)")
            try:
                more = fh.read(max(EVENT_BLOCK, 16 + length))
            except OSError as exc:
                raise _unreadable(path, exc) from None
            if not more:
                return
            base += pos
            data, pos = data[pos:] + more, 0
            if progress is not None:
                progress(offset + base, total or size)


def read_events(paths: list, *, tags: dict | None = None, progress=None, name: str | None = None,
                pool: Pool | None = None) -> LoggedRun:
    """One run from TensorBoard event files (several files of one run -- a restart writes a new one -- are merged,
    later entries winning). Records are framed here and each parsed with the ``tensorboard`` package's own
    ``Event`` message (no TensorFlow): the scalars written by ``SummaryWriter.add_scalar`` (simple values or
    scalar tensors). ``pool``: where the series are held while they are read (see :func:`read_table`)."""
    return _event_run(paths, tags=tags, progress=progress, name=name, pool=pool or Pool())()


def _event_run(paths: list, *, tags, progress, name, pool: Pool):
    """The run of TensorBoard event files, as a function that builds its :class:`LoggedRun` (see
    :func:`_table_runs`)."""
    try:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise LogError("TensorBoard event files need the tensorboard package: pip install 'lrscope[logs]'") from None
    parse = event_pb2.Event.FromString
    scalars: dict = {}             # tag -> its Thinned
    total = sum(os.path.getsize(p) for p in paths)
    offset = 0
    where = paths[0] if len(paths) == 1 else os.path.dirname(paths[0]) or "."
    for path in sorted(paths):
        try:
            for record in _event_records(path, progress, offset, total):
                event = parse(record)
                if not event.HasField("summary"):
                    continue
                step = event.step
                for value in event.summary.value:
                    kind = value.WhichOneof("value")
                    if kind == "simple_value":
                        x = value.simple_value
                    elif kind == "tensor" and not value.tensor.tensor_shape.dim:
                        x = float(tensor_util.make_ndarray(value.tensor))
                    else:
                        continue
                    member = scalars.get(value.tag)
                    if member is None:
                        member = scalars[value.tag] = pool.series()
                    member.append(step, x)
        except LogError:
            raise
        except Exception as exc:      # a protobuf DecodeError: not an event file, or a corrupt one
            raise LogError(f"{path}: not a readable TensorBoard event file ({type(exc).__name__})") from None
        offset += os.path.getsize(path)
    if not scalars:
        raise LogError(f"{where}: no scalars in the TensorBoard events (log them with SummaryWriter.add_scalar)")
    chosen = pick_names(sorted(scalars), dict(tags or {}), where)
    if "loss" not in chosen:
        raise LogError(f"{where}: no loss among the tags {', '.join(map(repr, sorted(scalars)[:12]))}: name it "
                       f"with --loss")
    for tag in set(scalars) - set(chosen.values()):          # tags not wanted free their room in the pool
        pool.drop(scalars[tag])
    run_name = name or _run_name(os.path.dirname(paths[0]) or paths[0])
    return lambda: LoggedRun.of(run_name, {q: scalars[t].series() for q, t in chosen.items() if q in QUANTITIES},
                                "tensorboard", chosen)


# ------------------------------------------------------------------------------------------------------ Hugging Face
def read_trainer_state(path: str, *, name: str | None = None, pool: Pool | None = None) -> LoggedRun:
    """One run from a ``transformers`` Trainer's ``trainer_state.json``: its ``log_history`` (``loss``,
    ``learning_rate``, ``grad_norm`` every ``logging_steps``; ``eval_loss`` at each evaluation; the closing summary
    with ``train_runtime`` is not a step), read one entry at a time (see :func:`_log_history`)."""
    return _trainer_state_run(path, name=name, pool=pool or Pool())()


def _trainer_state_run(path: str, *, name, pool: Pool):
    """The run of a trainer_state.json, as a function that builds its :class:`LoggedRun` (see :func:`_table_runs`)."""
    keys = {"loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm", "val_loss": "eval_loss"}
    got: dict = {q: pool.series() for q in keys}
    for i, entry in enumerate(_log_history(path)):
        if not isinstance(entry, dict) or "train_runtime" in entry or "step" not in entry:
            continue
        step = entry["step"]
        if (isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step)
                or step != int(step) or not 0 <= step < 2 ** 62):
            raise LogError(f"{path}: log_history[{i}]: 'step' must be a step number (a whole number from 0), got "
                           f"{_short(step)}")
        for q, key in keys.items():
            x = entry.get(key)
            if isinstance(x, (int, float)) or (isinstance(x, str) and x.lower() in ("nan", "inf", "-inf")):
                got[q].append(int(step), _as_float(x))
    for member in got.values():
        member.flush()
    if not got["loss"].count:
        raise LogError(f"{path}: the log history has no training 'loss' entries (was logging_steps larger than "
                       f"the run?)")
    for q in [q for q, member in got.items() if not member.count]:
        pool.drop(got.pop(q))
    run_name = name or _run_name(os.path.dirname(os.path.abspath(path)))
    return lambda: LoggedRun.of(run_name, {q: member.series() for q, member in got.items()},
                                "huggingface", keys)


JSON_BLOCK = 1 << 20         # characters of a trainer_state.json read at a time


def _log_history(path: str):
    """The entries of a trainer_state.json's ``log_history``, decoded one at a time from blocks of the file (the
    memory of one entry, not of the file); the other members of the top-level object are decoded and dropped."""
    decode = json.JSONDecoder().raw_decode
    white = re.compile(r"[ \t\r\n]*").match
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise _unreadable(path, exc) from None
    text, pos, done = "", 0, False

    def more() -> bool:
        nonlocal text, pos, done
        if done:
            return False
        try:
            block = fh.read(max(JSON_BLOCK, len(text) - pos))        # a value longer than a block: twice as much
        except OSError as exc:
            raise _unreadable(path, exc) from None
        done = not block
        text, pos = text[pos:] + block, 0
        return not done

    def skip() -> str:                          # the next character that is not white space ("" at the end)
        nonlocal pos
        while True:
            pos = white(text, pos).end()
            if pos < len(text) or not more():
                return text[pos] if pos < len(text) else ""

    def value():
        nonlocal pos
        while True:
            skip()
            try:
                out, end = decode(text, pos)
                if end < len(text) or done:     # a number cut by the block's end could decode short
                    pos = end
                    return out
            except json.JSONDecodeError:
                if done:
                    raise
            more()

    def expect(chars: str) -> str:
        nonlocal pos
        c = skip()
        if not c or c not in chars:
            raise json.JSONDecodeError(f"Expecting one of {chars!r}", text, pos)
        pos += 1
        return c

    try:
        with fh:
            if skip() != "{":
                raise LogError(f"{path}: no 'log_history' list: not a Hugging Face trainer_state.json")
            pos += 1
            found = False
            if skip() == "}":
                pos += 1
            else:
                while True:
                    key = value()
                    if not isinstance(key, str):
                        raise json.JSONDecodeError("Expecting a name in double quotes", text, pos)
                    expect(":")
                    if key == "log_history" and skip() == "[":
                        found = True
                        pos += 1
                        if skip() == "]":
                            pos += 1
                        else:
                            while True:
                                yield value()
                                if expect(",]") == "]":
                                    break
                    else:
                        value()
                    if expect(",}") == "}":
                        break
            if skip():
                raise json.JSONDecodeError("Extra data", text, pos)
            if not found:
                raise LogError(f"{path}: no 'log_history' list: not a Hugging Face trainer_state.json")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LogError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise LogError(f"{path}: JSON nested too deeply to be a trainer_state.json") from None


def _as_float(x) -> float:
    """A JSON number as a float: an integer too large for one (a 400-digit loss) is ±inf, as a diverged loss is."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ----------------------------------------------------------------------------------------------------- any path
def _latest_checkpoint_state(folder: str) -> str | None:
    """The trainer_state.json of the latest checkpoint-N in an output folder (it holds the whole history)."""
    best, best_step = None, -1
    for entry in os.listdir(folder):
        m = re.fullmatch(r"checkpoint-(\d+)", entry)
        state = os.path.join(folder, entry, "trainer_state.json")
        if m and os.path.isfile(state) and int(m.group(1)) > best_step:
            best, best_step = state, int(m.group(1))
    return best


def _one_run_in(folder: str) -> tuple | None:
    """(kind, paths) when ``folder`` is one run of a known layout, else None."""
    entries = os.listdir(folder)
    if "trainer_state.json" in entries:
        return "huggingface", [os.path.join(folder, "trainer_state.json")]
    latest = _latest_checkpoint_state(folder)
    if latest:
        return "huggingface", [latest]
    if "metrics.csv" in entries:
        return "lightning", [os.path.join(folder, "metrics.csv")]
    events = [os.path.join(folder, e) for e in entries if TF_EVENTS in e and os.path.isfile(os.path.join(folder, e))]
    if events:
        return "tensorboard", events
    return None


def find_runs(path: str, depth: int = 6, max_runs: int = MAX_RUNS) -> list:
    """(name, kind, paths) for every run under ``path``: a file is one run; a folder is one run when it has a known
    layout (trainer_state.json or checkpoint-N/, Lightning's metrics.csv, TensorBoard event files), else each run
    found below it (named by its path under ``path``), as TensorBoard names the runs of a log folder."""
    if not str(path).strip():
        raise LogError("path: needs a log file or a folder of runs, got an empty name")
    if not os.path.exists(path):
        raise LogError(f"{path}: no such file or folder")
    if os.path.isfile(path):
        base = os.path.basename(path)
        if TF_EVENTS in base:
            return [(_run_name(os.path.dirname(os.path.abspath(path))), "tensorboard", [path])]
        if base.endswith(".json"):
            return [(_run_name(os.path.dirname(os.path.abspath(path))) if base == "trainer_state.json"
                     else _run_name(path), "huggingface", [path])]
        kind = "lightning" if base == "metrics.csv" else "csv"
        name = _run_name(os.path.dirname(os.path.abspath(path))) if kind == "lightning" else _run_name(path)
        return [(name, kind, [path])]
    found: list = []
    seen: set = set()           # folders already walked (a symlink to itself or to a parent is walked once)

    def walk(folder: str, rel: str, level: int):
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen:
            return
        seen.add((info.st_dev, info.st_ino))
        one = _one_run_in(folder)
        if one is not None:
            found.append((rel or _run_name(folder), *one))
            return
        if level >= depth:
            return
        for entry in sorted(os.listdir(folder)):
            full = os.path.join(folder, entry)
            sub = f"{rel}/{entry}" if rel else entry
            if os.path.isdir(full) and not entry.startswith("."):
                walk(full, sub, level + 1)
            elif os.path.isfile(full) and entry.lower().endswith((".csv", ".tsv")):
                found.append((os.path.splitext(sub)[0], "csv", [full]))
            if len(found) > max_runs:
                raise LogError(f"{path}: more than {max_runs} runs below it; point at a smaller folder, or allow "
                               f"more (--max-runs, max_runs=)")

    try:
        walk(path, "", 0)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if not found:
        raise LogError(f"{path}: no logs found (CSV/TSV files, TensorBoard event files, a Lightning metrics.csv or a "
                       f"Hugging Face trainer_state.json)")
    return found


def read_logs(path: str, *, loss: str | None = None, lr: str | None = None, val_loss: str | None = None,
              grad_norm: str | None = None, step: str | None = None, run: str | None = None,
              progress=None, skipped: list | None = None, max_runs: int = MAX_RUNS) -> list[LoggedRun]:
    """Every run in ``path`` (a file or a folder of runs). ``loss``, ``lr``, ``val_loss``, ``grad_norm``, ``step``:
    the column or tag that holds each, when its name is not one lrscope knows; ``run``: a column that tells several
    runs of one file apart. ``progress(done, total)`` is called while large files are read (bytes). In a folder of
    several runs, a run that cannot be read is added to ``skipped`` (name, reason) when it is a list, and the others
    are read; otherwise, and when no run can be read, it is a :class:`LogError`."""
    given = {"loss": loss, "lr": lr, "val_loss": val_loss, "grad_norm": grad_norm, "step": step}
    runs = []
    try:
        max_runs = integer(max_runs, "max_runs")
    except ValueError as exc:
        raise LogError(str(exc)) from None
    found = find_runs(os.fspath(path), max_runs=max_runs)
    pool = Pool()                 # one for the whole folder: its memory does not grow with the logs' length
    for name, kind, paths in found:
        before = len(pool.members)
        try:
            if kind == "tensorboard":
                runs.append(_event_run(paths, tags={q: v for q, v in given.items() if q != "step"},
                                       progress=progress, name=name, pool=pool))
            elif kind == "huggingface":
                runs.append(_trainer_state_run(paths[0], name=name, pool=pool))
            else:
                runs.extend(_table_runs(paths[0], columns=given, run_column=run, progress=progress,
                                        name=name if len(found) > 1 or kind == "lightning" or run is None else None,
                                        source=kind, pool=pool))
        except LogError as exc:
            for member in pool.members[before:]:       # what the file that failed held
                pool.drop(member)
            if skipped is None or len(found) == 1:
                raise
            skipped.append((name, str(exc)))
    runs = [build() for build in runs]            # every file read: the series as thinned as the pool needs
    if not runs:
        raise LogError(f"{path}: no run could be read ({skipped[0][1] if skipped else 'no logs'})")
    return runs


__all__ = ["LoggedRun", "Series", "LogError", "read_logs", "read_table", "read_events", "read_trainer_state",
           "find_runs", "pick_names", "normalize"]

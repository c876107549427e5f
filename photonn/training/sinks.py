"""Metric sinks: callbacks that write the per-epoch metrics somewhere.

Every sink is a callback (:mod:`photonn.training.callbacks`): it takes the
history restored by a resume in ``on_fit_start``, one row per completed epoch in
``on_epoch_end``, and may log per-batch values in ``on_batch_end``. Put sinks
after the callbacks that add metrics, so that the rows they write are complete.

* :class:`JSONSink`: ``metrics.json``, the list of rows, rewritten atomically
  after every epoch.
* :class:`CSVSink`: ``metrics.csv``, one line per row (columns: the union of
  the rows' keys in first-seen order), rewritten atomically after every epoch.
* :class:`TensorBoardSink`: TensorBoard event files (``tensorboard --logdir``);
  needs the optional extra ``pip install 'photonn[tensorboard]'``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
from pathlib import Path

from .._io import atomic_write_text
from .callbacks import Callback


def write_metrics_json(path, rows: list[dict]) -> Path:
    """Write ``rows`` as a JSON list, atomically. Returns the path."""
    path = Path(path)
    atomic_write_text(path, json.dumps(rows, indent=1) + "\n")
    return path


def write_metrics_csv(path, rows: list[dict]) -> Path:
    """Write ``rows`` as CSV (columns in first-seen order), atomically. Returns the path."""
    path = Path(path)
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    return path


class _RowSink(Callback):
    """Keeps the rows (the resumed history, then one per epoch) and rewrites a file with
    ``write(path, rows)``."""

    def __init__(self, path, write):
        self.path = Path(path)
        self.rows: list[dict] = []
        self._writer = write

    def _write(self) -> None:
        self._writer(self.path, self.rows)

    def on_fit_start(self, trainer) -> None:
        self.rows = [dict(r) for r in trainer.history]

    def on_epoch_end(self, epoch, model, metrics) -> None:
        self.rows.append(dict(metrics))
        self._write()


class JSONSink(_RowSink):
    """``metrics.json``: the list of epoch rows, rewritten atomically after each epoch."""

    def __init__(self, path):
        super().__init__(path, write_metrics_json)


class CSVSink(_RowSink):
    """``metrics.csv``: one line per epoch row, rewritten atomically after each epoch."""

    def __init__(self, path):
        super().__init__(path, write_metrics_csv)


TENSORBOARD_MISSING = (
    "TensorBoard logging needs the optional extra: pip install 'photonn[tensorboard]' "
    "(or pip install tensorboard)"
)


class TensorBoardSink(Callback):
    """TensorBoard event files in ``log_dir``, readable by ``tensorboard --logdir``.

    Every numeric entry of an epoch row is written as a scalar at the row's
    optimizer ``step``, under ``epoch/<name>``; with ``every_n_steps > 0``, the
    batch ``loss`` (and every ``reg/...`` term) is also written every that many
    steps, under ``batch/<name>``. A resumed run purges the events written after
    the checkpoint's step, so the curves have no doubled segment.

    Raises:
        ImportError: when the ``tensorboard`` package is not installed, naming
            the extra that provides it. Raised at construction, before training.
    """

    @staticmethod
    def check_available() -> None:
        """Raise ``ImportError`` naming the extra when TensorBoard is not installed."""
        TensorBoardSink._writer_class()

    @staticmethod
    def _writer_class():
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ImportError(TENSORBOARD_MISSING) from exc
        return SummaryWriter

    def __init__(self, log_dir, *, every_n_steps: int = 0):
        SummaryWriter = self._writer_class()
        if isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int):
            raise TypeError(f"every_n_steps must be an int, got {every_n_steps!r}")
        if every_n_steps < 0:
            raise ValueError(f"every_n_steps must be >= 0, got {every_n_steps}")
        self._writer_cls = SummaryWriter
        self.log_dir = Path(log_dir)
        self.every_n_steps = every_n_steps
        self.writer = None

    def on_fit_start(self, trainer) -> None:
        if self.writer is None:
            self.writer = self._writer_cls(
                str(self.log_dir), purge_step=trainer.step if trainer.step else None
            )

    def _scalars(self, prefix: str, metrics: dict, step: int) -> None:
        if self.writer is None:  # driven by hand, without on_fit_start
            self.writer = self._writer_cls(str(self.log_dir))
        for key, value in metrics.items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                if math.isfinite(value):
                    self.writer.add_scalar(f"{prefix}/{key}", float(value), step)

    def on_batch_end(self, step, model, metrics) -> None:
        if self.every_n_steps and step % self.every_n_steps == 0:
            keep = {k: v for k, v in metrics.items() if k == "loss" or k.startswith("reg/")}
            self._scalars("batch", keep, step)

    def on_epoch_end(self, epoch, model, metrics) -> None:
        self._scalars("epoch", metrics, int(metrics.get("step", epoch)))
        self.writer.flush()

    def on_fit_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

"""The datasets a run can name in ``[data] dataset = ...``, each declared once here.

A dataset entry loads one split from a data directory and hands back images
(or other inputs) and labels, nothing else: encoding into fields or feature
vectors belongs to the model kind (:mod:`photonn.runs.models`). Later
recipes add entries with :func:`register_dataset`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Dataset:
    """A dataset a run can use.

    Attributes:
        name: the value of ``data.dataset``.
        load: ``load(data_dir, split) -> (inputs (N, ...), labels (N,))`` for
            ``split`` in ``("train", "test")``; ``data_dir`` is ``""`` when the
            dataset ships with photonn.
        num_classes: number of label values.
        needs_dir: whether ``data.data_dir`` is required.
        doc: one line for ``--print-config`` and the docs.
        loss: the task's ``loss_fn(output, target) -> scalar`` (batch mean), or
            ``None`` for softmax cross-entropy on ``(B, C)`` scores (e.g. a
            character-level language task flattens ``(B, T, V)`` scores).
    """

    name: str
    load: Callable[[str, str], tuple[torch.Tensor, torch.Tensor]]
    num_classes: int
    needs_dir: bool
    doc: str
    loss: Callable | None = None


DATASETS: dict[str, Dataset] = {}


def register_dataset(entry: Dataset) -> Dataset:
    """Add a dataset (a later recipe's); a name may be registered once."""
    if entry.name in DATASETS:
        raise ValueError(f"dataset {entry.name!r} is already registered")
    DATASETS[entry.name] = entry
    return entry


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def _embedded(data_dir: str, split: str):
    from ..data import load_embedded_mnist

    return load_embedded_mnist(split)


def _mnist(data_dir: str, split: str):
    from ..data import load_mnist

    return load_mnist(data_dir, split)


def _fashion(data_dir: str, split: str):
    from ..data import load_fashion_mnist

    return load_fashion_mnist(data_dir, split)


register_dataset(
    Dataset(
        "embedded",
        _embedded,
        10,
        False,
        "the MNIST subset shipped with photonn (6,000 train / 1,000 test, 28x28 uint8)",
    )
)
register_dataset(
    Dataset("mnist", _mnist, 10, True, "MNIST from its IDX files in data_dir (60,000 / 10,000)")
)
register_dataset(
    Dataset(
        "fashion-mnist",
        _fashion,
        10,
        True,
        "Fashion-MNIST from its IDX files in data_dir (60,000 / 10,000)",
    )
)


def get_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


# -- shakespeare (character-level language modelling; photonn.data.text) ------------------
SHAKESPEARE_WINDOW = 64  # characters per training sequence


def sequence_cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy [nats per character] of ``(B, T, V)`` scores on ``(B, T)`` targets
    (bits per character: divide by ``ln 2``)."""
    if scores.ndim != 3 or targets.shape != scores.shape[:2]:
        raise ValueError(
            f"sequence scores must be (B, T, V) with targets (B, T), got {tuple(scores.shape)} "
            f"and {tuple(targets.shape)}; a language dataset needs a sequence model "
            "(model.kind = 'relax' with model.input = 'text')"
        )
    return torch.nn.functional.cross_entropy(
        scores.reshape(-1, scores.shape[-1]), targets.reshape(-1)
    )


def _shakespeare(data_dir: str, split: str):
    from ..data.text import char_windows, load_shakespeare

    ids, _ = load_shakespeare(data_dir, split)
    return char_windows(ids, SHAKESPEARE_WINDOW)


register_dataset(
    Dataset(
        "shakespeare",
        _shakespeare,
        84,
        True,
        "Shakespeare (Globe Edition) characters from shakespeare.txt.gz in data_dir: "
        f"{SHAKESPEARE_WINDOW}-character windows and their next characters (int64 ids, 84 "
        "symbols); train = the first 90 % of the text, test = the last 5 % (the corpus "
        "README's split by offset); data.validation draws windows of the training part",
        loss=sequence_cross_entropy,
    )
)

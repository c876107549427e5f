"""MNIST and Fashion-MNIST loaders over a directory of the standard IDX files.

Both data sets use the same four file names (gzip ``.gz`` or uncompressed)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

The loaders never download and never read environment variables: they read the
directory they are given. ``load_mnist(None)`` (the default) reads the embedded
class-balanced subset of MNIST that ships inside the package (6,000 training and
1,000 test images, CC BY-SA 3.0, see ``photonn/data/_embedded/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._checks import one_of
from .idx import read_idx

SPLITS = {"train": "train", "test": "t10k"}
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

EMBEDDED_DIR = Path(__file__).resolve().parent / "_embedded"
EMBEDDED_COUNTS = {"train": 6000, "test": 1000}


def expected_files(split: str) -> tuple[str, str]:
    """The standard ``(images, labels)`` file names of a split (``"train"`` or ``"test"``)."""
    one_of(split, SPLITS, "split")
    prefix = SPLITS[split]
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def _find(dirs: list[Path], name: str) -> Path | None:
    """``name`` or its uncompressed twin in the first directory that holds it."""
    for d in dirs:
        for candidate in (d / name, d / name.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
    return None


def _search_dirs(root: Path, subdirs: tuple[str, ...]) -> list[Path]:
    return [root] + [root / s for s in subdirs]


def _load_split(root, split: str, dataset: str, subdirs: tuple[str, ...]):
    one_of(split, SPLITS, "split")
    if isinstance(root, (bytes, bytearray)) or not isinstance(root, (str, Path)):
        raise TypeError(
            f"root must be a directory path (str or pathlib.Path), got {type(root).__name__}"
        )
    root = Path(root).expanduser()
    dirs = _search_dirs(root, subdirs)
    img_name, lab_name = expected_files(split)
    img_path, lab_path = _find(dirs, img_name), _find(dirs, lab_name)
    if img_path is None or lab_path is None:
        missing = [n for n, p in ((img_name, img_path), (lab_name, lab_path)) if p is None]
        raise FileNotFoundError(
            f"{dataset} {split} split: missing {', '.join(missing)} (or the same names without "
            f".gz); expected {img_name} and {lab_name} in one of: "
            f"{', '.join(str(d) for d in dirs)}. Download the original IDX files there, or "
            "call load_mnist() without root for the embedded subset."
        )
    images = read_idx(img_path)
    labels = read_idx(lab_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{img_path}: expected uint8 images of shape (N, 28, 28), got {images.dtype} "
            f"{images.shape}; is this an image file of {dataset}?"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{lab_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}; "
            f"is this a label file of {dataset}?"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{dataset} {split} split: {img_path} holds {len(images)} images but {lab_path} "
            f"holds {len(labels)} labels; the files belong to different data sets or are corrupt"
        )
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        raise ValueError(
            f"{lab_path}: label {int(labels.max())} out of range 0..{NUM_CLASSES - 1}; "
            "the file is corrupt"
        )
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def load_mnist(root=None, split: str = "train"):
    """Load an MNIST split.

    Args:
        root: directory holding the IDX files (also searched: ``root/mnist`` and
            ``root/MNIST/raw``). ``None`` loads the embedded subset shipped with
            photonn (6,000 train / 1,000 test, class-balanced), see
            :func:`load_embedded_mnist`.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).

    Returns:
        ``(images, labels)``: uint8 tensor ``(N, 28, 28)`` with values 0..255 and
        int64 tensor ``(N,)`` with values 0..9.

    Raises:
        FileNotFoundError: the files are missing; the message names the expected
            files and the directories searched.
        ValueError: a file is truncated or corrupt (the message names it).

    Example:
        >>> from photonn.data import load_mnist
        >>> images, labels = load_mnist(split="test")  # embedded subset
        >>> images.shape, labels.dtype
        (torch.Size([1000, 28, 28]), torch.int64)
    """
    if root is None:
        return load_embedded_mnist(split)
    return _load_split(root, split, "MNIST", ("mnist", "MNIST/raw"))


def load_fashion_mnist(root, split: str = "train"):
    """Load a Fashion-MNIST split (Xiao, Rasul and Vollgraf 2017, MIT licence).

    Args:
        root: directory holding the IDX files (also searched: ``root/fashion-mnist``
            and ``root/FashionMNIST/raw``). No subset is embedded: a directory is
            required.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).

    Returns:
        ``(images, labels)``: uint8 tensor ``(N, 28, 28)`` and int64 tensor ``(N,)``.
    """
    if root is None:
        raise ValueError(
            "load_fashion_mnist needs root, the directory of the Fashion-MNIST IDX files "
            "(only an MNIST subset is embedded in photonn)"
        )
    return _load_split(root, split, "Fashion-MNIST", ("fashion-mnist", "FashionMNIST/raw"))


def load_embedded_mnist(split: str = "train"):
    """The class-balanced MNIST subset shipped inside photonn; needs no download.

    600 training images per class (6,000) and 100 test images per class (1,000),
    taken from the original MNIST files at evenly spaced positions within each
    class, in file order (see :func:`photonn.data.subset.make_embedded_subset`).
    MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges, licensed CC BY-SA 3.0;
    the attribution is in ``photonn/data/_embedded/README.md``.

    Returns:
        ``(images, labels)``: uint8 ``(N, 28, 28)`` and int64 ``(N,)``.
    """
    one_of(split, SPLITS, "split")
    return _load_split(EMBEDDED_DIR, split, "embedded MNIST subset", ())

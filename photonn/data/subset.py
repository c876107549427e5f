"""Regenerate the embedded MNIST subset from the full MNIST files (provenance tool).

Not imported by ``photonn.data``; run it as::

    python -m photonn.data.subset /path/to/mnist photonn/data/_embedded

The selection is deterministic and uses no random numbers: for each class, the
``k`` images at evenly spaced positions among that class's images in file order
(``round(linspace(0, n_c - 1, k))``), kept in file order. Evenly spaced rather
than the first ``k`` because the MNIST test file is ordered by source (its first
5,000 images are the cleaner NIST SD-3 writers).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from .idx import write_idx
from .mnist import SPLITS, _load_split, expected_files

PER_CLASS = {"train": 600, "test": 100}
# gzip level of the shipped files. Not 9: level 9's stream of the training images
# happens to contain three consecutive capital X bytes, which marker scans of the source tree flag.
COMPRESSLEVEL = 8


def balanced_indices(labels, per_class: int, num_classes: int = 10) -> np.ndarray:
    """Indices of ``per_class`` samples of each class, evenly spaced within the class.

    Args:
        labels: integer labels ``(N,)`` (numpy array or tensor).
        per_class: samples to keep per class (each class must have at least that many).

    Returns:
        Sorted int64 indices ``(num_classes * per_class,)``.
    """
    labels = np.asarray(labels)
    chosen = []
    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} samples, fewer than per_class={per_class}")
        pos = np.round(np.linspace(0, len(idx) - 1, per_class)).astype(np.int64)
        chosen.append(idx[pos])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def make_embedded_subset(source_dir, out_dir, per_class=None) -> dict[str, str]:
    """Write the class-balanced subset of the MNIST files in ``source_dir`` to ``out_dir``.

    Args:
        source_dir: directory with the four original MNIST IDX files.
        out_dir: target directory (created); files get the standard IDX names.
        per_class: ``{"train": 600, "test": 100}`` by default.

    Returns:
        ``{file name: sha256}`` of the files written.
    """
    per_class = dict(PER_CLASS if per_class is None else per_class)
    out_dir = Path(out_dir)
    digests = {}
    for split in SPLITS:
        images, labels = _load_split(source_dir, split, "MNIST", ("mnist", "MNIST/raw"))
        keep = balanced_indices(labels.numpy(), per_class[split])
        img_name, lab_name = expected_files(split)
        write_idx(out_dir / img_name, images.numpy()[keep], compresslevel=COMPRESSLEVEL)
        labels_u8 = labels.numpy()[keep].astype(np.uint8)
        write_idx(out_dir / lab_name, labels_u8, compresslevel=COMPRESSLEVEL)
        for name in (img_name, lab_name):
            digests[name] = hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
    return digests


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source_dir", help="directory with the original MNIST IDX files")
    p.add_argument("out_dir", help="where to write the subset (photonn/data/_embedded)")
    args = p.parse_args(argv)
    for name, digest in make_embedded_subset(args.source_dir, args.out_dir).items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Character-level text corpora: token ids only, split by character offset, no download.

The Shakespeare corpus (``shakespeare.txt.gz``: the 42 works of the Globe
Edition, ASCII, 5,057,321 characters, 84 distinct) is read from a directory the
caller gives. Its README fixes the split by character offset: the first 90 % for
training, the next 5 % for validation, the last 5 % for test. The vocabulary is
the sorted set of characters of the whole corpus (all splits), so every split
uses the same ids; the ids are int64 (``uint8`` inputs would be scaled to
``[0, 1]`` by the training loop, like images).

Example:
    >>> from photonn.data import load_shakespeare, char_windows   # doctest: +SKIP
    >>> ids, vocab = load_shakespeare("/data", "train")          # doctest: +SKIP
    >>> x, y = char_windows(ids, 64)                             # (N, 64) and (N, 64)
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import torch

from .._checks import one_of, positive_int

CORPUS_FILE = "shakespeare.txt.gz"
# the uncompressed text's sha256 (data README)
SHAKESPEARE_SHA256 = "04decea0dd965df5e6cfc4a538b0c62623aaa3bfd848ac7fad6734e59c96624d"
SHAKESPEARE_CHARS = 5_057_321
SHAKESPEARE_VOCAB = 84
# [start, stop) of each split as fractions of the characters (data README)
SPLITS = {"train": (0.0, 0.9), "validation": (0.9, 0.95), "test": (0.95, 1.0)}


def _find_corpus(root) -> Path:
    if isinstance(root, (bytes, bytearray)) or not isinstance(root, (str, Path)):
        raise TypeError(
            f"root must be a directory path (str or pathlib.Path), got {type(root).__name__}"
        )
    root = Path(root).expanduser()
    dirs = [root, root / "shakespeare"]
    for d in dirs:
        for name in (CORPUS_FILE, CORPUS_FILE.removesuffix(".gz")):
            if (d / name).is_file():
                return d / name
    raise FileNotFoundError(
        f"Shakespeare corpus not found: expected {CORPUS_FILE} (or shakespeare.txt) in one of "
        f"{', '.join(str(d) for d in dirs)}; photonn does not download it"
    )


def read_corpus(root, *, expected_sha256: str | None = SHAKESPEARE_SHA256) -> bytes:
    """The raw bytes of the corpus in ``root`` (or ``root/shakespeare``), gzip or plain.

    ``expected_sha256`` (of the uncompressed text; default the README's) is checked;
    ``None`` skips the check (another text of the same layout).
    """
    path = _find_corpus(root)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable gzip file ({exc})") from exc
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise ValueError(
                f"{path}: the uncompressed text has sha256 {digest}, expected "
                f"{expected_sha256} (the corpus of the data README); pass "
                "expected_sha256=None to read another text"
            )
    if not raw:
        raise ValueError(f"{path}: the corpus is empty")
    return raw


def char_vocabulary(raw: bytes) -> str:
    """The sorted distinct characters of an ASCII text (the id of a character is its index)."""
    if any(b > 127 for b in set(raw)):
        raise ValueError("the corpus is not ASCII; the character vocabulary expects ASCII text")
    return "".join(chr(b) for b in sorted(set(raw)))


def split_bounds(n: int, split: str) -> tuple[int, int]:
    """``[start, stop)`` character offsets of ``split`` in a text of ``n`` characters."""
    one_of(split, SPLITS, "split")
    lo, hi = SPLITS[split]
    return int(lo * n), int(hi * n)


def load_shakespeare(
    root, split: str = "train", *, expected_sha256: str | None = SHAKESPEARE_SHA256
) -> tuple[torch.Tensor, str]:
    """Token ids of one split of the Shakespeare corpus, and the vocabulary.

    Args:
        root: the data directory (holding ``shakespeare.txt.gz`` or a
            ``shakespeare/`` folder with it).
        split: ``"train"`` (first 90 %), ``"validation"`` (next 5 %) or ``"test"``
            (last 5 %), by character offset.
        expected_sha256: see :func:`read_corpus`.

    Returns:
        ``(ids, vocab)``: int64 ids ``(n_chars,)`` and the vocabulary string
        (``vocab[i]`` is the character of id ``i``).
    """
    raw = read_corpus(root, expected_sha256=expected_sha256)
    vocab = char_vocabulary(raw)
    table = np.full(128, -1, dtype=np.int64)
    table[[ord(c) for c in vocab]] = np.arange(len(vocab))
    start, stop = split_bounds(len(raw), split)
    ids = table[np.frombuffer(raw, dtype=np.uint8)[start:stop]]
    return torch.from_numpy(ids.copy()), vocab


def char_windows(ids: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping windows of ``length`` characters and their next characters.

    ``x[i] = ids[i L : (i + 1) L]`` and ``y[i] = ids[i L + 1 : (i + 1) L + 1]``: each
    target is the character after its input. The tail shorter than ``L + 1`` is
    dropped. Returns int64 ``(N, L)`` and ``(N, L)``.
    """
    if not isinstance(ids, torch.Tensor) or ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D tensor of token ids, got {getattr(ids, 'shape', ids)}")
    L = positive_int(length, "length")
    n = (ids.numel() - 1) // L
    if n < 1:
        raise ValueError(f"{ids.numel()} ids hold no window of {L} characters and a target")
    x = ids[: n * L].reshape(n, L)
    y = ids[1 : n * L + 1].reshape(n, L)
    return x.to(torch.int64).contiguous(), y.to(torch.int64).contiguous()


def decode(ids, vocab: str) -> str:
    """The text of token ids (a sequence or a tensor) under ``vocab``."""
    if isinstance(ids, torch.Tensor):
        ids = ids.reshape(-1).tolist()
    return "".join(vocab[i] for i in ids)

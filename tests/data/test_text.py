"""The character-level text loader (photonn.data.text) and the ``shakespeare`` dataset.

The corpus facts come from shared/data/README.md: 5,057,321 characters, 84
distinct, the uncompressed sha256, and the split by character offset (90 / 5 / 5 %).
"""

from __future__ import annotations

import gzip
import math

import pytest
import torch

from photonn.data import char_windows, load_shakespeare
from photonn.data.text import (
    SHAKESPEARE_CHARS,
    SHAKESPEARE_VOCAB,
    char_vocabulary,
    decode,
    read_corpus,
    split_bounds,
)
from photonn.runs.datasets import get_dataset, sequence_cross_entropy

TEXT = b"to be, or not to be: that is the question.\n" * 5  # 215 characters


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "shakespeare").mkdir()
    (tmp_path / "shakespeare" / "shakespeare.txt.gz").write_bytes(gzip.compress(TEXT))
    return tmp_path


class TestSmallCorpus:
    def test_splits_by_character_offset(self, corpus):
        parts = {}
        for split in ("train", "validation", "test"):
            ids, vocab = load_shakespeare(corpus, split, expected_sha256=None)
            assert ids.dtype == torch.int64
            parts[split] = decode(ids, vocab)
        n = len(TEXT)
        assert split_bounds(n, "validation") == (int(0.9 * n), int(0.95 * n))
        assert "".join(parts.values()) == TEXT.decode()
        assert len(parts["train"]) == int(0.9 * n) == 193
        assert vocab == "".join(sorted(set(TEXT.decode())))

    def test_windows_predict_the_next_character(self):
        ids = torch.arange(11)
        x, y = char_windows(ids, 3)
        assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
        assert y.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
        with pytest.raises(ValueError, match="no window"):
            char_windows(torch.arange(3), 3)

    def test_plain_text_file_and_errors(self, tmp_path, corpus):
        (tmp_path / "plain").mkdir()
        (tmp_path / "plain" / "shakespeare.txt").write_bytes(TEXT)
        assert read_corpus(tmp_path / "plain", expected_sha256=None) == TEXT
        with pytest.raises(FileNotFoundError, match="does not download"):
            read_corpus(tmp_path / "nothing")
        with pytest.raises(ValueError, match="expected_sha256=None"):
            read_corpus(corpus)
        with pytest.raises(ValueError, match="split must be one of"):
            load_shakespeare(corpus, "dev", expected_sha256=None)
        with pytest.raises(ValueError, match="not ASCII"):
            char_vocabulary("é".encode())
        with pytest.raises(TypeError, match="directory path"):
            read_corpus(3)


def test_the_shakespeare_corpus(data_dir):
    sizes, vocabs = {}, set()
    for split in ("train", "validation", "test"):
        ids, vocab = load_shakespeare(data_dir, split)
        sizes[split] = ids.numel()
        vocabs.add(vocab)
        assert 0 <= int(ids.min()) and int(ids.max()) < SHAKESPEARE_VOCAB
    assert sum(sizes.values()) == SHAKESPEARE_CHARS
    assert sizes == {"train": 4551588, "validation": 252866, "test": 252867}
    (vocab,) = vocabs
    assert len(vocab) == SHAKESPEARE_VOCAB and vocab[0] == "\n"
    x, y = get_dataset("shakespeare").load(str(data_dir), "test")
    assert x.shape == (252866 // 64, 64) and torch.equal(x[:, 1:], y[:, :-1])


def test_sequence_loss_flattens_scores_and_targets():
    scores = torch.zeros(2, 3, 4)
    loss = sequence_cross_entropy(scores, torch.zeros(2, 3, dtype=torch.int64))
    assert float(loss) == pytest.approx(math.log(4))
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        sequence_cross_entropy(torch.zeros(2, 4), torch.zeros(2, dtype=torch.int64))

"""The decision rules of experiments/relax/paper_reading.py, on synthetic run records."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "experiments" / "relax" / "paper_reading.py"


@pytest.fixture(scope="module")
def pr():
    spec = importlib.util.spec_from_file_location("paper_reading", PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop(spec.name, None)


def _point(pr, setting, test_mean, *, val=None, sd=0.001, n=3, complete=True):
    """A summarised setting with ``n`` seeds at ``test_mean ± sd`` (sample SD exactly ``sd``)."""
    offsets = {1: [0.0], 2: [-sd / math.sqrt(2), sd / math.sqrt(2)], 3: [-sd, 0.0, sd]}[n]
    val = test_mean if val is None else val
    return {
        "arm": setting.arm,
        "name": setting.name,
        "depth": setting.depth,
        "l_w": setting.l_w,
        "l_t": setting.l_t,
        "leak": setting.leak,
        "width": setting.width,
        "family": pr.family(setting),
        "bank_params": setting.l_w * (64 * 64 + 64),
        "total_params": 50240 + setting.l_w * (64 * 64 + 64) + 650,
        "lr": 0.001,
        "seeds": list(range(n)),
        "val": [val] * n,
        "test": [test_mean + o for o in offsets],
        "complete": complete,
    }


def _grid(pr, acc, **kw):
    """Every image setting, its test (and validation) accuracy ``acc(setting)``."""
    return [_point(pr, s, acc(s), **kw) for s in pr.image_settings()]


def test_compare_uses_the_pooled_sd(pr):
    a = {"test": [0.90 - 0.03, 0.90, 0.90 + 0.03]}  # sample SD 0.03
    b = {"test": [0.858 - 0.01, 0.858, 0.858 + 0.01]}  # sample SD 0.01
    c = pr.compare(a, b, lower_better=False)
    sp = math.sqrt((2 * 0.03**2 + 2 * 0.01**2) / 4)
    assert c["d"] == pytest.approx(0.042)
    assert c["s_p"] == pytest.approx(sp)
    assert c["se"] == pytest.approx(sp * math.sqrt(2 / 3))
    # 0.042 < 2 s_p = 0.0447 (but > twice the mean of the SDs, 0.040): not beaten
    assert not c["beats"]
    b["test"] = [v - 0.005 for v in b["test"]]  # d = 0.047 > 0.0447
    assert pr.compare(a, b, lower_better=False)["beats"]
    # bits per character: lower is better
    lo = {"test": [1.0, 1.01, 1.02]}
    hi = {"test": [1.2, 1.21, 1.22]}
    assert pr.compare(lo, hi, lower_better=True)["beats"]
    assert not pr.compare(hi, lo, lower_better=True)["beats"]
    assert pr.compare(a, {"test": [0.5]}, lower_better=False) is None


def _wide(pr, depth, leak, acc, **kw):
    s = pr.image_setting(depth, 1, leak, arm="image-rnn-wide", width=81)
    return [_point(pr, s, acc, **kw)]


def test_finding1(pr):
    # R* is chosen on validation: (4, 4) at leak 0.5 has the best validation accuracy, the
    # (2, 8) point the best test accuracy (it must not be chosen)
    def acc(s):
        return 0.80

    image = _grid(pr, acc)
    for p in image:
        if (p["l_w"], p["depth"], p["leak"]) == (4, 16, 0.5):
            p["val"] = [0.90] * 3
            p["test"] = [0.849, 0.85, 0.851]
        if (p["l_w"], p["depth"], p["leak"]) == (2, 16, 0.0):
            p["val"] = [0.85] * 3
            p["test"] = [0.95] * 3
    f = pr.finding1(image, _wide(pr, 16, 0.5, 0.80))
    assert f["rstar"] == "d16-lw4-leak0.5"
    assert f["verdict"] == "reproduced"  # 0.85 vs 0.80 +- 0.001 on both sides
    # the widened RNN of another depth or leak is not R*'s: not yet run
    assert pr.finding1(image, _wide(pr, 16, 0.0, 0.80))["verdict"] == "not yet run"
    # beats the DNN (4, 1) only
    assert pr.finding1(image, _wide(pr, 16, 0.5, 0.851))["verdict"] == "partly reproduced"
    # beats neither: the DNN (4, 1) at leak 0.5 as good
    for p in image:
        if (p["l_w"], p["l_t"], p["leak"]) == (4, 1, 0.5):
            p["test"] = [0.849, 0.85, 0.851]
    assert pr.finding1(image, _wide(pr, 16, 0.5, 0.851))["verdict"] == "not reproduced"
    # an image setting without its seeds: not yet run
    image[0]["complete"] = False
    assert pr.finding1(image, _wide(pr, 16, 0.5, 0.80))["verdict"] == "not yet run"


def test_finding2(pr):
    def acc(s):  # L_W = 2 best at every depth, clearly
        return 0.90 if s.l_w == 2 and s.depth > 2 else 0.80

    image = _grid(pr, acc)
    f = pr.finding2(image)
    assert f["verdict"] == "reproduced" and f["supporting_depths"] == 3
    # at depth 16 the DNN (16, 1) is best on validation: an end, not an intermediate L_W
    for p in image:
        if (p["depth"], p["l_w"], p["leak"]) == (16, 16, 0.0):
            p["val"] = [0.95] * 3
    f = pr.finding2(image)
    assert f["verdict"] == "partly reproduced" and f["supporting_depths"] == 2
    # the intermediate point wins on validation but beats the RNN on test by 1.5 pooled SD
    image = _grid(pr, acc, sd=0.01)
    for depth in (4, 8, 16):
        for p in image:
            if (p["depth"], p["l_w"]) == (depth, 1):
                p["test"] = [v + 0.1 - 0.015 for v in p["test"]]
    f = pr.finding2(image)
    assert f["verdict"] == "not reproduced" and f["supporting_depths"] == 0
    image[3]["complete"] = False
    assert pr.finding2(image)["verdict"] == "not yet run"
    # the ends are compared at the leak of the winner: at leak 0.5 the RNN is as good
    image = _grid(pr, acc)
    for p in image:
        if p["leak"] == 0.5 and p["l_w"] == 1:
            p["test"] = [0.899, 0.90, 0.901]
        if p["leak"] == 0.5 and p["l_w"] == 2:
            p["val"] = [0.91] * 3  # the winners on validation are at leak 0.5
    f = pr.finding2(image)
    assert f["verdict"] == "not reproduced" and f["supporting_depths"] == 0


def _text(pr, bpc, spread):
    out = []
    for s in pr.text_settings():
        p = _point(pr, s, bpc[s.l_w], sd=0.01)
        p["spread"] = [spread[s.l_w]] * 3
        out.append(p)
    return out


def test_finding3(pr):
    bpc = {1: 2.2, 2: 2.1, 4: 2.0, 8: 2.05, 16: 2.1, 32: 2.2, 64: 2.4}
    spread = {1: 1.0, 2: 1.5, 4: 3.0, 8: 5.0, 16: 10.0, 32: 30.0, 64: 100.0}
    f = pr.finding3(_text(pr, bpc, spread))
    assert f["verdict"] == "reproduced"
    # the spread at 64 less than twice that at L* = 4: only (a)
    f = pr.finding3(_text(pr, bpc, {**spread, 64: 5.9}))
    assert f["verdict"] == "partly reproduced"
    # bits per character at 64 within two pooled SD of L*: only (b)
    f = pr.finding3(_text(pr, {**bpc, 64: 2.015}, spread))
    assert f["verdict"] == "partly reproduced"
    # L_W = 64 the best: (a) fails, and the spread ratio is 1
    f = pr.finding3(_text(pr, {**bpc, 64: 1.5}, spread))
    assert f["verdict"] == "not reproduced"
    pts = _text(pr, bpc, spread)
    pts[-1]["complete"] = False
    assert pr.finding3(pts)["verdict"] == "not yet run"


def test_choose_lr_on_validation_only(pr):
    recs = {
        "0.001": {"status": "done", "val": 0.80, "test": 0.99},
        "0.003": {"status": "done", "val": 0.81, "test": 0.50},
    }
    assert pr.choose_lr(recs, text=False) == "0.003"
    assert pr.choose_lr(recs, text=True) == "0.001"  # bits per character: lower is better
    recs["0.003"]["val"] = 0.80
    assert pr.choose_lr(recs, text=False) == "0.001"  # a tie keeps the smaller lr
    recs["0.003"] = {"status": "partial", "val": None, "test": None}
    assert pr.choose_lr(recs, text=False) is None
    recs["0.003"] = {"status": "failed", "val": None, "test": None}
    assert pr.choose_lr(recs, text=False) == "0.001"


def test_markdown_has_a_verdict_in_the_first_line_of_each_finding(pr):
    f = {"verdict": "not yet run", "lines": ["x"]}
    text = pr.paper_markdown(f, f, f, [])
    for k in (1, 2, 3):
        section = text.split(f"## Finding {k}\n\n", 1)[1]
        assert section.splitlines()[0] == "Verdict: **not yet run**."


def test_the_committed_results_are_what_aggregate_writes_from_the_committed_runs(
    pr, tmp_path, monkeypatch
):
    """``results/paper_reading.md``, ``paper_points.json`` and ``paper_lr.json`` are
    regenerated from the committed run records (``paper_runs/``) by ``aggregate``, byte for
    byte: a number edited in a results file, or a run record changed without aggregating,
    fails here. (Pure arithmetic on stored metrics: the same on every CPU.)"""
    results = PATH.parent / "results"
    monkeypatch.setattr(pr, "RESULTS", tmp_path)
    (tmp_path / "table.md").write_text((results / "table.md").read_text())
    pr.aggregate(log=lambda msg: None)
    for name in ("paper_reading.md", "paper_points.json", "paper_lr.json", "table.md"):
        assert (tmp_path / name).read_text() == (results / name).read_text(), name


def test_the_readme_states_the_verdicts_of_paper_reading():
    """The README's ReLaX row quotes each finding's verdict as ``paper_reading.md`` computes
    it (once every finding has one)."""
    import re

    text = (PATH.parent / "results" / "paper_reading.md").read_text()
    verdicts = {
        k: re.search(rf"## Finding {k}\n\nVerdict: \*\*(.+?)\*\*", text).group(1) for k in (1, 2, 3)
    }
    readme = (PATH.parents[2] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| [`relax`]"))
    if "not yet run" in verdicts.values():
        assert "Finding 1" not in row  # no verdict quoted before the study has finished
        return
    for k, verdict in verdicts.items():
        m = re.search(rf"Finding {k}[^*]*\*\*([^*]+)\*\*", row)
        assert m is not None, f"the README's relax row quotes no verdict of Finding {k}"
        assert m.group(1) == verdict, (k, m.group(1), verdict)

"""Every figure in the marked tables of the README and the docs is backed by a results file.

A table is marked by an HTML comment line ``<!-- table: NAME -->`` before it and
``<!-- /table -->`` after it. In a marked table:

* each row that quotes a figure links the results file(s) it comes from: a markdown
  link to a file under ``experiments/*/results/`` or ``benchmarks/results/`` (relative
  to the markdown file), and the file exists. A row whose first cell is empty continues
  the row above it and shares its links;
* every figure in the row's checked columns appears in one of those files. A figure is
  a number with a decimal point (``97.84``, ``3.6e-6``), a ratio (``15x``, ``732×``) or a
  power of ten (``3.0×10⁶``). It appears when a number in the file rounds to it at the
  precision it is written with (``0.9784`` or ``97.8412`` for ``97.84``; a percentage may
  be stored as a fraction); signs are ignored.

Checked columns: all but the first (the row's label) and those whose header names the
paper (the paper's number is quoted from the paper, not from a file).

So a figure edited in the README and not in its results file, or the other way round,
fails this test.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Figures derived from file values rather than copied: (markdown file, row label start,
# figure) -> how it is derived. Each is checked by its derivation below, not skipped.
DERIVED: dict = {
    # (document, row label start, figure): ("mean", (figures in the linked files)) for a
    # figure that a row computes from others rather than copies
}

_START = re.compile(r"^<!--\s*table:\s*([\w-]+)\s*-->\s*$")
_END = re.compile(r"^<!--\s*/table\s*-->\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
# order matters: powers of ten, e-notation, decimals (optionally a ratio), integer ratios
_FIGURE = re.compile(
    r"(?P<pow>\d+(?:\.\d+)?)\s*[×x]\s*10(?P<exp>[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
    r"|(?<![\w.])(?P<sci>\d+(?:\.\d+)?[eE][-+]?\d+)"
    r"|(?<![\w.])(?P<dec>\d+\.\d+)(?![\d.]*\d)"
    r"|(?<![\w.])(?P<ratio>\d+)[x×](?![\w\d²])"
)
_FILE_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_RESULTS = re.compile(r"^(?:.*/)?(?:experiments/[^/]+/results/|benchmarks/results/)")


def _figures(text: str):
    """(token, value, half-width of its last digit) for every figure in ``text``."""
    out = []
    for m in _FIGURE.finditer(text):
        if m.group("pow"):
            mant = m.group("pow")
            exp = int(m.group("exp").translate(_SUPERSCRIPT))
            digits = len(mant.split(".")[1]) if "." in mant else 0
            out.append((m.group(0), float(mant) * 10.0**exp, 0.5 * 10.0 ** (exp - digits)))
        elif m.group("sci"):
            tok = m.group("sci")
            mant, exp = re.split("[eE]", tok)
            digits = len(mant.split(".")[1]) if "." in mant else 0
            out.append((tok, float(tok), 0.5 * 10.0 ** (int(exp) - digits)))
        elif m.group("dec"):
            tok = m.group("dec")
            out.append((tok, float(tok), 0.5 * 10.0 ** -len(tok.split(".")[1])))
        else:
            tok = m.group("ratio")
            out.append((tok + "x", float(tok), 0.5))
    return out


def _file_numbers(path: Path) -> list[float]:
    return [float(t.replace(",", "")) for t in _FILE_NUMBER.findall(path.read_text())]


def _backed(value: float, half: float, numbers) -> bool:
    tol = half * (1 + 1e-9) + 1e-15
    return any(abs(f - value) <= tol or abs(100.0 * f - value) <= tol for f in numbers)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def marked_tables(path: Path):
    """(name, header cells, [(line number, row cells, raw line)]) of each marked table."""
    lines = path.read_text().splitlines()
    tables, i = [], 0
    while i < len(lines):
        m = _START.match(lines[i])
        if not m:
            i += 1
            continue
        name, rows, j = m.group(1), [], i + 1
        while j < len(lines) and not _END.match(lines[j]):
            if lines[j].lstrip().startswith("|"):
                rows.append((j + 1, lines[j]))
            j += 1
        assert j < len(lines), f"{path.name}:{i + 1}: table {name!r} has no <!-- /table -->"
        assert len(rows) >= 3, f"{path.name}:{i + 1}: table {name!r} has no rows"
        header = _cells(rows[0][1])
        body = [(n, _cells(raw), raw) for n, raw in rows[2:]]
        tables.append((name, header, body))
        i = j + 1
    return tables


def _check_table(path: Path, header, body) -> list[str]:
    problems = []
    checked = [k for k, h in enumerate(header) if k > 0 and "paper" not in h.lower()]
    group_targets: list[str] = []
    label = ""
    for lineno, cells, raw in body:
        where = f"{path.relative_to(ROOT)}:{lineno}"
        targets = [t for _, t in _LINK.findall(raw) if _RESULTS.match(t)]
        if cells[0]:
            label, group_targets = cells[0], targets
        else:  # continues the row above
            targets = targets or group_targets
        files = []
        for t in targets:
            f = (path.parent / t).resolve()
            if not f.is_file():
                problems.append(f"{where}: linked results file {t} does not exist")
            else:
                files.append(f)
        numbers = [x for f in files for x in _file_numbers(f)]
        for k in checked:
            if k >= len(cells):
                continue
            text = _LINK.sub(r"\1", cells[k])
            for tok, value, half in _figures(text):
                if not targets:
                    problems.append(
                        f"{where}: {tok} quoted, but the row links no results file "
                        "(experiments/*/results/ or benchmarks/results/)"
                    )
                    continue
                derived = next(
                    (
                        d
                        for (doc, start, fig), d in DERIVED.items()
                        if doc == path.name and label.startswith(start) and fig == tok
                    ),
                    None,
                )
                if derived is not None:
                    kind, parts = derived
                    vals = [float(p) for p in parts]
                    ok = all(_backed(v, 0.005, numbers) for v in vals)
                    ok = ok and kind == "mean" and abs(sum(vals) / len(vals) - value) <= half
                    if not ok:
                        problems.append(f"{where}: {tok} is not the {kind} of {parts}")
                elif not _backed(value, half, numbers):
                    names = ", ".join(str(f.relative_to(ROOT)) for f in files)
                    problems.append(f"{where}: {tok} is in none of {names}")
    return problems


def test_marked_tables_exist():
    names = {name for name, _, _ in marked_tables(ROOT / "README.md")}
    assert {"parts", "results", "speed", "peers"} <= names, names


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_figure_matches_its_results_file(path):
    problems = []
    for _, header, body in marked_tables(path):
        problems += _check_table(path, header, body)
    assert not problems, "\n".join(problems)


def test_figure_parser():
    toks = [t for t, _, _ in _figures("97.84 %; 15x; 732× at 100×100; 3.0×10⁶; 3.6e-6; v 2.13.0")]
    assert toks == ["97.84", "15x", "732x", "3.0×10⁶", "3.6e-6"]
    assert _backed(97.84, 0.005, [0.9784])
    assert _backed(3.0e6, 0.05e6, [3030303.1])
    assert not _backed(97.85, 0.005, [0.9784, 97.84])
    assert math.isclose(_figures("3.11e-7")[0][2], 0.5e-9)

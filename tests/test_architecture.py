"""The import direction of docs/architecture.md#layers, enforced by an AST walk over photonn/.

units -> grid -> functional -> devices -> {freespace, onchip, activations, encoding,
data} -> reuse -> models -> {training, export, plotting} -> runs -> cli. Private base
modules (``_checks``, ``_module``, ``_io``, ``_version``, ``_spec``, ``_toml``) import
nothing from photonn and may be used anywhere. The training loop knows no model and no
dataset: ``training`` imports none of the element, model or data packages (only
``runs`` knows which models and datasets exist).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "photonn"

# rank of each top-level part; a module may import only parts of lower or equal rank
# (equal only within itself), never a higher one.
RANK = {
    "_version": 0,
    "_checks": 0,
    "_module": 0,
    "_io": 0,
    "_spec": 0,
    "_toml": 0,
    "units": 0,
    "grid": 1,
    "functional": 2,
    # profile files -> SI values; below the element packages that build from profiles
    # (SLM.from_profile, MZIMesh.from_profile)
    "devices": 2.5,
    "freespace": 3,
    "onchip": 3,
    "activations": 3,
    "encoding": 3,
    "data": 3,
    "circuits": 3.2,  # netlist circuits: may import onchip, functional, devices
    # time-multiplexed reuse of element layers, below the models built on it
    "reuse": 3.5,
    "models": 4,
    "training": 5,
    "export": 5,
    "plotting": 5,
    # run recipes: configuration schema, model kinds, datasets, run directories
    "runs": 6,
    "demo": 6,
    "cli": 7,
    "__main__": 8,
    "__init__": 7,
}
# pairs that must not import each other even where the ranks allow it
FORBIDDEN = {("freespace", "onchip"), ("onchip", "freespace")} | {
    ("training", part)
    for part in (
        "models",
        "data",
        "encoding",
        "freespace",
        "onchip",
        "activations",
        "reuse",
        "devices",
        "plotting",
    )
}
HEAVY = {"matplotlib"}


def _part(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg_parts = list(path.relative_to(PKG).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (
                    pkg_parts[: len(pkg_parts) - (node.level - 1)] if node.level > 1 else pkg_parts
                )
                mod = ".".join(base + ([node.module] if node.module else []))
                if not mod:
                    for alias in node.names:
                        yield alias.name, node.lineno
                    continue
                yield mod, node.lineno
            elif node.module:
                if node.module.startswith("photonn"):
                    yield node.module.removeprefix("photonn").lstrip("."), node.lineno
                else:
                    yield "!" + node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("photonn"):
                    yield alias.name.removeprefix("photonn").lstrip("."), node.lineno
                else:
                    yield "!" + alias.name, node.lineno


def test_imports_point_one_way():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        src = _part(path)
        if src not in RANK:
            bad.append(f"{path.relative_to(PKG)}: part {src!r} has no rank in this test; add it")
            continue
        for mod, line in _imports(path):
            if mod.startswith("!"):
                top = mod[1:].split(".")[0]
                if top in HEAVY and src not in ("demo", "cli", "plotting"):
                    # matplotlib only inside functions of plotting/demo/cli
                    bad.append(f"{path.relative_to(PKG)}:{line} imports {top}")
                continue
            dst = mod.split(".")[0]
            if not dst or dst == src:
                continue
            if dst not in RANK:
                bad.append(f"{path.relative_to(PKG)}:{line} imports unknown part {dst!r}")
            elif (src, dst) in FORBIDDEN:
                bad.append(f"{path.relative_to(PKG)}:{line}: {src} must not import {dst}")
            elif RANK[dst] > RANK[src] or (RANK[dst] == RANK[src] and RANK[src] > 0):
                bad.append(
                    f"{path.relative_to(PKG)}:{line}: {src} (rank {RANK[src]}) imports "
                    f"{dst} (rank {RANK[dst]})"
                )
    assert not bad, "import direction violated:\n" + "\n".join(bad)


def test_core_never_imports_training_cli_or_matplotlib():
    core = {"units", "grid", "functional", "freespace", "onchip", "activations", "encoding"}
    for path in sorted(PKG.rglob("*.py")):
        if _part(path) not in core:
            continue
        for mod, line in _imports(path):
            top = mod.lstrip("!").split(".")[0]
            assert top not in {"training", "cli", "matplotlib", "export"}, f"{path}:{line} {mod}"


def test_training_knows_no_model_and_no_dataset():
    """The loop trains any nn.Module: photonn/training imports no model, element or data code."""
    bad = []
    for path in sorted((PKG / "training").rglob("*.py")):
        for mod, line in _imports(path):
            top = mod.lstrip("!").split(".")[0]
            if not mod.startswith("!") and top in {p for _, p in FORBIDDEN if _ == "training"}:
                bad.append(f"{path.relative_to(PKG)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


# -- docs/architecture.md states the same layers --------------------------------------
DOC = PKG.parent / "docs" / "architecture.md"


def _doc_block(name: str) -> list[list[str]]:
    """The rows (split on whitespace) of the fenced block between ``<!-- NAME: begin -->``
    and ``<!-- NAME: end -->`` in docs/architecture.md."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- {name}: begin -->\s*```text\n(.*?)```\s*<!-- {name}: end -->", text, re.S
    )
    assert found, f"{DOC} has no {name!r} block (<!-- {name}: begin --> ... <!-- {name}: end -->)"
    return [row.split() for row in found.group(1).splitlines() if row.strip()]


def test_docs_state_the_enforced_ranks():
    doc: dict[str, float] = {}
    for rank, *parts in _doc_block("layer-ranks"):
        for part in parts:
            assert part not in doc, f"{DOC} ranks {part!r} twice"
            doc[part] = float(rank)
    wrong = sorted(
        f"{part}: docs {doc.get(part)}, test {RANK.get(part)}"
        for part in set(doc) | set(RANK)
        if doc.get(part) != RANK.get(part)
    )
    assert not wrong, f"{DOC} and RANK disagree (update both):\n" + "\n".join(wrong)


def test_docs_state_the_forbidden_imports():
    doc = {(src, dst) for src, *dsts in _doc_block("forbidden-imports") for dst in dsts}
    assert doc == FORBIDDEN, (
        f"{DOC} and FORBIDDEN disagree: only in the docs {sorted(doc - FORBIDDEN)}, "
        f"only in the test {sorted(FORBIDDEN - doc)}"
    )


def test_docs_chain_follows_the_ranks():
    """The chain ``units -> grid -> ...`` written in the docs climbs the ranks."""
    found = re.search(r"the chain reads `([^`]+)`", " ".join(DOC.read_text("utf-8").split()))
    assert found, f"{DOC} states no import chain ('the chain reads `units -> ...`')"
    steps = [
        [p.strip() for p in step.strip().strip("{}").split(",")] for step in found[1].split("->")
    ]
    ranks = []
    for step in steps:
        assert len({RANK[p] for p in step}) == 1, f"{step} are not of one rank"
        ranks.append(RANK[step[0]])
    assert ranks == sorted(set(ranks)), f"the chain {found[1]!r} does not climb the ranks"


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_references_to_the_docs_name_existing_sections():
    """Every link to a section of docs/architecture.md (in the code, the tests, docs/ and the
    README) names a heading of it."""
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", DOC.read_text("utf-8"), re.M)}
    root = PKG.parent
    files = [*PKG.rglob("*.py"), *(root / "tests").rglob("*.py"), *(root / "docs").glob("*.md")]
    bad = []
    for path in sorted([*files, root / "README.md"]):
        for anchor in re.findall(r"architecture\.md#([\w-]+)", path.read_text("utf-8")):
            if anchor not in anchors:
                bad.append(f"{path}: #{anchor}")
    assert not bad, f"no such section in {DOC}:\n" + "\n".join(bad)

"""``export``: write the export directory of a trained network (see :mod:`photonn.export`
for its layout), atomically, through :mod:`._swap`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch import nn

from .._io import atomic_write_text
from .._version import __version__
from . import _toml
from ._swap import replace_directory
from .bundle import Array, write_bundle
from .channels import channel_rows, channels_csv, channels_json, zero_channels_csv
from .chip import UNITS, Chip
from .images import write_gray_bmp, write_gray_png
from .manifest import (
    BUNDLE,
    MANIFEST,
    SCHEMA_VERSION,
    build_manifest,
    correction_file,
    profile_copies,
    sha256,
)
from .netlist import netlist
from .plan import ExportPlan, evaluating, plan_export
from .slm import SLMLayer

__all__ = ["export", "hooks"]


class _Hooks:
    """Test hooks: ``after_file(path)`` runs after each file of an export is written."""

    after_file = staticmethod(lambda path: None)


hooks = _Hooks()


def export(
    model: nn.Module,
    out_dir,
    device=None,
    *,
    force: bool = False,
    config: dict | None = None,
    metrics: dict | None = None,
    kind: str | None = None,
    **options,
) -> Path:
    """Write the export directory of a trained network for its hardware controllers.

    Args:
        model, device: as :func:`~photonn.export.plan_export` takes them.
        out_dir: the directory to write (its parent is created).
        force: replace an existing export directory.
        config, metrics, kind: the run's configuration, training metrics and model
            kind, recorded in the manifest.
        **options: the settings options of :func:`~photonn.export.plan_export`
            (``bits``, ``fill_phase``, ``correction``, ``two_pi_value``, ``crosstalk``,
            ``compensate_crosstalk``, ``calibration``), or for printed and etched
            layers ``fabrication=MATERIAL`` with ``levels``, ``base_m``, ``max_height_m``,
            ``resolution_m``, ``n_medium`` (:mod:`photonn.export.fabrication`).

    Returns:
        ``Path(out_dir)``.

    The directory is written beside the target under a temporary name and renamed
    into place (swapped atomically with an old export when ``force``), so a crash
    leaves the old export or the new one, never a mix.
    """
    out = Path(out_dir)
    if out.exists():
        if not force:
            raise FileExistsError(
                f"{out} exists; pass force=True (photonn export --force) to replace it"
            )
        if not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file()):
            raise ValueError(
                f"{out} is not a photonn export directory (no {MANIFEST}); refusing to replace it"
            )
    with evaluating(model):
        plan = plan_export(model, device, **options)
        replace_directory(out, lambda root: _write_plan(plan, root, config, metrics, kind))
    return out


class _Files:
    """Writes the files of one export under ``root``, remembering each (for the
    manifest's hashes) and calling :data:`hooks` after each."""

    def __init__(self, root: Path):
        self.root = root
        self.written: list[Path] = []

    def _path(self, rel: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def add(self, p: Path) -> str:
        """Record the written file ``p``; its path in the export."""
        self.written.append(p)
        hooks.after_file(p)
        return str(p.relative_to(self.root))

    def text(self, rel: str, text: str) -> str:
        p = self._path(rel)
        p.write_text(text, encoding="utf-8")
        return self.add(p)

    def copy(self, src, rel: str) -> str:
        p = self._path(rel)
        shutil.copyfile(src, p)
        return self.add(p)

    def image(self, rel: str, write, gray, bits: int) -> str:
        return self.add(write(self._path(rel), gray, bits))


def _chip_files(chip: Chip, files: _Files) -> dict[str, str]:
    """Write a chip's controller files; file key -> path in the export."""
    d = f"chips/{chip.name}"
    rows = channel_rows(chip)
    written = {
        "channels": files.text(f"{d}/channels.csv", channels_csv(rows)),
        "channels_json": files.text(f"{d}/channels.json", channels_json(chip, rows)),
        "netlist": files.text(f"{d}/netlist.json", _json(netlist(chip))),
        "zero_channels": files.text(f"{d}/zero_channels.csv", zero_channels_csv(rows)),
    }
    if chip.calibration is not None and Path(chip.calibration).is_file():
        written["heater_calibration"] = files.copy(chip.calibration, f"{d}/heater_calibration.csv")
    return written


def _json(doc: dict) -> str:
    return json.dumps(doc, indent=1) + "\n"


def _slm_tree(L: SLMLayer) -> dict:
    gdt = torch.uint8 if L.bits <= 8 else torch.int32
    tree = {
        "target": Array(L.target, unit="rad", description="the model's phase per neuron"),
        "realised": Array(L.realised, unit="rad", description="phase the light sees per neuron"),
        "gray": Array(L.gray.to(gdt), unit="gray level", bits=L.bits),
        "lut": Array(L.lut, unit="rad", description="phase per gray level at the wavelength"),
        "centre_rows": Array(L.centres[0], unit="pixel"),
        "centre_columns": Array(L.centres[1], unit="pixel"),
    }
    if L.correction is not None:
        tree["correction"] = Array(L.correction, unit="rad", description="wavefront correction")
    return tree


def _chip_tree(chip: Chip) -> dict:
    tree = {
        k: Array(v) if isinstance(v, list) else Array(v, unit=UNITS.get(k, ""))
        for k, v in chip.channels.items()
    }
    tree["crosstalk_index"] = Array(chip.crosstalk_index, description="(receiver, source)")
    tree["crosstalk_value"] = Array(chip.crosstalk_value, description="coupling fraction")
    return tree


def _write_plan(plan: ExportPlan, root: Path, config, metrics, kind) -> None:
    files = _Files(root)
    for L in plan.slm:
        g = L.gray.numpy()
        files.image(f"slm/{L.element}.png", write_gray_png, g, L.bits)
        if L.bits <= 8:
            files.image(f"slm/{L.element}.bmp", write_gray_bmp, g, L.bits)
        src = plan.corrections.get(L.element, (None, 0))[0]
        if src is not None:
            files.copy(src, correction_file(L.element, src))
    for key, prof in plan.devices.items():
        for src, rel in profile_copies(key, prof):
            files.copy(src, rel)
    chip_files = {chip.name: _chip_files(chip, files) for chip in plan.chips}
    manifest = build_manifest(plan, chip_files, config, metrics, kind)
    tree = {
        "slm": {L.element: _slm_tree(L) for L in plan.slm},
        "chips": {c.name: _chip_tree(c) for c in plan.chips},
    }
    if plan.fabricated:
        from .fabrication import CONVENTION, fabrication_tree, write_fabrication

        manifest["fabrication"] = write_fabrication(plan, files)
        manifest["conventions"] = {**manifest["conventions"], "fabrication": CONVENTION}
        tree["fabrication"] = fabrication_tree(plan)
    write_bundle(
        root / BUNDLE,
        tree,
        attrs={"schema_version": SCHEMA_VERSION, "photonn_version": __version__},
    )
    files.add(root / BUNDLE)
    manifest["files"] = {
        str(p.relative_to(root)): sha256(p) for p in sorted(files.written, key=str)
    }
    atomic_write_text(root / MANIFEST, _toml.dumps(manifest))
    hooks.after_file(root / MANIFEST)

"""Pictures of a hardware export: each SLM image, and the heater powers of each chip.

Inputs are the export's manifest and bundle as :func:`photonn.export.read_manifest`
and :func:`photonn.export.read_bundle` return them (plain dicts of values and
tensors), so this module needs nothing of :mod:`photonn.export`. matplotlib is
imported only inside the functions (``Agg`` backend).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..functional.mzi_mesh import mesh_layout
from .figures import _plt, _save

_DPI = 110


def plot_export(manifest: dict, bundle: dict, out_dir) -> list[Path]:
    """One PNG per SLM element (``slm_<element>.png``) and per chip (``chip_<name>.png``).

    Args:
        manifest: the export's ``manifest.toml`` as a dict (its ``slm`` and ``chips``
            records; either may be absent).
        bundle: the export's ``bundle.h5`` as a nested dict of tensors.
        out_dir: directory for the PNGs (created if missing).

    Returns:
        the written paths, SLM pictures first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for rec in manifest.get("slm", []):
        path = out_dir / f"slm_{rec['element']}.png"
        written.append(plot_slm_image(rec, bundle["slm"][rec["element"]], path))
    for rec in manifest.get("chips", []):
        path = out_dir / f"chip_{rec['name']}.png"
        written.append(plot_chip_heaters(rec, bundle["chips"][rec["name"]], path))
    return written


def plot_slm_image(record: dict, arrays: dict, out) -> Path:
    """An SLM element's gray levels, a close-up of the mask's pixels, and the phase
    [rad] the light sees (with the rms phase error of the export).

    Args:
        record: the element's manifest record (``element``, ``device``, ``bits``,
            ``report['phase_rms_rad']``).
        arrays: its bundle group: ``gray`` (pixel rows, pixel columns), ``realised``
            (neuron rows, neuron columns) [rad], ``centre_rows``, ``centre_columns``.
        out: the PNG to write.
    """
    plt = _plt()
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    gray = arrays["gray"].numpy()
    top = 2 ** record["bits"] - 1
    im = ax[0].imshow(gray, cmap="gray", vmin=0, vmax=top)
    ax[0].set_title(
        f"{record['element']} on {record['device']}: gray levels ({record['bits']} bit)"
    )
    ax[0].set_xlabel("pixel column")
    ax[0].set_ylabel("pixel row")
    fig.colorbar(im, ax=ax[0], fraction=0.04)
    rows, cols = arrays["centre_rows"].numpy(), arrays["centre_columns"].numpy()
    r0, r1 = max(int(rows.min()) - 2, 0), int(rows.max()) + 3
    c0, c1 = max(int(cols.min()) - 2, 0), int(cols.max()) + 3
    im = ax[1].imshow(
        gray[r0:r1, c0:c1],
        cmap="gray",
        vmin=0,
        vmax=top,
        extent=(c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5),
    )
    ax[1].set_title("the mask's pixels", fontsize=10)
    ax[1].set_xlabel("pixel column")
    fig.colorbar(im, ax=ax[1], fraction=0.04)
    phase = arrays["realised"].numpy() % (2 * math.pi)
    im = ax[2].imshow(phase, cmap="twilight", vmin=0, vmax=2 * math.pi)
    rms = record["report"]["phase_rms_rad"]
    ax[2].set_title(f"phase the light sees [rad]; error rms {rms:.2g} rad", fontsize=10)
    ax[2].set_xlabel("neuron column")
    ax[2].set_ylabel("neuron row")
    fig.colorbar(im, ax=ax[2], fraction=0.04)
    fig.tight_layout()
    return _save(fig, out, _DPI)


def plot_chip_heaters(record: dict, arrays: dict, out) -> Path:
    """The heater power [mW] of every channel of a chip, one panel per element: a mesh
    on its layout (an MZI's two heaters summed, the output phase screen as the last
    column), any other element as a column of channels.

    Args:
        record: the chip's manifest record (``name``, ``elements`` with ``name``,
            ``kind``, ``first_channel``, ``channels``, and for a mesh ``modes`` and
            ``layout``; ``report`` with ``channels`` and ``total_power_W``).
        arrays: its bundle group: ``power_W`` (channels,) [W].
        out: the PNG to write.
    """
    plt = _plt()
    power = arrays["power_W"].numpy() * 1e3
    els = record["elements"]
    fig, axes = plt.subplots(1, len(els), figsize=(3.2 * len(els) + 1, 4.2), squeeze=False)
    vmax = float(power.max()) if power.size else 1.0
    for ax, e in zip(axes[0], els):
        p = power[e["first_channel"] : e["first_channel"] + e["channels"]]
        if e["kind"] == "mesh":
            lay = mesh_layout(e["modes"], e["layout"])
            k = lay.n_mzi
            x = list(lay.columns) + [lay.n_columns] * e["modes"]
            y = [top + 0.5 for top in lay.tops] + list(range(e["modes"]))
            c = list(p[: 2 * k : 2] + p[1 : 2 * k : 2]) + list(p[2 * k :])
        else:
            x, y, c = [0] * e["channels"], list(range(e["channels"])), list(p)
        sc = ax.scatter(
            x,
            y,
            c=c,
            s=max(4, 2000 / max(len(c), 1)),
            marker="s",
            cmap="inferno",
            vmin=0,
            vmax=vmax,
        )
        ax.set_title(e["name"], fontsize=9)
        ax.set_xlabel("column (last: output screen)" if e["kind"] == "mesh" else "")
        ax.set_ylabel("mode")
        ax.invert_yaxis()
    fig.colorbar(sc, ax=list(axes[0]), fraction=0.03, label="heater power [mW] (MZI: both)")
    fig.suptitle(
        f"chip {record['name']}: {record['report']['channels']} channels, "
        f"{record['report']['total_power_W']:.3g} W"
    )
    return _save(fig, out, _DPI)

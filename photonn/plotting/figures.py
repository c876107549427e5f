"""Figures: phase masks, intensity at every plane, detector regions, training curves.

Inputs are plain tensors/arrays (``[..., y, x]`` layout) and lengths in metres,
so these work for any model; :mod:`photonn.plotting.d2nn` extracts them from a
D2NN. matplotlib is imported only inside the functions (``Agg`` backend).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_path


def _plt():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "pictures need matplotlib: install the plot extra, pip install 'photonn[plot]'"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _save(fig, out, dpi: int = 100) -> Path:
    plt = _plt()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return out


def _extent(shape, pitch):
    """imshow extent [mm] of a centred ``shape`` grid with ``pitch`` [m] (or pixels if None)."""
    ny, nx = shape
    if pitch is None:
        return None
    sx, sy = nx * pitch * 1e3, ny * pitch * 1e3
    return [-sx / 2, sx / 2, -sy / 2, sy / 2]


def _tiles(count: int, width: float = 3.2, cols_max: int = 5):
    plt = _plt()
    cols = min(count, cols_max)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, list(axes.flat[:count])


def plot_phase_masks(phases, out, *, pitch: float | None = None, titles=None) -> Path:
    """Each phase mask (radians, shown wrapped to ``[0, 2 pi)``) in its own panel.

    Args:
        phases: sequence of real ``(ny, nx)`` tensors [rad].
        out: PNG path.
        pitch: pixel pitch [m] for axes in mm (pixels when None).
    """
    phases = [_np(p) for p in phases]
    if not phases:
        raise ValueError("plot_phase_masks needs at least one phase mask")
    fig, axes = _tiles(len(phases))
    for i, (ax, ph) in enumerate(zip(axes, phases)):
        im = ax.imshow(
            np.mod(ph, 2 * np.pi),
            cmap="twilight",
            vmin=0,
            vmax=2 * np.pi,
            extent=_extent(ph.shape, pitch),
        )
        ax.set_title(titles[i] if titles else f"layer {i + 1} phase")
        ax.set_xlabel("x [mm]" if pitch else "x [px]")
        fig.colorbar(im, ax=ax, fraction=0.046, label="rad")
    fig.tight_layout()
    return _save(fig, out)


def plot_planes(intensities, out, *, pitch: float | None = None, titles=None) -> Path:
    """Intensity ``|E|^2`` at every plane for one input, each panel scaled to its maximum."""
    ints = [_np(i) for i in intensities]
    if not ints:
        raise ValueError("plot_planes needs at least one plane")
    fig, axes = _tiles(len(ints), cols_max=4)
    for i, (ax, a) in enumerate(zip(axes, ints)):
        ax.imshow(
            a / (a.max() or 1.0), cmap="inferno", vmin=0, vmax=1, extent=_extent(a.shape, pitch)
        )
        ax.set_title(titles[i] if titles else f"plane {i}")
        ax.set_xlabel("x [mm]" if pitch else "x [px]")
    fig.tight_layout()
    return _save(fig, out)


def plot_detector(intensity, regions, energies, out, *, label=None, pitch=None) -> Path:
    """Output intensity with the class regions outlined, and the energy per class.

    Args:
        intensity: ``(ny, nx)`` output-plane intensity.
        regions: ``(C, ny, nx)`` region masks (non-zero inside a region).
        energies: ``(C,)`` energy (or probability) per class.
        label: the true class, highlighted in the bar chart.
    """
    plt = _plt()
    a, reg, e = _np(intensity), _np(regions), _np(energies).reshape(-1)
    if reg.ndim != 3 or reg.shape[0] != e.shape[0] or reg.shape[1:] != a.shape:
        raise ValueError(
            f"regions must be (C, ny, nx) = ({e.shape[0]}, {a.shape[0]}, {a.shape[1]}), "
            f"got {reg.shape}"
        )
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2))
    ext = _extent(a.shape, pitch)
    ax0.imshow(a / (a.max() or 1.0), cmap="inferno", extent=ext, origin="upper")
    ny, nx = a.shape
    ys = np.linspace(ext[3], ext[2], ny) if ext else np.arange(ny)
    xs = np.linspace(ext[0], ext[1], nx) if ext else np.arange(nx)
    best = int(np.argmax(e))
    for c in range(reg.shape[0]):
        color = "lime" if c == best else "white"
        ax0.contour(xs, ys, (reg[c] > 0).astype(float), levels=[0.5], colors=color, linewidths=1)
        yy, xx = np.nonzero(reg[c])
        if yy.size:
            ax0.text(
                xs[int(xx.mean())],
                ys[int(yy.mean())],
                str(c),
                color=color,
                ha="center",
                va="center",
                fontsize=8,
            )
    ax0.set_title("output plane and class regions")
    ax0.set_xlabel("x [mm]" if pitch else "x [px]")
    colors = ["tab:gray"] * e.shape[0]
    colors[best] = "tab:green"
    if label is not None:
        colors[int(label)] = "tab:blue" if int(label) != best else "tab:green"
    ax1.bar(np.arange(e.shape[0]), e / (e.sum() or 1.0), color=colors)
    ax1.set_xticks(np.arange(e.shape[0]))
    ax1.set(
        xlabel="class",
        ylabel="share of detected energy",
        title=f"predicted {best}" + (f", true {int(label)}" if label is not None else ""),
    )
    fig.tight_layout()
    return _save(fig, out)


def plot_history(history, out) -> Path:
    """Training curves: loss and accuracy per epoch (train and, if present, validation and test)."""
    plt = _plt()
    if not history:
        raise ValueError("plot_history needs at least one epoch of history")
    ep = [h["epoch"] for h in history]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", ax0), ("accuracy", ax1)):
        for split, style in (("train", "o-"), ("val", "^-"), ("test", "s--")):
            vals = [h.get(f"{split}_{key}") for h in history]
            if all(v is not None for v in vals):
                ax.plot(ep, vals, style, label=split)
        ax.set(xlabel="epoch", ylabel=key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return _save(fig, out)

"""All pictures of a trained :class:`photonn.models.D2NN` in one call."""

from __future__ import annotations

from pathlib import Path

import torch

from .figures import plot_detector, plot_history, plot_phase_masks, plot_planes


@torch.no_grad()
def plot_d2nn(model, image, out_dir, *, label=None, history=None, prefix: str = "") -> list[Path]:
    """Phase masks, the intensity at every plane and the detector readout for ``image``.

    Args:
        model: a :class:`photonn.models.D2NN` (anything with ``phases()``,
            ``planes(image)``, ``energies(images)``, ``detector.masks`` and ``grid``).
        image: one real image ``(H, W)`` in ``[0, 1]`` (uint8 is scaled by 1/255).
        out_dir: directory for the PNGs.
        label: its true class (shown on the detector picture).
        history: metrics per epoch (see :class:`photonn.training.Trainer`); adds
            ``curves.png`` when given and not empty.

    Returns:
        the written paths: ``phase_masks.png``, ``planes.png``, ``detector.png``
        (and ``curves.png``), each prefixed by ``prefix``.
    """
    out_dir = Path(out_dir)
    if image.dtype == torch.uint8:
        image = image.float() / 255.0
    device = model.detector.masks.device
    image = image.to(device)
    pitch = model.grid.dx
    L = model.num_layers
    planes = model.planes(image)
    titles = ["input"] + [f"before layer {i + 1}" for i in range(L)] + ["detector plane"]
    energies = model.energies(image[None])[0]
    regions = model.detector.masks
    if regions.shape[0] != energies.shape[0]:  # differential: show the positive regions
        regions = regions[: energies.shape[0]]
    out = [
        plot_phase_masks(
            list(model.phases().cpu()), out_dir / f"{prefix}phase_masks.png", pitch=pitch
        ),
        plot_planes(
            list(planes.cpu()), out_dir / f"{prefix}planes.png", pitch=pitch, titles=titles
        ),
        plot_detector(
            planes[-1].cpu(),
            regions.cpu(),
            energies.cpu(),
            out_dir / f"{prefix}detector.png",
            label=label,
            pitch=pitch,
        ),
    ]
    if history:
        out.append(plot_history(history, out_dir / f"{prefix}curves.png"))
    return out

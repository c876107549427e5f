"""Model descriptions: what ``photonn.export.load`` needs to rebuild a network.

:func:`describe` turns a supported model into a plain dict (TOML-ready: numbers,
strings, lists, tables) and :func:`build` builds the same network from it. The
hardware settings (phase masks, mesh phases) are not part of the description:
the export sets them from the device files. Supported: :class:`~photonn.models.D2NN`
(with box detector regions and no detector noise), :class:`~photonn.models.PhotonicMLP`
(activation ``"abs"`` or ``"abs2"``), :class:`~photonn.encoding.ImageToVector` and
``nn.Sequential`` of these.
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoding.vector import ImageToVector
from ..grid import Grid
from ..models.d2nn import D2NN
from ..models.photonic_mlp import ACTIVATIONS, PhotonicMLP
from ..models.polarization_d2nn import PolarizationD2NN, PolarizationTask

__all__ = ["describe", "build", "SUPPORTED"]

SUPPORTED = ("D2NN", "PhotonicMLP", "ImageToVector", "Sequential")
_DTYPES = {
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    "float32": torch.float32,
    "float64": torch.float64,
}


def _dtype_name(dt: torch.dtype) -> str:
    return str(dt).removeprefix("torch.")


def _unsupported(module, why: str = "") -> ValueError:
    return ValueError(
        f"photonn.export cannot describe a {type(module).__name__}{why}; it exports "
        f"{', '.join(SUPPORTED)} (nn.Sequential of these)"
    )


def describe(module: nn.Module) -> dict:
    """A plain description of ``module`` (see the module docstring); raises ``ValueError``
    for an unsupported module, naming it."""
    if isinstance(module, D2NN):
        if module.detector_noise is not None:
            raise _unsupported(module, " with detector noise (export the noiseless model)")
        det = module.detector
        if det.boxes is None:
            raise _unsupported(module, " with mask detector regions (give boxes)")
        prop = module.propagators[0]
        return {
            "type": "D2NN",
            "grid_shape": list(module.grid.shape),
            "grid_spacing_m": list(module.grid.spacing),
            "wavelength_m": module.wavelength,
            "num_layers": module.num_layers,
            "distance_m": module.distance,
            "input_distance_m": module.input_distance,
            "output_distance_m": module.output_distance,
            "num_classes": module.num_classes,
            "input_size": list(module.input_size),
            "encoding": module.encoding,
            "method": prop.method,
            "pad_factor": float(prop.pad_factor),
            "regions_m": [list(b) for b in det.boxes],
            "differential": det.differential or "",
            "readout": module.readout,
            "learn_temperature": module.learn_temperature,
            # electronic setting of the readout, exact (a float32 is a float64 exactly)
            "log_temperature": float(module.log_temperature.detach().cpu()),
            "dtype": _dtype_name(module.dtype),
        }
    if isinstance(module, PhotonicMLP):
        names = [k for k, f in ACTIVATIONS.items() if f is module.activation]
        if not names:
            raise _unsupported(module, " with a custom activation")
        layout = module.layers[0].mesh_in.layout.name
        return {
            "type": "PhotonicMLP",
            "sizes": list(module.sizes),
            "activation": names[0],
            "layout": layout,
            "dtype": _dtype_name(module.dtype),
            # electronic gains of the SVD layers, exact
            "scales": [float(layer.scale.detach().cpu()) for layer in module.layers],
        }
    if isinstance(module, ImageToVector):
        return {
            "type": "ImageToVector",
            "size": list(module.size),
            "normalize": module.normalize or "",
            "dtype": _dtype_name(module.dtype),
        }
    if type(module) is nn.Sequential:
        return {"type": "Sequential", "modules": [describe(m) for m in module]}
    if isinstance(module, (PolarizationD2NN, PolarizationTask)):
        raise _unsupported(
            module,
            ": its layers are per-pixel Jones modulators (two phase delays along a rotated "
            "axis in every pixel), and an SLM image holds one phase per pixel; no device "
            "profile kind describes a birefringent modulator yet",
        )
    raise _unsupported(module)


def build(spec: dict) -> nn.Module:
    """The network of a :func:`describe` dict, hardware settings at their defaults (zeros)."""
    try:
        kind = spec["type"]
        if kind == "D2NN":
            model = D2NN(
                Grid(tuple(spec["grid_shape"]), tuple(spec["grid_spacing_m"])),
                spec["wavelength_m"],
                spec["num_layers"],
                spec["distance_m"],
                spec["num_classes"],
                input_size=tuple(spec["input_size"]),
                input_distance=spec["input_distance_m"],
                output_distance=spec["output_distance_m"],
                encoding=spec["encoding"],
                method=spec["method"],
                pad_factor=spec["pad_factor"],
                regions=[tuple(b) for b in spec["regions_m"]],
                differential=spec["differential"] or None,
                readout=spec["readout"],
                learn_temperature=spec["learn_temperature"],
                dtype=_DTYPES[spec["dtype"]],
            )
            with torch.no_grad():
                model.log_temperature.fill_(spec["log_temperature"])
            return model
        if kind == "PhotonicMLP":
            model = PhotonicMLP(
                spec["sizes"], spec["activation"], spec["layout"], dtype=_DTYPES[spec["dtype"]]
            )
            with torch.no_grad():
                for layer, s in zip(model.layers, spec["scales"], strict=True):
                    layer.scale.fill_(s)
            return model
        if kind == "ImageToVector":
            return ImageToVector(
                tuple(spec["size"]),
                normalize=spec["normalize"] or None,
                dtype=_DTYPES[spec["dtype"]],
            )
        if kind == "Sequential":
            return nn.Sequential(*(build(s) for s in spec["modules"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"the model description of type {spec.get('type')!r} is incomplete or malformed "
            f"({type(exc).__name__}: {exc}); the manifest may be damaged, export again"
        ) from None
    raise ValueError(f"unknown model type {kind!r} in the manifest; photonn knows {SUPPORTED}")

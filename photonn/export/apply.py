"""Write exported settings into a network built from its description (``spec.build``)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["apply_settings"]


def apply_settings(model: nn.Module, slm: dict, chips: dict) -> nn.Module:
    """``model`` with the realised settings, in eval mode.

    Args:
        slm: mask module name -> realised phase [rad] ``(ny, nx)``.
        chips: element name -> ``(kind, parameters)``
            (:func:`~photonn.export.chip.settings_by_element`): a mesh's ``theta``,
            ``phi``, ``output_phase``, or an SVD layer's ``attenuation_theta``.
    """
    with torch.no_grad():
        for name, phase in slm.items():
            mask = model.get_submodule(name)
            mask.raw.copy_(phase.to(mask.raw.dtype))
        for name, (kind, s) in chips.items():
            if kind == "mesh":
                # the crosstalk is in the phases already (applied to the unwrapped drives)
                mesh = model.get_submodule(name)
                for k, v in s.items():
                    getattr(mesh, k).copy_(v.to(mesh.theta.dtype))
            else:
                layer = model.get_submodule(name.rsplit(".", 1)[0] if "." in name else "")
                layer.attenuation_theta.copy_(s["attenuation_theta"].to(layer.scale.dtype))
    return model.eval()

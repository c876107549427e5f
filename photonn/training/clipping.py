"""Gradient clipping that spares the affine parameters of normalisation layers.

Hossain & Rahman (2025): clipping the global gradient norm of a polynomial
network tames its exploding gradients, but clipping the normalisation layers'
scale and shift as well starves the very parameters that keep pre-activations
in range. :func:`clip_grad_norm_selective` clips every other gradient and
leaves those untouched.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_float

NORM_TYPES = tuple(
    t
    for t in (
        nn.modules.batchnorm._NormBase,  # BatchNorm*, SyncBatchNorm, InstanceNorm*
        nn.LayerNorm,
        nn.GroupNorm,
        getattr(nn, "RMSNorm", None),
    )
    if t is not None
)


def normalization_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters (weight, bias) of the model's normalisation layers."""
    seen, out = set(), []
    for m in model.modules():
        if isinstance(m, NORM_TYPES):
            for p in m.parameters(recurse=False):
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
    return out


def clip_grad_norm_selective(
    model: nn.Module, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> torch.Tensor:
    """Clip the total gradient norm of all parameters except normalisation affine ones.

    Same semantics as ``torch.nn.utils.clip_grad_norm_`` on the other
    parameters; returns their total norm before clipping. Use it as a
    training-loop ``grad_clip``: ``grad_clip=SelectiveGradClip(1.0)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    mx = positive_float(max_norm, "max_norm")
    spared = {id(p) for p in normalization_parameters(model)}
    params = [p for p in model.parameters() if p.grad is not None and id(p) not in spared]
    if not params:
        return torch.zeros(())
    return nn.utils.clip_grad_norm_(
        params, mx, norm_type=norm_type, error_if_nonfinite=error_if_nonfinite
    )


class SelectiveGradClip:
    """Callable ``(model) -> total norm`` applying :func:`clip_grad_norm_selective`."""

    def __init__(self, max_norm: float = 1.0, norm_type: float = 2.0):
        self.max_norm = positive_float(max_norm, "max_norm")
        self.norm_type = norm_type

    def __call__(self, model: nn.Module) -> torch.Tensor:
        return clip_grad_norm_selective(model, self.max_norm, self.norm_type)

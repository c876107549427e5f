"""Data -> mode detunings: the encoder of a coupled-mode scattering network.

Wanjura and Marquardt (Nature Physics 20, 1434, 2024) write the input into the
detunings of resonator modes, ``Delta = a ⊙ x + b`` per mode, and read a
scattering-matrix element: the response is a rational function of every
input, so a linear wave network computes a fully nonlinear function
(:mod:`photonn.functional.coupled_mode`). :class:`DetuningEncoder` is the
affine encoder of :class:`photonn.encoding.PhaseEncoder` (copies, passes, the
same parameters ``a`` and ``b``) whose output is the detuning itself, in the
rate unit of the network (e.g. units of the probe coupling ``kappa``).
"""

from __future__ import annotations

import torch

from .._checks import real_dtype
from .phase import _affine_keywords, _AffineEncoder

__all__ = ["DetuningEncoder"]


class DetuningEncoder(_AffineEncoder):
    """``Delta = a ⊙ x + b`` [rate unit]: learnable gain ``a`` and offset ``b`` per mode.

    Args:
        in_features: ``N`` (modes) or ``(H, W)`` (pixels): the feature shape ``F``.
        copies, passes, share_passes: as for :class:`photonn.encoding.PhaseEncoder`.
        init: ``"constant"`` (default; ``a = a0``, default 1, and ``b = b0``) or
            ``"authors"`` (Savinson et al.'s random phase initialisation).
            Wanjura and Marquardt detune the background and make the foreground
            resonant: ``a0 = -5``, ``b0 = 5`` for pixels in ``[0, 1]`` (in units of
            ``kappa``).
        generator: seeds ``init="authors"``.
        dtype: ``torch.float32`` (default) or ``torch.float64``: the detunings'
            and the parameters' dtype.
        device: where ``a`` and ``b`` live.

    Shapes: real ``x (..., *F)`` -> real ``(..., [P,] *copies, *F)``.

    Example:
        >>> import torch
        >>> enc = DetuningEncoder(4, a0=-5.0, b0=5.0)
        >>> enc(torch.tensor([[0.0, 1.0, 0.5, 0.2]]))
        tensor([[5.0000, 0.0000, 2.5000, 4.0000]], grad_fn=<AddBackward0>)
    """

    _check_dtype = staticmethod(real_dtype)

    def __init__(
        self,
        in_features,
        copies=(),
        *,
        passes: int | None = None,
        share_passes: bool = False,
        init: str = "constant",
        a0: float | None = None,
        b0: float = 0.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device=None,
    ):
        super().__init__(**_affine_keywords(locals()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoded(x)

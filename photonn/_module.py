"""Base class for modules that hold complex parameters or buffers.

``nn.Module.to(torch.float32)`` silently casts complex tensors to real ones and
drops their imaginary parts. ``ComplexModule`` refuses such a cast before any
tensor is touched, so precision is always chosen at construction.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class ComplexModule(nn.Module):
    """An ``nn.Module`` whose complex tensors survive ``.to()``, ``.float()`` etc.

    A cast to a real floating dtype raises ``TypeError`` before anything
    changes; device moves and complex-to-complex casts work as usual.
    """

    def _apply(self, fn, recurse=True):
        probe = torch.zeros((), dtype=torch.complex64)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out = fn(probe)
        except Exception:  # pragma: no cover - fn may not accept a probe on this device
            out = probe
        if isinstance(out, torch.Tensor) and not out.is_complex():
            raise TypeError(
                f"{type(self).__name__}: casting to {out.dtype} would drop the imaginary part of "
                "complex parameters and buffers; choose the precision when you build the module "
                "(dtype=torch.complex64 or torch.complex128)"
            )
        return super()._apply(fn, recurse)

"""Base class for modules that hold complex parameters or buffers.

``nn.Module.to(torch.float32)`` silently casts complex tensors to real ones and
drops their imaginary parts. ``ComplexModule`` refuses such a cast before any
tensor is touched, so precision is always chosen at construction. A module of
real tensors only (an encoder of real device parameters) keeps the precision it
was built for in the same way: a cast to it changes nothing, another is refused.
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
        tensors = [*self.parameters(), *self.buffers()]
        own = getattr(self, "dtype", None)
        own = own if isinstance(own, torch.dtype) else None
        if any(t.is_complex() for t in tensors) or (own is not None and own.is_complex):
            out = _probe(fn, torch.complex64)
            if isinstance(out, torch.Tensor) and not out.is_complex():
                raise TypeError(
                    f"{type(self).__name__}: casting to {out.dtype} would drop the imaginary part "
                    "of complex parameters and buffers; choose the precision when you build the "
                    "module (dtype=torch.complex64 or torch.complex128)"
                )
        else:
            # a real module (e.g. an encoder of real device parameters): a cast to the
            # precision it was built for changes nothing; another one is refused
            built = {t.dtype for t in tensors if t.is_floating_point()}
            built |= {own} if own is not None and own.is_floating_point else set()
            for dt in sorted(built, key=str):
                out = _probe(fn, dt)
                if isinstance(out, torch.Tensor) and out.dtype != dt:
                    raise TypeError(
                        f"{type(self).__name__}: was built for {dt}; casting to {out.dtype} "
                        "would leave its dtype checks behind; choose the precision when you "
                        "build the module (dtype=...)"
                    )
        return super()._apply(fn, recurse)


def _probe(fn, dtype: torch.dtype):
    """What ``fn`` (the function ``nn.Module._apply`` maps over tensors) makes of a scalar."""
    probe = torch.zeros((), dtype=dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(probe)
    except Exception:  # pragma: no cover - fn may not accept a probe on this device
        return probe

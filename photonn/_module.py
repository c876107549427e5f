"""Base class for photonn's modules: the precision is chosen at construction.

``nn.Module.to(torch.float32)`` silently casts complex tensors to real ones and
drops their imaginary parts; ``.to(torch.complex128)`` turns real parameters
(phases, detunings) into complex ones; ``.double()`` on a complex64 model casts
its real phases but not its complex buffers, and the next forward pass fails
deep inside. ``ComplexModule`` refuses every cast that would change the dtype
of one of its tensors, before any tensor is touched, and says to choose the
precision when the module is built. Device moves (and a cast to the dtypes the
module already has) work as usual.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class ComplexModule(nn.Module):
    """An ``nn.Module`` that keeps the precision it was built for through ``.to()``,
    ``.float()``, ``.double()``, ``.half()`` etc.

    A cast that would change the dtype of any parameter or buffer (or of the
    module's ``dtype``) raises ``TypeError`` before anything changes; device
    moves work as usual. Note that ``.to(torch.complex64)`` is refused for a
    complex64 module with real parameters: torch would make those complex.
    """

    def _apply(self, fn, recurse=True):
        tensors = [*self.parameters(), *self.buffers()]
        built = {t.dtype for t in tensors if t.is_floating_point() or t.is_complex()}
        own = getattr(self, "dtype", None)
        if isinstance(own, torch.dtype) and (own.is_floating_point or own.is_complex):
            built.add(own)
        for dt in sorted(built, key=lambda d: (d.is_complex, str(d))):  # real ones first
            out = _probe(fn, dt)
            if isinstance(out, torch.Tensor) and out.dtype != dt:
                raise TypeError(f"{type(self).__name__}: {_cast_problem(dt, out.dtype)}")
        return super()._apply(fn, recurse)


def _cast_problem(built: torch.dtype, cast: torch.dtype) -> str:
    choice = "dtype=..."
    if built.is_complex and not cast.is_complex:
        problem = f"casting to {cast} would drop the imaginary part of its {built} tensors"
        choice = "dtype=torch.complex64 or torch.complex128"
    elif cast.is_complex and not built.is_complex:
        problem = f"casting to {cast} would make its real {built} parameters complex"
    else:
        problem = f"was built for {built}; casting to {cast} would leave its dtype checks behind"
    return f"{problem}; choose the precision when you build the module ({choice})"


def _probe(fn, dtype: torch.dtype):
    """What ``fn`` (the function ``nn.Module._apply`` maps over tensors) makes of a scalar."""
    probe = torch.zeros((), dtype=dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(probe)
    except Exception:  # pragma: no cover - fn may not accept a probe on this device
        return probe

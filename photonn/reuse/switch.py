"""The fast switch that routes each pass of a ReLaX: its insertion loss and crosstalk.

:func:`switch_options` reads them from a device profile; :func:`crosstalk_noise` is
the crosstalk as per-pass additive noise, and :func:`draw_seed` the one seed per
forward that makes a recomputed pass see the same noise.
"""

from __future__ import annotations

import math

import torch

from .._checks import real_of
from ..devices import resolve_profile

__all__ = ["switch_options", "crosstalk_noise", "draw_seed"]


def switch_options(profile) -> dict:
    """``{"switch_loss_db": ..., "pass_noise": ...}`` for :class:`~photonn.reuse.ReLaX`
    from a profile's ``sw_loss_db`` and ``sw_xtalk_db`` (an ``mzi_platform`` or
    ``slm`` profile: a ``DeviceProfile``, its name, a TOML path or a mapping).

    The crosstalk ``X`` [dB, <= 0] of the switch leaks that fraction of the power of
    the other paths into each pass; it is modelled as per-pass additive noise of
    relative power ``10^(X/10)`` (``pass_noise = 10^(X/20)``, rms amplitude).
    """
    prof = resolve_profile(profile)
    prof.require("sw_loss_db", "sw_xtalk_db")
    return {
        "switch_loss_db": float(prof["sw_loss_db"]),
        "pass_noise": 10.0 ** (float(prof["sw_xtalk_db"]) / 20.0),
    }


def draw_seed(generator: torch.Generator) -> int:
    """A seed in ``[0, 2^31 - 1)`` drawn from ``generator``."""
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=generator.device))


def crosstalk_noise(z: torch.Tensor, level: float, seed: int, n_features: int) -> torch.Tensor:
    """Additive noise of relative rms amplitude ``level`` for the state ``z``.

    Its rms is ``level`` times the rms of ``z`` over the last ``n_features`` axes (per
    sample); complex Gaussian (circular, unit variance) for a complex ``z``, real
    Gaussian otherwise. ``seed`` fixes it: the same seed gives the same noise.
    """
    g = torch.Generator(device=z.device).manual_seed(int(seed))
    dims = tuple(range(z.ndim - max(1, n_features), z.ndim))
    rms = (z.detach().abs() ** 2).mean(dim=dims, keepdim=True).sqrt()
    if z.is_complex():
        rdt = real_of(z.dtype)
        w = torch.randn(z.shape, generator=g, dtype=rdt, device=z.device) + 1j * torch.randn(
            z.shape, generator=g, dtype=rdt, device=z.device
        )
        w = w.to(z.dtype) / math.sqrt(2.0)
    else:
        w = torch.randn(z.shape, generator=g, dtype=z.dtype, device=z.device)
    return level * rms * w

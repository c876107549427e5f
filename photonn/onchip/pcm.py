"""``PCMCrossbar``: a phase-change (GST-like) crossbar of multi-level transmission cells.

Each signed weight ``w`` in ``[-1, 1]`` is a differential pair of cells
``T+ = t_min + max(w, 0) (t_max - t_min)``, ``T- = t_min + max(-w, 0) (t_max - t_min)``;
input powers ``x`` (one per row, e.g. one wavelength each) cross both cells and a
balanced photodiode reads ``y = scale (x @ T+^T - x @ T-^T) / (t_max - t_min)``, which
is ``scale * x @ w^T`` for ideal cells
(:func:`photonn.functional.weight_banks.pcm_differential_pair`).

Non-idealities, each off unless switched on: ``quantize`` (each cell holds the nearest
of the device's sorted ``levels``, straight-through gradient), ``programming_sigma``
(Gaussian error on each programmed transmission, drawn afresh at every evaluation:
each forward pass is a fresh programming of the crossbar), ``drift_time`` (the
contrast above ``t_min`` decays as ``(t / t0)^(-nu)``).
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import finite_float, positive_float, positive_int
from .._module import ComplexModule
from ..devices import resolve_profile
from ..functional.weight_banks import (
    check_levels,
    nearest_level,
    pcm_differential_pair,
    pcm_drift,
)

__all__ = ["PCMCrossbar"]


class PCMCrossbar(ComplexModule):
    """A PCM crossbar with differential-pair signed weights and balanced detection.

    Args:
        in_features, out_features: rows (inputs) and outputs.
        levels: the cells' transmissions, sorted increasing (``(L,)``, in ``[0, 1]``);
            ``levels[0]`` is ``t_min`` and ``levels[-1]`` is ``t_max``.
        scale: the weight of a full-contrast pair (``y = scale x @ w^T``).
        quantize: hold each cell at the nearest level.
        programming_sigma: std of the programmed transmission (absolute).
        drift_time: seconds since programming (``None``: no drift), with ``drift_nu``
            and ``drift_t0`` [s].
        noise_generator: ``torch.Generator`` (required when ``programming_sigma > 0``).
        dtype: real dtype (``torch.float32`` default, or ``torch.float64``).

    Parameters: ``weight`` ``(out, in)``, clipped to ``[-1, 1]`` in the forward pass.
    Shapes: real powers ``(..., in)`` -> balanced photocurrents ``(..., out)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        levels,
        *,
        scale: float = 1.0,
        quantize: bool = False,
        programming_sigma: float = 0.0,
        drift_time: float | None = None,
        drift_nu: float = 0.0,
        drift_t0: float = 1.0,
        noise_generator: torch.Generator | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.float32,
        device=None,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        lv = check_levels(levels)
        if lv[0] < 0 or lv[-1] > 1:
            raise ValueError(
                f"levels are transmissions and must lie in [0, 1], got {lv[0].item():.6g} .. "
                f"{lv[-1].item():.6g}"
            )
        self.register_buffer("levels", lv.to(dtype=dtype, device=device))
        self.t_min, self.t_max = float(lv[0]), float(lv[-1])
        self.scale = positive_float(scale, "scale")
        self.quantize = bool(quantize)
        self.programming_sigma = finite_float(programming_sigma, "programming_sigma")
        if self.programming_sigma < 0:
            raise ValueError(f"programming_sigma must be >= 0, got {self.programming_sigma}")
        if self.programming_sigma > 0 and not isinstance(noise_generator, torch.Generator):
            raise TypeError(
                "programming_sigma > 0 draws random noise: give "
                "noise_generator=torch.Generator() (explicit randomness)"
            )
        self.noise_generator = noise_generator
        self.drift_time = None if drift_time is None else positive_float(drift_time, "drift_time")
        self.drift_nu = finite_float(drift_nu, "drift_nu")
        self.drift_t0 = positive_float(drift_t0, "drift_t0")
        w = torch.rand(out_features, in_features, generator=generator, dtype=torch.float64)
        self.weight = nn.Parameter((2 * w - 1).to(dtype=dtype, device=device))
        self.dtype = dtype

    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        in_features: int,
        out_features: int,
        quantize: bool = True,
        noise: bool = True,
        drift_time: float | None = None,
        noise_generator: torch.Generator | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.float32,
        device=None,
    ):
        """A crossbar on a ``pcm_crossbar`` profile (``n_levels`` evenly spaced levels
        from ``t_min`` to ``t_max``, its programming sigma and drift law); switch
        ``quantize``, ``noise`` and ``drift_time`` one at a time."""
        p = resolve_profile(profile, kind="pcm_crossbar")
        return cls(
            in_features,
            out_features,
            p.levels,
            quantize=quantize,
            programming_sigma=p.programming_sigma if noise else 0.0,
            drift_time=drift_time,
            drift_nu=p.drift_nu,
            drift_t0=p.drift_t0,
            noise_generator=noise_generator,
            generator=generator,
            dtype=dtype,
            device=device,
        )

    def set_weight(self, w: torch.Tensor) -> None:
        """Set the weights ``(out, in)`` (in ``[-1, 1]``: a differential pair cannot hold
        more; scale a larger matrix by ``scale`` first)."""
        if w.shape != self.weight.shape:
            raise ValueError(f"weight must be {tuple(self.weight.shape)}, got {tuple(w.shape)}")
        if w.abs().max() > 1 + 1e-6:
            raise ValueError(
                f"|weight| reaches {w.abs().max().item():.6g} > 1: a differential pair of "
                f"cells holds weights in [-1, 1]; build the crossbar with scale >= "
                f"{w.abs().max().item():.6g} and pass weight / scale"
            )
        with torch.no_grad():
            self.weight.copy_(w)

    def cells(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The transmissions ``(T+, T-)`` ``(out, in)`` of the cells as read."""
        pair = pcm_differential_pair(self.weight.clamp(-1, 1), self.t_min, self.t_max)
        out = []
        for t in pair:
            if self.quantize:
                t = t + (nearest_level(t, self.levels) - t).detach()
            if self.programming_sigma > 0:
                gen = self.noise_generator
                z = torch.randn(t.shape, generator=gen, dtype=t.dtype, device=gen.device)
                t = (t + self.programming_sigma * z.to(t.device)).clamp(0, 1)
            if self.drift_time is not None:
                t = pcm_drift(t, self.t_min, self.drift_time, self.drift_t0, self.drift_nu)
            out.append(t)
        return out[0], out[1]

    def effective_weight(self) -> torch.Tensor:
        """``scale (T+ - T-) / (t_max - t_min)`` ``(out, in)``: the weights as read."""
        tp, tm = self.cells()
        return self.scale * (tp - tm) / (self.t_max - self.t_min)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_complex():
            raise TypeError("PCMCrossbar inputs are real powers; detect complex fields first")
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"input must have last dimension {self.in_features}, got {tuple(x.shape)}"
            )
        return x @ self.effective_weight().T

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"levels={self.levels.numel()}, quantize={self.quantize}, "
            f"programming_sigma={self.programming_sigma}, drift_time={self.drift_time}"
        )

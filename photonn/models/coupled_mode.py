"""Wanjura and Marquardt's scattering network: data in mode detunings, a scattering element out.

C. C. Wanjura and F. Marquardt, "Fully nonlinear neuromorphic computing with
linear wave scattering", Nature Physics 20, 1434 (2024), their layered network
(Fig. 2): three layers of resonator modes, coupled between consecutive layers
only (no couplings inside a layer):

* the input layer, ``N = in_features`` modes whose detunings carry the data,
  ``Delta_j = a_j x_j + b_j`` (:class:`photonn.encoding.DetuningEncoder`, the
  same affine encoder as the multivariate cavity; ``a``, ``b`` learnt), each
  with intrinsic decay ``kappa'`` and no probe;
* an optional hidden layer of ``hidden_modes`` modes, learnt detunings, intrinsic
  decay ``kappa'``;
* the output layer, one mode per class, learnt detunings, coupled to its probe
  waveguide with ``kappa`` and without intrinsic loss;
* learnt real couplings ``J1`` (input -> hidden, or -> output without a hidden
  layer) and ``J2`` (hidden -> output): a reciprocal network (``H`` symmetric).

The class score is read at the probe of output mode ``l``: ``y_l = Im S_ll``
(the paper's readout, in ``[-1, 1]`` for a passive network), times a fixed
electronic ``gain``, used as logits with cross-entropy.

Every rate is in units of ``kappa`` (the scattering depends on ratios only:
``kappa = kappa' = 1``, as in the paper's "equal decay rates"). The data layer
is eliminated exactly by a Schur complement
(:func:`photonn.functional.coupled_mode.schur_scattering`), so a sample costs
one solve of size ``hidden_modes + classes``; :meth:`CoupledModePNN.hamiltonian` gives
the full dynamical matrix for a dense check (:meth:`scattering`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    complex_dtype,
    feature_batch,
    finite_float,
    positive_float,
    positive_int,
    real_of,
)
from .._module import ComplexModule
from .._spec import FromOptions, check_options, option
from ..encoding.detuning import DetuningEncoder
from ..functional.coupled_mode import dynamical_matrix, scattering_matrix, schur_scattering

__all__ = ["CoupledModeOptions", "CoupledModePNN"]


@dataclass(frozen=True)
class CoupledModeOptions:
    """The declared parameters of a :class:`CoupledModePNN` (the ``[model] kind =
    "coupled_mode"`` section derives from them). Rates and detunings are in units of
    the probed modes' decay ``kappa``."""

    hidden_modes: int = option(80, "modes of the hidden layer (0: none)", unit="modes", ge=0)
    coupling: float = option(
        2.0, "initial coupling scale J0 (at 64 modes per layer)", unit="kappa", gt=0
    )
    disorder: float = option(0.1, "relative random part of the initial couplings", ge=0)
    decay: float = option(1.0, "intrinsic decay kappa' of the unprobed modes", unit="kappa", gt=0)
    a0: float = option(-5.0, "initial detuning gain: Delta = a0 x + b0", unit="kappa")
    b0: float = option(5.0, "initial detuning offset", unit="kappa")
    gain: float = option(10.0, "readout gain: logits = gain * Im S_ll", gt=0)

    def __post_init__(self):
        check_options(self)


class CoupledModePNN(FromOptions, ComplexModule):
    """A layered coupled-mode scattering network: ``forward(x (B, N)) -> scores (B, C)``.

    Args:
        in_features: ``N``, the data modes (196 for 14x14 images).
        num_classes: ``C``, the probed output modes.
        hidden_modes: modes in the hidden layer (0: the input layer couples to the
            outputs); ``hidden=`` is its deprecated spelling.
        coupling: ``J0``, the initial coupling scale [kappa]: ``J = J0 (1 + disorder xi)
            / sqrt(fan_in / 64)`` with ``xi ~ N(0, 1)``, ``fan_in`` the modes of the
            layer below (the paper starts from ``J = 2 kappa`` with 64 inputs).
        disorder: the relative random part of the initial couplings.
        decay: ``kappa'`` of the unprobed modes [kappa].
        a0, b0: the encoder's initial gain and offset: ``Delta = a0 x + b0`` [kappa]
            (``-5, 5``: background pixels, ``x = 0``, detuned by ``5 kappa``, the
            strokes, ``x = 1``, resonant).
        gain: the fixed readout gain: logits ``= gain * Im S_ll``.
        omega: the probe frequency [kappa], relative to the modes' reference frame.
        generator: seeds the couplings' disorder and the layer detunings (``N(0, 0.1^2)``).
        dtype: ``complex64`` (default) or ``complex128``, the solve's precision;
            parameters are the matching real dtype.
        device: where the parameters live.

    Shapes: ``x`` real ``(B, N)`` (``(B, H, W)`` with ``H W = N`` is flattened);
    scores real ``(B, C)``; :meth:`scattering` complex ``(B, C, C)``.
    """

    options_class = CoupledModeOptions  # from_options(options, in_features, num_classes, ...)

    def __init__(
        self,
        in_features: int = 196,
        num_classes: int = 10,
        hidden_modes: int = 0,
        *,
        coupling: float = 2.0,
        disorder: float = 0.1,
        decay: float = 1.0,
        a0: float = -5.0,
        b0: float = 5.0,
        gain: float = 10.0,
        omega: float = 0.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.complex64,
        device=None,
        hidden: int | None = None,
    ):
        super().__init__()
        name = "hidden_modes"
        if hidden is not None:
            warnings.warn(
                "CoupledModePNN(hidden=...) is deprecated: it is hidden_modes=",
                DeprecationWarning,
                stacklevel=2,
            )
            hidden_modes, name = hidden, "hidden"
        self.in_features = positive_int(in_features, "in_features")
        self.num_classes = positive_int(num_classes, "num_classes")
        if isinstance(hidden_modes, bool) or not isinstance(hidden_modes, int) or hidden_modes < 0:
            raise ValueError(
                f"{name} must be an int >= 0 (0: no hidden layer), got {hidden_modes!r}"
            )
        self.hidden_modes = hidden_modes
        self.decay = positive_float(decay, "decay")
        self.gain = positive_float(gain, "gain")
        self.omega = finite_float(omega, "omega")
        j0 = positive_float(coupling, "coupling")
        sigma = finite_float(disorder, "disorder")
        if sigma < 0:
            raise ValueError(f"disorder must be >= 0, got {disorder!r}")
        self.dtype = complex_dtype(dtype)
        real = real_of(self.dtype)
        kw = {"generator": generator, "dtype": real, "device": device}
        N, H, C = self.in_features, self.hidden_modes, self.num_classes
        self.encoder = DetuningEncoder(
            N, a0=finite_float(a0, "a0"), b0=finite_float(b0, "b0"), dtype=real, device=device
        )

        def _couplings(rows: int, cols: int) -> nn.Parameter:
            scale = j0 / max(1.0, rows / 64.0) ** 0.5
            return nn.Parameter(scale * (1.0 + sigma * torch.randn(rows, cols, **kw)))

        first = H if H else C
        self.J1 = _couplings(N, first)
        self.J2 = _couplings(H, C) if H else None
        self.hidden_detuning = nn.Parameter(0.1 * torch.randn(H, **kw)) if H else None
        self.output_detuning = nn.Parameter(0.1 * torch.randn(C, **kw))
        # core modes: hidden (unprobed, kappa') then outputs (probed, kappa = 1, no loss)
        kappa = torch.cat([torch.zeros(H, dtype=real), torch.ones(C, dtype=real)])
        loss = torch.cat([torch.full((H,), self.decay, dtype=real), torch.zeros(C, dtype=real)])
        self.register_buffer("kappa", kappa.to(device), persistent=False)
        self.register_buffer("core_loss", loss.to(device), persistent=False)
        ports = torch.arange(H, H + C, device=device)
        self.register_buffer("ports", ports, persistent=False)

    # -- inputs ------------------------------------------------------------------------
    @property
    def hidden(self) -> int:
        """Deprecated: :attr:`hidden_modes`."""
        warnings.warn(
            "CoupledModePNN.hidden is deprecated: it is hidden_modes",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.hidden_modes

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        return feature_batch(x, self.in_features, real_of(self.dtype), "detunings")

    def detunings(self, x: torch.Tensor) -> torch.Tensor:
        """The data modes' detunings ``a ⊙ x + b`` [kappa], real ``(B, N)``."""
        return self.encoder(self._inputs(x))

    # -- the network ---------------------------------------------------------------------
    def _core(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(K, M)``: couplings data -> core ``(N, Nc)`` and the core block ``(Nc, Nc)``."""
        H, C = self.hidden_modes, self.num_classes
        if H:
            det = torch.cat([self.hidden_detuning, self.output_detuning])
            z = self.J2.new_zeros
            J = torch.cat(
                [torch.cat([z(H, H), self.J2], 1), torch.cat([self.J2.mT, z(C, C)], 1)], 0
            )
            K = torch.cat([self.J1, z(self.in_features, C)], 1)
        else:
            det = self.output_detuning
            J = det.new_zeros(C, C)
            K = self.J1
        M = dynamical_matrix(det, J.to(self.dtype), self.core_loss + self.kappa)
        return K, M

    def _data_diagonal(self, x: torch.Tensor) -> torch.Tensor:
        delta = self.detunings(x)
        return torch.complex(delta, torch.full_like(delta, -0.5 * self.decay)).to(self.dtype)

    def scattering(self, x: torch.Tensor) -> torch.Tensor:
        """``S`` between the output probes, complex ``(B, C, C)`` (Schur elimination)."""
        K, M = self._core()
        return schur_scattering(self._data_diagonal(x), K, M, self.kappa, self.ports, self.omega)

    def hamiltonian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The full dynamical matrix and probe couplings: ``(H (B, Ntot, Ntot), kappa (Ntot,))``.

        Mode order: the ``N`` data modes, the hidden modes, the outputs. For a
        dense reference: ``scattering_matrix(H, kappa, omega)`` restricted to the
        last ``C`` modes equals :meth:`scattering` (:meth:`dense_scattering`).
        """
        K, M = self._core()
        d = self._data_diagonal(x)
        B, N = d.shape
        Kc = K.to(self.dtype)
        top = torch.cat([torch.diag_embed(d), Kc.expand(B, *Kc.shape)], -1)
        bottom = torch.cat([Kc.mH.expand(B, *Kc.mH.shape), M.expand(B, *M.shape)], -1)
        Hm = torch.cat([top, bottom], -2)
        kappa = torch.cat([torch.zeros(N, dtype=self.kappa.dtype, device=d.device), self.kappa])
        return Hm, kappa

    def dense_scattering(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`scattering` by a dense solve of the full network (reference), ``(B, C, C)``."""
        Hm, kappa = self.hamiltonian(x)
        ports = torch.arange(Hm.shape[-1] - self.num_classes, Hm.shape[-1], device=Hm.device)
        return scattering_matrix(Hm, kappa, self.omega, ports=ports)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S = self.scattering(x)
        return self.gain * torch.diagonal(S, dim1=-2, dim2=-1).imag

    @property
    def effective_modes(self) -> int:
        """All modes of the network: data, hidden and output."""
        return self.in_features + self.hidden_modes + self.num_classes

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"hidden_modes={self.hidden_modes}, decay={self.decay:g}, gain={self.gain:g}, "
            f"omega={self.omega:g}, dtype={self.dtype}"
        )

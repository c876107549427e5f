"""The isomorphic optical network: the input in the field, linear optics, intensity readout.

The baseline of Savinson et al. (2025, arXiv:2509.05420). An *isomorphic*
physical network writes the data into the state that the linear system acts on
(here the field amplitudes), mirroring a digital layer ``y = W x``; the only
nonlinearity is the square-law detector. Whatever its parameters, its output is
a polynomial of degree at most 2 in ``x``. It therefore cannot fit a target
with a degree-3 part (``x1 x2 x3`` on ``[-1, 1]^3``) better than the best
quadratic least-squares fit, while a multivariate-nonlinearity network
(:class:`photonn.models.MultivariatePNN`, the data in the phases) can.

The model, for ``x`` real ``(B, N)``:

1. the input field ``E = [w ⊙ x, e0, 0, ..., 0]`` on ``n_modes`` waveguides: an
   amplitude modulator per input with a learnt complex weight ``w`` (``(N,)``),
   plus, with ``reference=True``, one waveguide carrying a learnt constant
   (reference) amplitude ``e0`` (it gives the output its linear terms) and
   dark ports up to ``n_modes``;
2. a trainable unitary ``U = expm(K)``, ``K = (P - P^H) / 2`` skew-Hermitian
   from a learnt complex ``P`` (``(n_modes, n_modes)``): every unitary is reachable,
   and every unitary is a Clements mesh (``photonn.onchip.MZIMesh.from_unitary(
   model.unitary())`` programs one for hardware). The matrix exponential keeps
   the model forward-mode differentiable for
   :func:`photonn.encoding.nondegeneracy` (the mesh's butterfly kernels are
   custom autograd Functions without a forward-mode rule);
3. photodetection ``I = |U E|^2`` (``(B, n_modes)``);
4. the readout: ``"linear"`` (default), a learnt real linear combination of the
   intensities plus an offset (electronics, ``(out_features, n_modes)`` and
   ``(out_features,)``); or ``"intensity"``, the first ``out_features``
   intensities as they are.

With ``z = [x, 1]`` (``z = x`` without reference) and ``M = U D`` (``D`` the
input weights as a ``(n_modes, len(z))`` matrix), output ``o`` is exactly
``z^T Q_o z + c_o`` with ``Q_o = Re(M^H diag(W_o) M)``: see
:meth:`quadratic_form`. With ``n_modes >= N + 1`` and the linear readout, every
real quadratic polynomial in ``x`` is reachable (``Q = U^H diag(W) U`` is any
Hermitian form), so the comparison with the best quadratic fit is fair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    check_generator,
    complex_dtype,
    one_of,
    positive_int,
    real_batch,
    real_of,
    renamed,
    renamed_attribute,
)
from .._module import ComplexModule
from .._spec import FromOptions, check_options, option

READOUTS = ("linear", "intensity")

__all__ = ["READOUTS", "IsomorphicOptions", "IsomorphicPNN"]


@dataclass(frozen=True)
class IsomorphicOptions:
    """The declared parameters of an :class:`IsomorphicPNN` that a run configures (the
    ``[model] kind = "isomorphic"`` section derives from them)."""

    readout: str = option("linear", "readout of the intensities", choices=READOUTS)

    def __post_init__(self):
        check_options(self)


class IsomorphicPNN(FromOptions, ComplexModule):
    """Input in the field amplitudes, a unitary, ``|.|^2``, linear readout: ``(B, N) -> (B, O)``.

    Args:
        in_features: ``N``, the inputs per sample.
        out_features: ``O``, the outputs (regression values or class scores).
        reference: add a waveguide of constant learnt amplitude ``e0`` (the
            output then has linear terms in ``x``; default True).
        n_modes: the number of waveguides (default ``N + reference``); extra ports are
            dark. ``modes=`` is its deprecated name.
        readout: ``"linear"`` (learnt real weights and offset on the
            intensities, default) or ``"intensity"`` (the first ``O``
            intensities; needs ``O <= n_modes``).
        generator: seeds the initialisation (``None``: torch's global
            generator): ``P ~ CN(0, 1)`` (a random unitary), ``w ~ CN(0, 1)``,
            ``e0 = 1``, readout weights ``N(0, 1 / n_modes)``, offsets 0.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``; all
            parameters are the matching real dtype (complex ones stored as
            ``(..., 2)`` real pairs).
        device: where the parameters live.

    Shapes: ``x`` real ``(B, N)`` -> real ``(B, O)``; :meth:`field` complex
    ``(B, n_modes)`` (after the unitary); :meth:`intensities` real ``(B, n_modes)``.
    """

    options_class = IsomorphicOptions  # from_options(options, in_features, num_classes, ...)
    modes = renamed_attribute("modes", "n_modes")

    def __init__(
        self,
        in_features: int,
        out_features: int = 1,
        *,
        reference: bool = True,
        n_modes: int | None = None,
        readout: str = "linear",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.complex64,
        device=None,
        modes: int | None = None,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        if not isinstance(reference, bool):
            raise TypeError(f"reference must be a bool, got {reference!r}")
        self.reference = reference
        need = self.in_features + int(reference)
        n_modes = renamed(
            n_modes, modes, new_name="n_modes", old_name="modes", owner="IsomorphicPNN"
        )
        self.n_modes = need if n_modes is None else positive_int(n_modes, "n_modes")
        if self.n_modes < need:
            raise ValueError(
                f"n_modes = {self.n_modes} cannot hold the {self.in_features} inputs"
                f"{' and the reference' if reference else ''}: use n_modes >= {need}"
            )
        self.readout = one_of(readout, READOUTS, "readout")
        if readout == "intensity" and self.out_features > self.n_modes:
            raise ValueError(
                f"readout='intensity' reads out_features = {self.out_features} of the "
                f"{self.n_modes} mode intensities; use n_modes >= out_features or readout='linear'"
            )
        self.dtype = complex_dtype(dtype)
        real = real_of(self.dtype)
        kw = {"generator": check_generator(generator), "dtype": real, "device": device}
        # P ~ CN(0, 1), stored real (n_modes, n_modes, 2)
        self.generator_matrix = nn.Parameter(
            torch.randn(self.n_modes, self.n_modes, 2, **kw) * math.sqrt(0.5)
        )
        # w ~ CN(0, 1): real and imaginary parts N(0, 1/2), stored real (N, 2)
        self.input_weight = nn.Parameter(torch.randn(self.in_features, 2, **kw) * math.sqrt(0.5))
        if reference:
            self.reference_amplitude = nn.Parameter(
                torch.tensor([1.0, 0.0], dtype=real, device=device)
            )
        else:
            self.register_parameter("reference_amplitude", None)
        if self.readout == "linear":
            self.weight = nn.Parameter(
                torch.randn(self.out_features, self.n_modes, **kw) / math.sqrt(self.n_modes)
            )
            self.bias = nn.Parameter(torch.zeros(self.out_features, dtype=real, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    # -- physics ---------------------------------------------------------------------------
    def _inputs(self, x) -> torch.Tensor:
        return real_batch(x, self.in_features, what="amplitudes").to(real_of(self.dtype))

    def input_matrix(self) -> torch.Tensor:
        """``D``, complex ``(n_modes, N + reference)``: ``E = D z`` with ``z = [x, 1]``."""
        d = torch.view_as_complex(self.input_weight)
        if self.reference:
            d = torch.cat([d, torch.view_as_complex(self.reference_amplitude)[None]])
        D = torch.diag(d.to(self.dtype))
        return torch.nn.functional.pad(D, (0, 0, 0, self.n_modes - D.shape[0]))

    def unitary(self) -> torch.Tensor:
        """``U = expm((P - P^H) / 2)``, complex ``(n_modes, n_modes)``, unitary.

        Computed in complex128 and cast once to the model's dtype, as the
        cavity's scatterer is (docs/architecture.md#precision).
        """
        P = torch.view_as_complex(self.generator_matrix.to(torch.float64))
        return torch.linalg.matrix_exp(0.5 * (P - P.mH)).to(self.dtype)

    def input_field(self, x: torch.Tensor) -> torch.Tensor:
        """``E = [w ⊙ x, e0, 0, ...]``, complex ``(B, n_modes)``."""
        x = self._inputs(x)
        z = x
        if self.reference:
            z = torch.cat([x, torch.ones_like(x[:, :1])], -1)
        return z.to(self.dtype) @ self.input_matrix().mT

    def field(self, x: torch.Tensor) -> torch.Tensor:
        """The field after the unitary, ``U E``, complex ``(B, n_modes)``: linear in ``[x, 1]``."""
        return self.input_field(x) @ self.unitary().mT

    def intensities(self, x: torch.Tensor) -> torch.Tensor:
        """``|U E|^2``, real ``(B, n_modes)``."""
        return self.field(x).abs().square()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intensity = self.intensities(x)
        if self.readout == "intensity":
            return intensity[:, : self.out_features]
        return intensity @ self.weight.mT + self.bias

    def quadratic_form(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Q, c)``: output ``o = z^T Q[o] z + c[o]`` exactly, ``z = [x, 1]`` (or ``x``).

        Returns:
            ``Q`` real symmetric ``(O, K, K)`` and ``c`` real ``(O,)``, ``K = N + reference``.
        """
        M = self.unitary() @ self.input_matrix()  # (n_modes, K)
        if self.readout == "linear":
            W, c = self.weight, self.bias
        else:
            W = torch.eye(self.n_modes, dtype=M.real.dtype, device=M.device)[: self.out_features]
            c = torch.zeros(self.out_features, dtype=W.dtype, device=W.device)
        A = M.mH.unsqueeze(0) @ (W.to(M.dtype).unsqueeze(-1) * M.unsqueeze(0))
        return A.real, c

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"reference={self.reference}, n_modes={self.n_modes}, readout={self.readout!r}"
        )

"""The multivariate-nonlinearity physical network of Savinson et al. (2025), free-space cavity.

S. Savinson, J. Norris, S. Mishra, S. Lanthaler, "Universality of physical neural
networks with multivariate nonlinearity", arXiv:2509.05420. The data is written
into phases that light passes many times, so a linear cavity computes a
nonlinear function of the data.

For each class ``c`` and replica ``rho`` (``R`` replicas), with ``x`` the
``N = in_features`` inputs:

* the phase screen ``T = diag(exp(i (a ⊙ x + b)))`` (``a``, ``b`` of shape ``(C, R, N)``);
* the symmetric unitary scatterer ``S = expm(i Sym(P))``, ``Sym(P) = (P + P^T)/2``,
  computed in float64 (``||Sym(P)||`` is about 19 at N = 196 and float32
  ``matrix_exp`` errs by about 5e-5), trained or random and fixed;
* the cavity field ``E = 1/2 (I - r T S T)^-1 I_in`` (the authors'
  ``(2I - TST)^-1 I_in`` at ``r = 1/2``), ``I_in`` a learnt complex input field;
* the ``R`` replica fields tiled on an ``n x n`` plane (``n^2 = R N``), an FFT lens
  (orthonormal), and the intensity of the centre pixel, ``|sum E|^2 / n^2``: the
  class score (used raw as logits with cross-entropy).

Initialisation as in the authors' code: ``a_rho ~ N(0, (0.1 * 10^rho)^2)``, the same
vector for every class; ``b ~ N(0, 1)``; ``I_in ~ CN(0, 1)``; ``P ~ N(0, 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import complex_dtype, feature_batch, positive_int, real_of
from .._module import ComplexModule
from .._spec import FromOptions, check_options, option
from ..functional.cavity import (
    cavity_direct,
    cavity_neumann_sym,
    neumann_bound,
    neumann_terms,
    sym_eigh,
    symmetric_unitary,
)

SOLVERS = ("neumann", "direct")


def _square_problem(value) -> str | None:
    if math.isqrt(value) ** 2 != value:
        return (
            "must be a square number (1, 4, 9, 16, ...) so that the replica fields tile a "
            "square plane"
        )
    return None


def _reflectivity_problem(value) -> str | None:
    return None if 0.0 < value < 1.0 else "must be a number in (0, 1)"


@dataclass(frozen=True)
class MultivariateOptions:
    """The declared parameters of a :class:`MultivariatePNN` (the ``[model] kind =
    "multivariate"`` section derives from them); ``MultivariatePNN.from_options(options,
    in_features, num_classes)`` builds the network."""

    replicas: int = option(
        1, "copies of the input (a square number: 1, 4, 9, 16)", gt=0, validator=_square_problem
    )
    reflectivity: float = option(
        0.5, "cavity mirror reflectivity r", validator=_reflectivity_problem
    )
    train_scatterer: bool = option(True, "learn the scatterer S (false: random and fixed)")
    solver: str = option("neumann", "cavity solver", choices=SOLVERS)
    tol: float | None = option(
        None,
        "Neumann bound on ||E - E_K|| / ||I_in|| (unset: 1e-6 in complex64, 1e-14 in complex128)",
        gt=0,
    )

    def __post_init__(self):
        check_options(self)


def _square_side(value: int, name: str) -> int:
    side = math.isqrt(value)
    if side * side != value:
        raise ValueError(
            f"{name} must be a square number (1, 4, 9, 16, ...) so that the replica fields "
            f"tile a square plane, got {value}"
        )
    return side


class MultivariatePNN(FromOptions, ComplexModule):
    """Savinson et al.'s cavity network: ``forward(x (B, N)) -> scores (B, C)``.

    Args:
        in_features: ``N``, the inputs per sample (196 for 14x14 images).
        num_classes: ``C``.
        replicas: ``R``, copies of the input, each with its own ``a`` and ``b``; a
            square number (the replica fields tile a square plane).
        reflectivity: the cavity mirror's ``r`` in ``(0, 1)``.
        train_scatterer: learn ``P`` (else ``P`` is a fixed random buffer and ``S``
            is cached).
        solver: ``"neumann"`` (series with an implicit adjoint backward) or
            ``"direct"`` (dense solve per system); switchable later with
            ``model.solver = ...``. Parameter names do not depend on it.
        tol: the series' bound on ``||E - E_K|| / ||I_in||`` (default: 1e-6 in
            complex64, 1e-14 in complex128); see :attr:`error_bound`.
        generator: seeds the initialisation.
        dtype: ``complex64`` or ``complex128``: the cavity's precision (``S`` is
            always built in float64 and cast once).
        device: where the parameters live.

    Shapes: ``x`` real ``(B, N)`` (``(B, H, W)`` with ``H W = N`` is flattened);
    scores real ``(B, C)``; :meth:`field` complex ``(B, C, R, N)``.
    """

    options_class = MultivariateOptions  # from_options(options, in_features, num_classes, ...)

    def __init__(
        self,
        in_features: int = 196,
        num_classes: int = 10,
        replicas: int = 1,
        reflectivity: float = 0.5,
        train_scatterer: bool = True,
        solver: str = "neumann",
        *,
        tol: float | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.complex64,
        device=None,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.num_classes = positive_int(num_classes, "num_classes")
        self.replicas = positive_int(replicas, "replicas")
        self.replica_side = _square_side(self.replicas, "replicas")
        r = reflectivity
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0.0 < float(r) < 1.0:
            raise ValueError(f"reflectivity must be a number in (0, 1), got {reflectivity!r}")
        self.reflectivity = float(r)
        self.dtype = complex_dtype(dtype)
        real = real_of(self.dtype)
        self.tol = (1e-6 if self.dtype == torch.complex64 else 1e-14) if tol is None else tol
        self.terms = neumann_terms(self.reflectivity, self.tol)
        self.solver = solver
        C, R, N = self.num_classes, self.replicas, self.in_features
        kw = {"generator": generator, "dtype": real, "device": device}
        # a_rho ~ N(0, (0.1 10^rho)^2), one random vector per replica shared by the classes
        scale = 0.1 * 10.0 ** torch.arange(R, dtype=torch.float64, device=device)
        a = torch.randn(1, R, N, **kw) * scale.to(real)[None, :, None]
        self.a = nn.Parameter(a.expand(C, R, N).clone())
        self.b = nn.Parameter(torch.randn(C, R, N, **kw))
        # I_in ~ CN(0, 1): real and imaginary parts N(0, 1/2), stored real (C, R, N, 2)
        self.source = nn.Parameter(torch.randn(C, R, N, 2, **kw) * math.sqrt(0.5))
        P = torch.randn(C, R, N, N, **kw)
        self.train_scatterer = bool(train_scatterer)
        if self.train_scatterer:
            self.P = nn.Parameter(P)
        else:
            self.register_buffer("P", P)
            # S of the fixed P (and its eigendecomposition), rebuilt whenever P changes
            # (in place, by load_state_dict or by a move): keyed by P's version and storage
            self._fixed = None
            self._fixed_key = None

    # -- configuration -------------------------------------------------------------------
    @property
    def solver(self) -> str:
        return self._solver

    @solver.setter
    def solver(self, value: str) -> None:
        if value not in SOLVERS:
            raise ValueError(f"solver must be one of {list(SOLVERS)}, got {value!r}")
        self._solver = value

    @property
    def error_bound(self) -> float:
        """Bound on ``||E - E_exact|| / ||I_in||`` of the Neumann solver (0 for direct)."""
        return 0.0 if self.solver == "direct" else neumann_bound(self.reflectivity, self.terms)

    @property
    def plane_side(self) -> int:
        """``n``: the side of the square plane the replica fields tile (needs a square ``N``)."""
        return _square_side(self.in_features, "in_features") * self.replica_side

    # -- physics -------------------------------------------------------------------------
    def _scatterer(self) -> torch.Tensor:
        return symmetric_unitary(self.P).to(self.dtype)

    def _key(self):
        return (self.P._version, self.P.data_ptr(), self.P.device)

    def _fixed_scatterer(self):
        """``(S, (lam, Q))`` of the fixed ``P``, cached until ``P`` changes."""
        key = self._key()
        if key != self._fixed_key:
            with torch.no_grad():
                lam, Q = sym_eigh(self.P)
                Qc = Q.to(torch.complex128)
                S = (Qc * torch.polar(torch.ones_like(lam), lam).unsqueeze(-2)) @ Qc.mT
                self._fixed = (S.to(self.dtype), (lam, Q))
            self._fixed_key = key
        return self._fixed

    def scatterer(self) -> torch.Tensor:
        """``S``, complex ``(C, R, N, N)`` in the model's dtype.

        A trained scatterer is computed from ``P`` at every call (with its graph);
        a fixed one is cached and rebuilt only when ``P`` changes.
        """
        if self.train_scatterer:
            return self._scatterer()
        return self._fixed_scatterer()[0]

    def input_field(self) -> torch.Tensor:
        """``I_in``, complex ``(C, R, N)``."""
        return torch.view_as_complex(self.source).to(self.dtype)

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        return feature_batch(x, self.in_features, real_of(self.dtype), "phases")

    def phases(self, x: torch.Tensor) -> torch.Tensor:
        """The encoded phases ``a ⊙ x + b`` [rad], real ``(B, C, R, N)``."""
        x = self._inputs(x)
        return self.a * x[:, None, None, :] + self.b

    def field(self, x: torch.Tensor) -> torch.Tensor:
        """The cavity field ``E`` at the phase screen, complex ``(B, C, R, N)``."""
        ph = self.phases(x)
        t = torch.polar(torch.ones_like(ph), ph)
        src = self.input_field()
        if self.solver == "direct":
            return cavity_direct(t, self.scatterer(), src, self.reflectivity)
        # the series applies S = Q e^{i lam} Q^T in its eigenbasis (eigh in float64)
        eig = None if self.train_scatterer else self._fixed_scatterer()[1]
        return cavity_neumann_sym(t, self.P, src, self.reflectivity, terms=self.terms, eig=eig)

    def plane(self, x: torch.Tensor) -> torch.Tensor:
        """The replica fields tiled on the ``n x n`` plane before the lens, ``(B, C, n, n)``.

        Replica ``rho`` occupies tile ``(rho // sqrt(R), rho % sqrt(R))``, its
        ``N`` values in row-major order.
        """
        E = self.field(x)
        m, q = _square_side(self.in_features, "in_features"), self.replica_side
        B, C = E.shape[:2]
        tiles = E.reshape(B, C, q, q, m, m)
        return tiles.permute(0, 1, 2, 4, 3, 5).reshape(B, C, q * m, q * m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        E = self.field(x)
        n2 = self.replicas * self.in_features
        return E.sum(dim=(-2, -1)).abs().square() / n2

    # -- interoperability ------------------------------------------------------------------
    @classmethod
    def from_reference_parameters(
        cls,
        a: torch.Tensor,
        b: torch.Tensor,
        I_in: torch.Tensor,
        S_param: torch.Tensor,
        *,
        reflectivity: float = 0.5,
        train_scatterer: bool = True,
        solver: str = "neumann",
        dtype: torch.dtype = torch.complex64,
        device=None,
    ) -> MultivariatePNN:
        """A model with the parameters of the authors' code, in their shapes.

        Args:
            a, b: ``(classes, 1, R, N)`` real.
            I_in: ``(classes, R, N)`` complex.
            S_param: ``(classes, R, N, N)`` real (``P``; symmetrised here).
        """
        for name, v, nd in (("a", a, 4), ("b", b, 4), ("I_in", I_in, 3), ("S_param", S_param, 4)):
            if not isinstance(v, torch.Tensor) or v.ndim != nd:
                raise ValueError(f"{name} must be a {nd}-D tensor in the authors' shapes")
        C, one, R, N = a.shape
        if one != 1 or b.shape != a.shape:
            raise ValueError(
                f"a and b must be (classes, 1, R, N), got {tuple(a.shape)}, {tuple(b.shape)}"
            )
        if I_in.shape != (C, R, N) or not I_in.is_complex():
            raise ValueError(
                f"I_in must be complex (classes, R, N) = {(C, R, N)}, got "
                f"{tuple(I_in.shape)} {I_in.dtype}"
            )
        if S_param.shape != (C, R, N, N):
            raise ValueError(
                f"S_param must be (classes, R, N, N) = {(C, R, N, N)}, got {tuple(S_param.shape)}"
            )
        model = cls(N, C, R, reflectivity, train_scatterer, solver, dtype=dtype, device=device)
        real = real_of(model.dtype)
        with torch.no_grad():
            model.a.copy_(a[:, 0].to(real))
            model.b.copy_(b[:, 0].to(real))
            model.source.copy_(torch.view_as_real(I_in.to(model.dtype)))
            model.P.copy_(S_param.to(real))
        return model

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"replicas={self.replicas}, reflectivity={self.reflectivity:g}, "
            f"train_scatterer={self.train_scatterer}, solver={self.solver!r}, "
            f"terms={self.terms}"
        )

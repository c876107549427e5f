"""Structured MZI meshes with non-idealities: ``FFTMesh`` (a butterfly of ``log2 n``
stages) and ``PermutingMesh`` (a permuting rectangular mesh of ``~log2 n`` blocks)."""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from .._checks import complex_dtype, one_of, real_of
from .._module import ComplexModule
from ..functional.mzi import mzi_entries
from ..functional.mzi_errors import crosstalk_pairs, quantize_mzi_phases
from ..functional.mzi_mesh import clements_layout, prefer_matrix
from ..functional.structured_mesh import (
    ButterflyLayout,
    PermutingLayout,
    butterfly_apply,
    butterfly_crosstalk_pairs,
    butterfly_dft_phases,
    butterfly_layout,
    butterfly_matrix,
    butterfly_random_phases,
    permuting_apply,
    permuting_haar_phases,
    permuting_layout,
    permuting_matrix,
)
from .imperfections import MeshImperfections
from .mesh import check_mode_input

__all__ = ["FFTMesh", "PermutingMesh", "mesh_cost"]

F64 = torch.float64


def mesh_cost(n: int) -> dict[str, dict[str, int]]:
    """MZI count, real phases and optical depth (MZI columns on a path) of a Clements
    mesh, a permuting rectangular mesh (Pai et al.'s default blocks) and, for ``n`` a
    power of two, a butterfly mesh of ``n`` modes."""
    c, p = clements_layout(n), permuting_layout(n)
    out = {
        "clements": {"n_mzi": c.n_mzi, "n_phases": 2 * c.n_mzi + n, "depth": c.n_columns},
        "permuting": {"n_mzi": p.n_mzi, "n_phases": p.n_phases, "depth": p.n_columns},
    }
    if n >= 2 and not n & (n - 1):
        b = butterfly_layout(n)
        out["butterfly"] = {"n_mzi": b.n_mzi, "n_phases": b.n_phases, "depth": b.n_stages}
    return out


class _StructuredMesh(ComplexModule):
    """The non-idealities shared by the structured meshes (the same meaning as for
    :class:`~photonn.onchip.MZIMesh`): subclasses set ``layout`` (with ``n_mzi``), the
    parameters ``theta``, ``phi``, ``output_phase`` and define ``_crosstalk_pairs()`` (the
    index pairs of neighbouring heaters, as :func:`butterfly_crosstalk_pairs` returns)."""

    @property
    def n_mzi(self) -> int:
        return self.layout.n_mzi

    @property
    def n_modes(self) -> int:
        """The mode count, under the name every mesh shares (the constructor's ``n``)."""
        return self.n

    # ---- non-idealities -------------------------------------------------------------
    @property
    def imperfections(self) -> MeshImperfections:
        """The frozen :class:`MeshImperfections`; assign a new value to change them."""
        return self._imperfections

    @imperfections.setter
    def imperfections(self, value: MeshImperfections) -> None:
        if not isinstance(value, MeshImperfections):
            raise TypeError(
                f"imperfections must be a photonn.onchip.MeshImperfections, got "
                f"{type(value).__name__}"
            )
        m = self.layout.n_mzi
        for name, shape in (
            ("coupler_error", (m, 2)),
            ("arm_loss_db", (m, 2)),
            ("theta_error", (m,)),
            ("phi_error", (m,)),
        ):
            t = getattr(value, name)
            if t is not None and t.shape != shape:
                raise ValueError(
                    f"{name} must have shape {shape} for this mesh of {m} MZIs, "
                    f"got {tuple(t.shape)}"
                )
        K = None
        if value.crosstalk is not None:
            if isinstance(value.crosstalk, float):
                K = torch.eye(m, dtype=F64)
                rows, cols = self._crosstalk_pairs()
                if rows:
                    K[torch.tensor(rows), torch.tensor(cols)] = value.crosstalk
            else:
                K = value.crosstalk.to_dense().to(F64)
                if K.shape != (m, m):
                    raise ValueError(
                        f"crosstalk matrix must be ({m}, {m}) for this mesh, got {tuple(K.shape)}"
                    )
        self._crosstalk = K
        self._imperfections = value

    @contextlib.contextmanager
    def using(self, imperfections: MeshImperfections):
        """Evaluate the mesh under other imperfections inside the ``with`` block."""
        own = self._imperfections
        self.imperfections = imperfections
        try:
            yield self
        finally:
            self.imperfections = own

    def effective_phases(self):
        """``(theta, phi)`` as the MZIs see them: DAC, crosstalk, + errors, + noise."""
        imp, theta, phi = self._imperfections, self.theta, self.phi
        ref = dict(dtype=theta.dtype, device=theta.device)
        if imp.dac is not None:
            d = imp.dac
            theta, phi = quantize_mzi_phases(theta, phi, d.bits, law=d.law, max_phase=d.max_phase)
        if self._crosstalk is not None:
            K = self._crosstalk.to(**ref) - torch.eye(self.n_mzi, **ref)
            theta = theta + K @ (torch.remainder(2 * theta, 2 * math.pi) / 2)
            phi = phi + K @ torch.remainder(phi, 2 * math.pi)
        if imp.theta_error is not None:
            theta = theta + imp.theta_error.to(**ref)
        if imp.phi_error is not None:
            phi = phi + imp.phi_error.to(**ref)
        if imp.phase_noise_std > 0:
            gen = imp.noise_generator
            noise = torch.randn(2, self.n_mzi, generator=gen, dtype=theta.dtype, device=gen.device)
            noise = imp.phase_noise_std * noise.to(theta.device)
            theta, phi = theta + noise[0], phi + noise[1]
        return theta, phi

    def _entries(self, ideal: bool):
        imp = self._imperfections
        if ideal or imp.is_ideal:
            ent = mzi_entries(self.theta, self.phi)
        else:
            theta, phi = self.effective_phases()
            ref = dict(dtype=theta.dtype, device=theta.device)
            ce = None if imp.coupler_error is None else imp.coupler_error.to(**ref)
            al = None if imp.arm_loss_db is None else imp.arm_loss_db.to(**ref)
            ent = mzi_entries(theta, phi, ce, al)
        out = torch.polar(torch.ones_like(self.output_phase), self.output_phase)
        return ent, out


class FFTMesh(_StructuredMesh):
    """A butterfly (radix-2 FFT) mesh of MZIs, ``U = D S_{K-1} ... S_0 P`` with
    ``K = log2 n`` stages of ``n/2`` MZIs and fixed permutations
    (:mod:`photonn.functional.structured_mesh`).

    Args:
        n: number of modes, a power of two >= 2.
        init: ``"bar"`` (default; every MZI in the bar state: ``U = P``, the
            bit-reversal permutation, not the identity),
            ``"dft"`` (the unitary DFT, as :meth:`dft`) or ``"random"`` (every MZI a
            Haar-random ``U(2)`` block; needs ``generator``). ``"haar"`` is refused: a
            butterfly has ``n log2 n + n`` phases, fewer than the ``n^2`` of ``U(n)``,
            and cannot be Haar-random on ``U(n)``.
        generator: ``torch.Generator`` for ``init="random"``.
        imperfections: a :class:`~photonn.onchip.MeshImperfections` with the same
            meaning as for :class:`~photonn.onchip.MZIMesh` (coupler errors, arm losses
            [dB], static phase errors, thermal crosstalk, DAC, phase noise); a float
            crosstalk couples neighbouring MZIs of one stage.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.

    Parameters: ``theta``, ``phi`` ``(n_mzi,)`` and ``output_phase`` ``(n,)`` [rad].
    Shapes: ``forward`` maps complex ``(..., n)`` to ``(..., n)``.
    """

    def __init__(
        self,
        n: int,
        *,
        init: str = "bar",
        generator: torch.Generator | None = None,
        imperfections: MeshImperfections | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        if init == "haar":
            raise ValueError(
                "init='haar' is not possible for a butterfly mesh: its n log2 n + n phases "
                "reach only a measure-zero subset of U(n); use init='random' (each MZI a "
                "Haar-random U(2) block) or an MZIMesh(n, init='haar')"
            )
        one_of(init, ("bar", "dft", "random"), "init")
        self.layout: ButterflyLayout = butterfly_layout(n)
        self.n = n
        self.dtype = complex_dtype(dtype)
        rdt = real_of(self.dtype)
        m = self.layout.n_mzi
        if init == "bar":
            theta, phi, out = (torch.zeros(k, dtype=F64) for k in (m, m, n))
        elif init == "dft":
            theta, phi, out = butterfly_dft_phases(n)
        else:
            if not isinstance(generator, torch.Generator):
                raise TypeError("init='random' needs generator=torch.Generator()")
            theta, phi, out = butterfly_random_phases(n, generator)
        self.theta = nn.Parameter(theta.to(dtype=rdt, device=device))
        self.phi = nn.Parameter(phi.to(dtype=rdt, device=device))
        self.output_phase = nn.Parameter(out.to(dtype=rdt, device=device))
        self.imperfections = MeshImperfections() if imperfections is None else imperfections

    @classmethod
    def dft(cls, n: int, *, dtype=torch.complex128, device=None) -> FFTMesh:
        """A mesh set to the unitary DFT ``F[k, m] = exp(-2 pi i k m / n) / sqrt(n)``."""
        return cls(n, init="dft", dtype=dtype, device=device)

    # ---- size ---------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Optical depth: MZIs on every path (``log2 n``; a Clements mesh has ``n``)."""
        return self.layout.n_stages

    def cost(self) -> dict[str, dict[str, int]]:
        """This mesh's MZIs, phases and depth next to a Clements mesh of ``n`` modes."""
        return mesh_cost(self.n)

    def _crosstalk_pairs(self):
        return butterfly_crosstalk_pairs(self.layout)

    def matrix(self, *, ideal: bool = False) -> torch.Tensor:
        """The ``(n, n)`` transfer matrix (with the errors unless ``ideal=True``)."""
        ent, out = self._entries(ideal)
        return butterfly_matrix(ent, self.layout, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_mode_input(x, self.n, self.dtype)
        ent, out = self._entries(False)
        return butterfly_apply(x, ent, self.layout, out)

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, n_mzi={self.n_mzi}, depth={self.depth}, dtype={self.dtype}, "
            f"errors={not self._imperfections.is_ideal}"
        )


class PermutingMesh(_StructuredMesh):
    """A permuting rectangular mesh of MZIs (Pai et al. 2019):
    ``U = D M_{B-1} Pi_{B-2} ... Pi_0 M_0``, ``B`` blocks ``M_b`` of rectangular MZI
    columns separated by fixed waveguide permutations ``Pi_b``
    (:mod:`photonn.functional.structured_mesh`).

    The default (``blocks=None``) is Pai et al.'s layout: ``round(log2 n)`` blocks, ``n``
    columns and ``n (n - 1) / 2`` MZIs in all, as many phases and as deep as a Clements
    mesh (:func:`mesh_cost`), with light mixed across the chip after every block.

    Args:
        n: number of modes, ``>= 2`` (any ``n``: no power of two needed).
        blocks, strides: columns per block and the strides of the permutations between
            them (see :func:`~photonn.functional.structured_mesh.permuting_layout`);
            both or neither.
        init: ``"bar"`` (default; every MZI in the bar state: ``U`` is the product of the
            permutations) or ``"pai"`` (Pai et al.'s initialisation: each block's MZIs
            drawn with the Haar-random law of a rectangle of its columns,
            :func:`~photonn.functional.structured_mesh.permuting_haar_phases`; needs
            ``generator``). ``"haar"`` is refused: the permuting mesh is not known to
            reach every unitary, and Pai et al.'s law is not Haar on ``U(n)`` for more
            than one block (at ``n = 8`` some mean ``|U_ij|^2`` lie above ``1.5/n``,
            others below ``0.5/n``, against ``1/n`` for Haar;
            ``tests/onchip/test_haar_init.py``). For a
            Haar-random start use ``MZIMesh(n, init="haar")``, or ``blocks=(n,),
            strides=()`` (one block: a Clements mesh, where the law is exact).
        generator: ``torch.Generator`` for ``init="pai"``.
        imperfections: a :class:`~photonn.onchip.MeshImperfections` (as for
            :class:`FFTMesh`); a float crosstalk couples neighbouring MZIs of a column.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.

    Parameters: ``theta``, ``phi`` ``(n_mzi,)`` and ``output_phase`` ``(n,)`` [rad].
    Shapes: ``forward`` maps complex ``(..., n)`` to ``(..., n)``.
    """

    def __init__(
        self,
        n: int,
        *,
        blocks=None,
        strides=None,
        init: str = "bar",
        generator: torch.Generator | None = None,
        imperfections: MeshImperfections | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        blocks = None if blocks is None else tuple(blocks)
        strides = None if strides is None else tuple(strides)
        self.layout: PermutingLayout = permuting_layout(n, blocks, strides)
        if init == "haar" and len(self.layout.blocks) > 1:
            raise ValueError(
                "init='haar' is not possible for a permuting mesh of several blocks: it is not "
                "known to reach every unitary, and Pai et al.'s per-block law is not Haar on "
                "U(n); use init='pai' (that law), MZIMesh(n, init='haar'), or blocks=(n,), "
                "strides=() (one block: a Clements mesh, Haar-random exactly)"
            )
        one_of(init, ("bar", "pai", "haar"), "init")
        self.n = n
        self.dtype = complex_dtype(dtype)
        rdt = real_of(self.dtype)
        m = self.layout.n_mzi
        if init == "bar":
            theta, phi, out = (torch.zeros(k, dtype=F64) for k in (m, m, n))
        else:
            if not isinstance(generator, torch.Generator):
                raise TypeError(f"init={init!r} needs generator=torch.Generator()")
            theta, phi, out = permuting_haar_phases(self.layout, generator)
        self.theta = nn.Parameter(theta.to(dtype=rdt, device=device))
        self.phi = nn.Parameter(phi.to(dtype=rdt, device=device))
        self.output_phase = nn.Parameter(out.to(dtype=rdt, device=device))
        self.imperfections = MeshImperfections() if imperfections is None else imperfections

    @property
    def depth(self) -> int:
        """Optical depth: MZI columns on a path (``n`` for the default layout)."""
        return self.layout.n_columns

    def cost(self) -> dict[str, dict[str, int]]:
        """This mesh's MZIs, phases and depth next to a Clements mesh of ``n`` modes."""
        c = clements_layout(self.n)
        lay = self.layout
        return {
            "clements": {"n_mzi": c.n_mzi, "n_phases": 2 * c.n_mzi + self.n, "depth": self.n},
            "permuting": {"n_mzi": lay.n_mzi, "n_phases": lay.n_phases, "depth": lay.n_columns},
        }

    def _crosstalk_pairs(self):
        rows, cols = [], []
        for blk, off in zip(self.layout.blocks, self.layout.offsets):
            r, c = crosstalk_pairs(blk)
            rows += [off + i for i in r]
            cols += [off + j for j in c]
        return rows, cols

    def matrix(self, *, ideal: bool = False) -> torch.Tensor:
        """The ``(n, n)`` transfer matrix (with the errors unless ``ideal=True``)."""
        ent, out = self._entries(ideal)
        return permuting_matrix(ent, self.layout, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_mode_input(x, self.n, self.dtype)
        ent, out = self._entries(False)
        if prefer_matrix(x.numel() // self.n, self.n, self.layout.n_columns):
            return x @ permuting_matrix(ent, self.layout, out).transpose(-1, -2)
        return permuting_apply(x, ent, self.layout, out)

    def extra_repr(self) -> str:
        blocks = tuple(b.n_columns for b in self.layout.blocks)
        return (
            f"n={self.n}, blocks={blocks}, strides={self.layout.strides}, "
            f"n_mzi={self.n_mzi}, dtype={self.dtype}, errors={not self._imperfections.is_ideal}"
        )

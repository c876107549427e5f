"""``EncodedMesh``: data written into an MZI mesh's phase shifters, over ``K`` time slots.

The on-chip route of Savinson, Norris, Mishra and Lanthaler, "Universality of
physical neural networks with multivariate nonlinearity" (arXiv:2509.05420): the
input is not sent as light but written into tunable device parameters, here the
phase shifters of one small MZI mesh, ``phase = a ⊙ x_sub + b``. The mesh is
linear in the light but not in its phases, so the detected intensities are a
nonlinear function of the data. Temporal multiplexing re-uses the same physical
mesh over ``K`` time slots, each slot writing its own part or replica of the
input; the detector integrates the slots. The effective size (phases written
with data per inference) is ``K P``, however small the mesh.

Per slot ``k`` (``k = 0 .. K-1``) and sample ``x`` (``D = in_features`` real values):

1. ``x_sub,k = x[index[k]]`` ``(P,)``: which inputs slot ``k`` writes (``assign``):
   ``"split"``: the input, zero-padded to ``K P``, cut into ``K`` consecutive
   chunks of ``P`` (slot ``k`` writes ``x[k P : (k + 1) P]``; the padding writes 0,
   i.e. the phase ``b``); ``"replicate"``: every slot writes all of ``x``
   (``P = D``), each with its own ``a_k, b_k`` (the replicas of the paper).
2. The ``P`` encoded phase shifters (``encode``: the MZIs' internal ``theta``,
   external ``phi``, or both, interleaved ``theta_0, phi_0, theta_1, ...`` in the
   layout's MZI order) get ``a_k ⊙ x_sub,k + b_k`` [rad]. They are spread evenly
   over the encodable shifters (shifter ``floor(j E / P)`` of the ``E`` encodable
   ones carries value ``j``), so the data enter at every depth of the mesh. Every
   other phase shifter holds a trainable static phase, its own in every slot
   (all shifters are re-set at each slot anyway). ``b_k`` and the static phases
   are the per-slot biases ``theta_bias``, ``phi_bias`` ``(K, n_mzi)``; ``a`` is
   ``gain`` ``(K, P)`` [rad per unit of x].
3. A trainable input field ``s`` (complex ``(N,)``, stored as real pairs
   ``source (N, 2)``; the same in every slot, its norm the laser amplitude) goes
   through the slot's mesh: ``y_k = U(theta_k(x), phi_k(x)) s`` ``(N,)``.
4. The detector integrates the slots:
   ``"incoherent"``: intensities add, ``I = (1/K) sum_k |y_k|^2`` (a square-law
   detector averaging its photocurrent over the ``K`` slots; what a slow
   photodiode does by itself); ``"coherent"``: fields add,
   ``I = |sum_k D_k y_k|^2 / K``, with a trainable output phase screen ``D_k``
   per slot (``output_phase (K, N)``; under incoherent integration a phase screen
   changes nothing and is left out). The ``1/sqrt(K)`` amplitude per slot is that
   of a passive K-to-1 combiner. Coherent integration assumes the slot outputs
   are brought together phase-stably (delay lines of one slot duration each, or
   a resonant buffer): with microsecond thermo-optic slots that is idealised, and
   it is offered as the limit in which slots interfere.
5. Readout (``readout``): ``"intensity"``: the integrated intensities of the
   chosen output modes (``outputs``) are the class scores, used raw as logits
   (the source's norm acts as the softmax temperature): all the computation is
   optical. ``"affine"``: a learnt real affine map ``W I + c`` (``num_classes x
   len(outputs)``) follows the detectors; that part is electronic and reported
   as such (:attr:`electronic_parameters`).

Under ``"split"`` with incoherent integration the scores are a sum of functions
of the separate chunks (no term couples pixels written in different slots);
coherent integration adds the cross terms between slots; ``"replicate"`` gives
every slot the whole input, a sum of ``K`` multivariate terms
``sigma(a_k ⊙ x + b_k)``, the form of the paper's universality theorem.

Time per inference: every slot waits for the phase shifters to settle, so
``t = K (tau_update + tau_slot)``, with ``tau_update`` the shifters' response
time (``response_time_us`` of an ``mzi_platform`` profile) and ``tau_slot`` the
optical transit plus detector integration per slot (picoseconds to nanoseconds;
0 by default); see :meth:`EncodedMesh.time_per_inference`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from .._checks import (
    check_generator,
    complex_dtype,
    feature_batch,
    non_negative_float,
    one_of,
    positive_int,
    real_of,
    renamed,
    renamed_attribute,
)
from .._module import ComplexModule
from ..devices import resolve_profile
from ..devices.profile import forward_keywords
from ..functional.mzi_mesh import MeshLayout, _mesh_batched, mesh_layout
from .imperfections import MeshImperfections, _static_buffers, _using

__all__ = ["EncodedMesh"]

ENCODE = ("theta", "phi", "both")
ASSIGN = ("split", "replicate")
INTEGRATE = ("incoherent", "coherent")
READOUT = ("intensity", "affine")
_MODELLED = ("coupler_error", "arm_loss_db")
# the fields of a MeshImperfections that an encoded mesh does not model (its phases are
# data, written afresh at every slot): refused rather than silently ignored
_NOT_MODELLED = {
    "theta_error": lambda v: v.theta_error is not None,
    "phi_error": lambda v: v.phi_error is not None,
    "crosstalk": lambda v: v.crosstalk is not None,
    "dac": lambda v: v.dac is not None,
    "phase_noise_std": lambda v: v.phase_noise_std != 0,
}


def _value_from_loaded_buffers(mesh: EncodedMesh, _incompatible) -> None:
    """After ``load_state_dict``, the value describes the loaded buffers (a stored
    model's errors), so that :attr:`EncodedMesh.imperfections` never disagrees with
    what the mesh computes."""
    static = {
        name: None if getattr(mesh, name) is None else getattr(mesh, name).to(torch.float64)
        for name in _MODELLED
    }
    mesh._imperfections = mesh._imperfections.replace(**static)


class EncodedMesh(ComplexModule):
    """A data-encoded MZI mesh with ``K`` time slots: ``forward(x (B, D)) -> scores (B, C)``.

    See the module docstring for the model (slots, encoded shifters, integration,
    readout) and the time per inference.

    Args:
        n_modes: number of modes ``N`` of the physical mesh (as for :class:`MZIMesh`);
            ``n=`` is its deprecated name.
        layout: ``"clements"`` (default) or ``"reck"`` (or a :class:`MeshLayout`).
        in_features: ``D``, real inputs per sample (196 for 14x14 images).
        slots: ``K``, time slots per inference.
        encode: which phase shifters carry data: ``"theta"`` (internal, ``E = n_mzi``
            encodable), ``"phi"`` (external, ``E = n_mzi``) or ``"both"``
            (``E = 2 n_mzi``, default).
        assign: ``"split"`` (slot ``k`` writes chunk ``k`` of ``x``, default) or
            ``"replicate"`` (every slot writes all of ``x``).
        phases_per_slot: ``P``, encoded shifters per slot; default ``ceil(D / K)``
            (split) or ``D`` (replicate, the only value allowed there). Needs
            ``P <= E``; under split ``K P >= D`` and every slot must carry data.
        integrate: ``"incoherent"`` (intensities add, default) or ``"coherent"``
            (fields add).
        outputs: the detected output modes: None (all ``N``), an int ``m`` (modes
            ``0 .. m-1``) or a sequence of distinct mode indices.
        readout: ``"intensity"`` (the detected intensities are the scores, default)
            or ``"affine"`` (a learnt electronic affine map to ``num_classes``).
        num_classes: the number of scores of the affine readout (only with
            ``readout="affine"``).
        gain_std: initial ``a ~ N(0, gain_std^2)`` [rad per unit of x] (default 1).
        generator: ``torch.Generator`` for the initialisation (required: the
            initial phases are random): biases uniform in ``[0, 2 pi)``,
            ``s ~ CN(0, 1)`` per mode, ``D_k`` uniform, the affine map as
            ``nn.Linear``'s default.
        imperfections: a :class:`~photonn.onchip.MeshImperfections` with static
            ``coupler_error`` ``(n_mzi, 2)`` [rad] and ``arm_loss_db`` ``(n_mzi, 2)``
            [dB], shared by every slot; default: ideal. Its other fields are refused.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``; phases and
            scores are the matching real dtype.
        device: where the parameters live.

    Parameters: ``gain (K, P)``, ``theta_bias``, ``phi_bias`` ``(K, n_mzi)`` [rad],
    ``source (N, 2)``, ``output_phase (K, N)`` [rad] (coherent only),
    ``readout_weight (C, m)``, ``readout_bias (C,)`` (affine only).

    Shapes: ``x`` real floating ``(B, D)`` (``(B, H, W)`` with ``H W = D`` is
    flattened); :meth:`phases` ``(B, K, n_mzi)`` twice; :meth:`fields` complex
    ``(B, K, N)``; :meth:`intensity` real ``(B, N)``; ``forward`` real
    ``(B, m)`` (intensity readout) or ``(B, C)`` (affine).

    Non-idealities (off by default): ``imperfections``, a frozen
    :class:`~photonn.onchip.MeshImperfections` given at construction (or by
    :meth:`from_profile`) and changed by replacing it (``mesh.imperfections =
    mesh.imperfections.replace(coupler_error=...)``; :meth:`using` for a while). Its
    static coupler splitting errors and arm losses are shared by every slot; the
    static phase errors, thermal crosstalk, DAC quantisation and phase noise of
    :class:`MZIMesh` are not modelled here and are refused.
    """

    n = renamed_attribute("n", "n_modes")

    def __init__(
        self,
        n_modes: int | None = None,
        layout: str | MeshLayout = "clements",
        *,
        in_features: int,
        slots: int = 1,
        encode: str = "both",
        assign: str = "split",
        phases_per_slot: int | None = None,
        integrate: str = "incoherent",
        outputs: int | Sequence[int] | None = None,
        readout: str = "intensity",
        num_classes: int | None = None,
        gain_std: float = 1.0,
        generator: torch.Generator | None = None,
        imperfections: MeshImperfections | None = None,
        dtype=torch.complex64,
        device=None,
        n: int | None = None,
    ):
        super().__init__()
        n = renamed(n_modes, n, new_name="n_modes", old_name="n", owner="EncodedMesh")
        self.n_modes = positive_int(n, "n_modes")
        self.layout = mesh_layout(n, layout)
        self.in_features = positive_int(in_features, "in_features")
        self.slots = positive_int(slots, "slots")
        self.encode = one_of(encode, ENCODE, "encode")
        self.assign = one_of(assign, ASSIGN, "assign")
        self.integrate = one_of(integrate, INTEGRATE, "integrate")
        self.readout = one_of(readout, READOUT, "readout")
        self.dtype = complex_dtype(dtype)
        gain_std = non_negative_float(gain_std, "gain_std", "rad per unit input")
        check_generator(
            generator, required_for="EncodedMesh's initialisation (phases, gains, field)"
        )
        m, K, D = self.layout.n_mzi, self.slots, self.in_features
        self.encodable = m * (2 if encode == "both" else 1)
        P = self._phases_per_slot(phases_per_slot)
        self.phases_per_slot = P
        self.output_modes = self._outputs(outputs)
        if readout == "affine":
            if num_classes is None:
                raise ValueError("readout='affine' needs num_classes=C (the number of scores)")
            self.num_classes = positive_int(num_classes, "num_classes")
        elif num_classes is not None:
            raise ValueError(
                "num_classes is only for readout='affine'; with readout='intensity' the "
                "detected modes are the scores (choose them with outputs=)"
            )
        else:
            self.num_classes = len(self.output_modes)

        # which input value each encoded shifter of each slot writes (D = the zero pad)
        j = torch.arange(P)
        if assign == "split":
            flat = torch.arange(K)[:, None] * P + j
            index = torch.where(flat < D, flat, torch.full_like(flat, D))
        else:
            index = j.expand(K, P)
        self.register_buffer("input_index", index.contiguous().to(device), persistent=False)
        # where the P encoded values go in the flat shifter vector [theta (m), phi (m)]
        pos = (j * self.encodable) // P
        if encode == "phi":
            pos = pos + m
        elif encode == "both":  # theta_0, phi_0, theta_1, phi_1, ...
            pos = (pos % 2) * m + pos // 2
        self.register_buffer("encoded_index", pos.to(device), persistent=False)
        self._all_outputs = self.output_modes == tuple(range(self.n_modes))
        out_idx = torch.tensor(self.output_modes, dtype=torch.long, device=device)
        self.register_buffer("output_index", out_idx, persistent=False)

        rdt = real_of(self.dtype)
        kw = {"generator": generator, "dtype": torch.float64}

        def param(t):
            return nn.Parameter(t.to(device=device, dtype=rdt))

        self.gain = param(gain_std * torch.randn(K, P, **kw))
        self.theta_bias = param(2 * math.pi * torch.rand(K, m, **kw))
        self.phi_bias = param(2 * math.pi * torch.rand(K, m, **kw))
        self.source = param(math.sqrt(0.5) * torch.randn(self.n_modes, 2, **kw))
        if integrate == "coherent":
            self.output_phase = param(2 * math.pi * torch.rand(K, self.n_modes, **kw))
        else:
            self.register_parameter("output_phase", None)
        if readout == "affine":
            fan = len(self.output_modes)
            bound = 1.0 / math.sqrt(fan)
            self.readout_weight = param((2 * torch.rand(self.num_classes, fan, **kw) - 1) * bound)
            self.readout_bias = param((2 * torch.rand(self.num_classes, **kw) - 1) * bound)
        else:
            self.register_parameter("readout_weight", None)
            self.register_parameter("readout_bias", None)
        self.register_buffer("coupler_error", None)
        self.register_buffer("arm_loss_db", None)
        self.imperfections = MeshImperfections() if imperfections is None else imperfections
        self.register_load_state_dict_post_hook(_value_from_loaded_buffers)
        self.response_time: float | None = None

    # ---- construction helpers ------------------------------------------------------
    def _phases_per_slot(self, P) -> int:
        K, D, E = self.slots, self.in_features, self.encodable
        if P is None:
            P = -(-D // K) if self.assign == "split" else D
        P = positive_int(P, "phases_per_slot")
        if self.assign == "replicate" and P != D:
            raise ValueError(
                f"assign='replicate' writes all in_features = {D} inputs in every slot, so "
                f"phases_per_slot must be {D} (or None), got {P}"
            )
        if P > E:
            raise ValueError(
                f"{P} encoded phases per slot do not fit: this {self.n_modes}-mode "
                f"{self.layout.name} mesh has {E} encodable phase shifters with "
                f"encode={self.encode!r}; use more slots (assign='split'), encode='both', or a "
                "larger mesh"
            )
        if self.assign == "split":
            if K * P < D:
                raise ValueError(
                    f"slots * phases_per_slot = {K} * {P} = {K * P} < in_features = {D}: the "
                    f"split leaves inputs unwritten; use phases_per_slot >= {-(-D // K)}"
                )
            if (K - 1) * P >= D:
                raise ValueError(
                    f"with phases_per_slot = {P}, slots beyond {-(-D // P)} would carry only "
                    f"padding ({D} inputs); use slots <= {-(-D // P)} or fewer phases per slot"
                )
        return P

    def _outputs(self, outputs) -> tuple[int, ...]:
        n = self.n_modes
        if outputs is None:
            return tuple(range(n))
        if isinstance(outputs, int) and not isinstance(outputs, bool):
            if not 1 <= outputs <= n:
                raise ValueError(f"outputs = {outputs} modes, but the mesh has 1 .. {n} modes")
            return tuple(range(outputs))
        if isinstance(outputs, Sequence) and not isinstance(outputs, str):
            modes = tuple(outputs)
            fine = all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n for v in modes)
            if not (fine and modes and len(set(modes)) == len(modes)):
                raise ValueError(
                    f"outputs must be distinct mode indices in 0 .. {n - 1}, got {list(outputs)}"
                )
            return modes
        raise TypeError(
            f"outputs must be None, an int or a sequence of mode indices, got {outputs!r}"
        )

    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        n_modes: int | None = None,
        error_generator: torch.Generator | None = None,
        n: int | None = None,
        **kwargs,
    ) -> EncodedMesh:
        """An encoded mesh on an ``mzi_platform`` device profile.

        Args:
            profile: the only positional argument (a ``DeviceProfile``, its name
                ``"si_thermo_optic_mzi"``, a TOML path or a mapping of SI values;
                see :func:`photonn.devices.resolve_profile`).
            n_modes: the number of modes (``n=``: its deprecated name), and every other
                keyword of the constructor (``in_features``, ``layout``, ``slots``, ...
                ``dtype``, ``device``).
            error_generator: draws the coupler errors (std
                ``coupler_imbalance_sigma`` [rad]); without it the couplers are ideal.

        Each MZI loses ``insertion_loss_db`` on both internal arms;
        ``response_time`` [s] (when the profile has one) is kept for
        :meth:`time_per_inference`.
        """
        n = renamed(n_modes, n, new_name="n_modes", old_name="n", owner="EncodedMesh.from_profile")
        prof = resolve_profile(profile, kind="mzi_platform")
        loss_db, sigma = prof.insertion_loss_db, prof.coupler_imbalance_sigma
        mesh = cls(n, **kwargs)
        m, rdt = mesh.layout.n_mzi, real_of(mesh.dtype)
        loss = torch.full((m, 2), loss_db, dtype=torch.float64)
        coupler = None
        if error_generator is not None and sigma > 0:
            coupler = sigma * torch.randn(m, 2, generator=error_generator, dtype=torch.float64)
        # the values the mesh's real dtype stores, so that the value and the buffers agree
        mesh.imperfections = MeshImperfections(
            coupler_error=None if coupler is None else coupler.to(rdt),
            arm_loss_db=loss.to(rdt),
        )
        if prof.response_time is not None:
            mesh.response_time = prof.response_time
        mesh.profile_name = prof.name
        return mesh

    # ---- non-idealities --------------------------------------------------------------
    @property
    def imperfections(self) -> MeshImperfections:
        """The mesh's static errors, a frozen :class:`MeshImperfections`; assign a new
        value to change them (shapes are checked against ``n_mzi``; only
        ``coupler_error`` and ``arm_loss_db`` are modelled)."""
        return self._imperfections

    @imperfections.setter
    def imperfections(self, value: MeshImperfections) -> None:
        bufs = _static_buffers(value, self.layout, self.theta_bias, _MODELLED)
        unmodelled = [name for name, is_set in _NOT_MODELLED.items() if is_set(value)]
        if unmodelled:
            raise ValueError(
                f"EncodedMesh models only coupler_error and arm_loss_db, but the "
                f"imperfections set {', '.join(unmodelled)}; leave them at their defaults "
                f"(use MZIMesh for phase errors, crosstalk, a DAC or phase noise)"
            )
        self.coupler_error, self.arm_loss_db = bufs["coupler_error"], bufs["arm_loss_db"]
        self._imperfections = value

    def using(self, imperfections: MeshImperfections):
        """Evaluate the mesh under other imperfections inside the ``with`` block, then
        restore its own (also on error); ``mesh.using(MeshImperfections())`` is the ideal
        mesh."""
        return _using(self, imperfections)

    def set_errors(self, *, coupler_error=None, arm_loss_db=None) -> None:
        """Deprecated: ``mesh.imperfections = mesh.imperfections.replace(coupler_error=...,
        arm_loss_db=...)`` (``None`` clears)."""
        warnings.warn(
            "EncodedMesh.set_errors(...) is deprecated: the imperfections are one frozen "
            "value; use mesh.imperfections = mesh.imperfections.replace(coupler_error=..., "
            "arm_loss_db=...)",
            DeprecationWarning,
            stacklevel=2,
        )
        self.imperfections = self._imperfections.replace(
            coupler_error=coupler_error, arm_loss_db=arm_loss_db
        )

    # ---- sizes and timing ------------------------------------------------------------
    @property
    def n_mzi(self) -> int:
        return self.layout.n_mzi

    @property
    def effective_size(self) -> int:
        """``K P``: phases written with data per inference (the padding of a split included)."""
        return self.slots * self.phases_per_slot

    @property
    def physical_phase_shifters(self) -> int:
        """Tunable phase shifters on the chip: ``2 n_mzi`` (+ ``N`` output screen if coherent)."""
        return 2 * self.n_mzi + (self.n_modes if self.integrate == "coherent" else 0)

    @property
    def electronic_parameters(self) -> int:
        """Parameters of the electronic readout (the affine map; 0 for the intensity readout)."""
        if self.readout_weight is None:
            return 0
        return self.readout_weight.numel() + self.readout_bias.numel()

    def size_report(self) -> dict:
        """Effective against physical size, as a JSON-able dict."""
        optical = sum(p.numel() for p in self.parameters()) - self.electronic_parameters
        return {
            "modes": self.n_modes,
            "mzis": self.n_mzi,
            "phase_shifters": self.physical_phase_shifters,
            "encodable_per_slot": self.encodable,
            "slots": self.slots,
            "encoded_per_slot": self.phases_per_slot,
            "effective_size": self.effective_size,
            "in_features": self.in_features,
            "effective_over_physical": self.effective_size / (2 * self.n_mzi),
            "optical_parameters": optical,
            "electronic_parameters": self.electronic_parameters,
        }

    def time_per_inference(
        self, response_time: float | None = None, *, slot_time: float = 0.0
    ) -> float:
        """Seconds per inference: ``K (response_time + slot_time)``.

        Args:
            response_time: the phase shifters' update (settling) time [s]; default
                the profile's (``from_profile``).
            slot_time: optical transit and detector integration per slot [s]
                (picoseconds to nanoseconds on chip; default 0).

        One sample needs all ``K`` slots on the one mesh, one after the other, and
        every slot re-sets the shifters, so the mesh finishes ``1 / t`` inferences
        per second.
        """
        if response_time is None:
            response_time = self.response_time
        if response_time is None:
            raise ValueError(
                "no response time: pass response_time= [s] or build the mesh with "
                "EncodedMesh.from_profile(...) from a profile with response_time_us"
            )
        tau = non_negative_float(response_time, "response_time", "s")
        slot = non_negative_float(slot_time, "slot_time", "s")
        return self.slots * (tau + slot)

    # ---- evaluation ------------------------------------------------------------------
    def phases(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(theta, phi)`` of every slot [rad], each real ``(B, K, n_mzi)``."""
        x = feature_batch(x, self.in_features, real_of(self.dtype), "phases")
        m = self.n_mzi
        xpad = torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)
        values = self.gain * xpad[:, self.input_index]  # (B, K, P)
        bias = torch.cat([self.theta_bias, self.phi_bias], dim=-1)  # (K, 2m)
        shifters = bias.expand(x.shape[0], -1, -1).index_add(-1, self.encoded_index, values)
        return shifters[..., :m], shifters[..., m:]

    def input_field(self) -> torch.Tensor:
        """The input field ``s``, complex ``(N,)``."""
        return torch.view_as_complex(self.source).to(self.dtype)

    def fields(self, x: torch.Tensor) -> torch.Tensor:
        """The output field of every slot, ``y_k = U(theta_k, phi_k) s``, complex ``(B, K, N)``
        (with the coherent output screens ``D_k`` applied)."""
        theta, phi = self.phases(x)
        # x was checked by phases(); the mesh's own tensors are right by construction
        return _mesh_batched(
            self.input_field(),
            theta,
            phi,
            self.output_phase,
            self.layout,
            self.coupler_error,
            self.arm_loss_db,
        )

    def intensity(self, x: torch.Tensor) -> torch.Tensor:
        """The integrated intensity at every output mode, real ``(B, N)``:
        ``mean_k |y_k|^2`` (incoherent) or ``|sum_k y_k|^2 / K`` (coherent)."""
        y = self.fields(x)
        if self.integrate == "incoherent":
            return (y.real.square() + y.imag.square()).mean(dim=1)
        z = y.sum(dim=1)
        return (z.real.square() + z.imag.square()) / self.slots

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intensity = self.intensity(x)
        if not self._all_outputs:
            intensity = intensity.index_select(-1, self.output_index)
        if self.readout == "affine":
            return nn.functional.linear(intensity, self.readout_weight, self.readout_bias)
        return intensity

    def extra_repr(self) -> str:
        return (
            f"n_modes={self.n_modes}, layout={self.layout.name!r}, in_features={self.in_features}, "
            f"slots={self.slots}, encode={self.encode!r}, assign={self.assign!r}, "
            f"phases_per_slot={self.phases_per_slot}, integrate={self.integrate!r}, "
            f"readout={self.readout!r}, dtype={self.dtype}"
        )


forward_keywords(EncodedMesh.from_profile, EncodedMesh, supplied=("imperfections",))

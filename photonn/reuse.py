"""Time-multiplexed reuse of physical layers: ReLaX-Net (Tsuchiyama et al., arXiv 2511.00044).

Physical networks have few trainable elements and those are slow to change
(thermo-optic phase shifters: microseconds; liquid-crystal SLMs: milliseconds),
while their switches are fast (nanoseconds). :class:`ReLaX` reuses a small bank
of ``L_W`` layers in a switched schedule of effective depth ``T = L_W * L_T``:
pass ``t`` sends the state through bank layer ``s(t)``. The slow weights are
shared by every pass that uses them (their gradient is the sum over those
passes: backpropagation through time); cheap *fast* elements (a bias, a gain,
the parameter of a nonlinearity) may differ per pass.

One pass ``t`` (``k = s(t)``; every step but the first is optional, off by default)::

    z = bank[k](h)                         # the slow, shared layer
    z = a * z + noise_t                    # switch: insertion loss a = 10^(-dB/20), crosstalk
    z = z + W_xh x     (or W_xh x[t])      # re-injection of the input
    z = gain_t * z + bias_t                # fast elements (per pass, per bank layer, or shared)
    z = f_t(z)                             # nonlinearity (its parameters: fast elements)
    h = alpha * h + z                      # leak

so with the defaults ``ReLaX(bank, repeats)(x)`` is exactly
``bank[s(T-1)](... bank[s(1)](bank[s(0)](x)))`` with ``s(t) = t mod L_W``.

Also here: :class:`OpticalNonlinearity` (a device response from
:mod:`photonn.activations` between passes of an optical bank),
:func:`switch_options` (switch loss and crosstalk of a device profile) and the
latency model :func:`relax_latency`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from ._checks import (
    COMPLEX_DTYPES,
    REAL_DTYPES,
    check_device,
    finite_float,
    one_of,
    positive_int,
    real_of,
)
from .activations.registry import get_activation
from .devices import resolve_profile

__all__ = [
    "ReLaX",
    "ParameterCount",
    "OpticalNonlinearity",
    "relax_schedule",
    "switch_options",
    "Latency",
    "relax_latency",
]

SHARE = ("pass", "layer", "all")


# -- schedules --------------------------------------------------------------------------
def relax_schedule(num_layers: int, repeats: int, schedule=None) -> tuple[int, ...]:
    """The bank index ``s(t)`` of every pass ``t = 0 .. T-1``.

    Args:
        num_layers: ``L_W``, the bank size.
        repeats: ``L_T``.
        schedule: ``None`` or ``"periodic"`` (``s(t) = t mod L_W``, ``T = L_W L_T``),
            ``"block"`` (each layer held for ``L_T`` passes, ``s(t) = t // L_T``), or a
            sequence of bank indices: one period, repeated ``repeats`` times
            (``T = len(schedule) * L_T``).

    Raises ``ValueError`` for an index outside ``0 .. L_W - 1`` or an empty sequence.
    """
    n = positive_int(num_layers, "num_layers")
    r = positive_int(repeats, "repeats")
    if schedule is None or (isinstance(schedule, str) and schedule == "periodic"):
        return tuple(t % n for t in range(n * r))
    if isinstance(schedule, str):
        if schedule == "block":
            return tuple(t // r for t in range(n * r))
        raise ValueError(
            f"schedule must be 'periodic', 'block' or a sequence of bank indices, got {schedule!r}"
        )
    if isinstance(schedule, torch.Tensor):
        schedule = schedule.reshape(-1).tolist()
    if not isinstance(schedule, Sequence) or len(schedule) == 0:
        raise ValueError(
            "schedule must be 'periodic', 'block' or a non-empty sequence of bank indices, "
            f"got {schedule!r}"
        )
    period = []
    for i, k in enumerate(schedule):
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"schedule[{i}] must be an int bank index, got {k!r}")
        if not 0 <= k < n:
            raise ValueError(
                f"schedule[{i}] = {k} is outside the bank of {n} layer(s): bank indices run "
                f"from 0 to {n - 1}"
            )
        period.append(k)
    return tuple(period) * r


# -- shapes of known layers -------------------------------------------------------------
def _io_shape(layer: nn.Module):
    """``(in_shape, out_shape)`` of the trailing feature axes, or ``None`` when unknown."""
    if isinstance(layer, nn.Linear):
        return (layer.in_features,), (layer.out_features,)
    if isinstance(layer, nn.Sequential):
        shapes = [_io_shape(m) for m in layer]
        known = [s for s in shapes if s is not None]
        if not known:
            return None
        if len(known) != len(shapes):
            return None
        return known[0][0], known[-1][1]
    if hasattr(layer, "in_features") and hasattr(layer, "out_features"):
        try:
            return (int(layer.in_features),), (int(layer.out_features),)
        except (TypeError, ValueError):
            return None
    n = getattr(layer, "n", None)
    if isinstance(n, int) and hasattr(layer, "layout"):  # MZIMesh
        return (n,), (n,)
    grid = getattr(layer, "grid", None)
    shape = getattr(grid, "shape", None)
    if isinstance(shape, tuple) and getattr(layer, "output_grid", grid) is grid:
        return tuple(shape), tuple(shape)
    return None


def _linear_form(layer: nn.Module):
    """``(matrix, bias)`` of a layer that is one matrix (nn.Linear; MZIMesh/SVDLinear
    via ``matrix()``), computed now; ``None`` for any other layer."""
    if isinstance(layer, nn.Linear):
        return layer.weight, layer.bias
    matrix = getattr(layer, "matrix", None)
    if callable(matrix):
        return matrix(), None
    return None


def _num_real(params) -> int:
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in params)


def _unique(params):
    seen, out = set(), []
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def _generator_holders(module: nn.Module):
    for name, m in module.named_modules():
        for attr, value in vars(m).items():
            if isinstance(value, torch.Generator):
                yield f"{name or type(module).__name__}.{attr}"


@dataclass(frozen=True)
class ParameterCount:
    """Trainable real numbers of a :class:`ReLaX` (a complex entry counts 2).

    Attributes:
        bank: the shared slow layers (the physical weights).
        per_pass: the fast elements (per-pass biases, gains, nonlinearity parameters).
        inject: the input re-injection ``W_xh``.
        total: all three.
    """

    bank: int
    per_pass: int
    inject: int

    @property
    def total(self) -> int:
        return self.bank + self.per_pass + self.inject


class ReLaX(nn.Module):
    """A bank of ``L_W`` layers applied in a switched schedule of effective depth ``T``.

    Args:
        bank: a non-empty sequence of ``nn.Module`` layers (any photonn element, e.g.
            :class:`~photonn.onchip.MZIMesh`, :class:`~photonn.onchip.SVDLinear`, a
            phase mask followed by a propagator, or an ``nn.Linear``), or an
            ``nn.ModuleList``.
        repeats: ``L_T >= 1``, how often the schedule's period is run.
        schedule: ``None``/``"periodic"``, ``"block"`` or a period of bank indices; see
            :func:`relax_schedule`.
        activation: the nonlinearity ``f`` after each pass: ``None`` (none, the
            default), a name of :func:`photonn.activations.get_activation`, a module
            (e.g. :class:`OpticalNonlinearity` around a device response) or a tensor
            function.
        bias: a fast bias per pass (``dtype``, shape ``fast_shape``), initialised to 0.
        gain: a fast gain per pass: ``False``, ``True`` or ``"vector"`` (shape
            ``fast_shape``) or ``"scalar"``; real, initialised to 1.
        share: which passes share the fast elements (bias, gain and the parameters of
            ``activation``): ``"pass"`` (one set per pass, the default), ``"layer"``
            (one per bank layer, ``k = s(t)``) or ``"all"`` (one set for every pass).
        fast_shape: shape of the bias and of a vector gain (default: the output
            features of the bank layers, when they are known and agree).
        inject: a module ``W_xh`` (e.g. ``nn.Linear(d_in, width)``): ``W_xh x`` is added
            at every pass and the state starts from ``h0`` (default zeros). With
            ``forward(x, sequence=True)`` pass ``t`` adds ``W_xh x[t]``.
        leak: ``alpha``; the state update is ``h = alpha h + z`` (0: off).
        switch_loss_db: insertion loss of the switch per pass [dB] (power), >= 0.
        pass_noise: per-pass additive noise, relative rms amplitude: ``noise_t`` has
            ``pass_noise`` times the rms of ``z`` (over the feature axes, per sample);
            complex Gaussian for complex states. Needs ``noise_generator``.
        noise_generator: ``torch.Generator`` for ``pass_noise`` (one draw per forward
            seeds every pass, so checkpointed recomputation sees the same noise).
        fold: apply linear bank layers as their matrix, computed once per forward
            (``nn.Linear``: its weight; MZI meshes and SVD layers: ``matrix()``) instead
            of calling the layer at every pass. Same function; far cheaper for meshes.
            A mesh's phase noise is then drawn once per forward, as for slow heaters.
        checkpoint: recompute the passes in backward instead of storing their
            intermediates (``True``: every pass; an int: passes per segment).
        record: keep per-pass gradient norms for :meth:`grad_norms` (a diagnostic of
            exploding or vanishing gradients; not with ``checkpoint``).
        dtype: dtype of the state and of the bias (float32 default; complex64 or
            complex128 for optical states, whose gains are the matching real dtype).
        device: where to build the fast elements.

    Shapes: ``forward(x)``: the state ``(..., *features)`` through the bank
    (with ``inject``: ``x`` is the input of ``W_xh``, with ``sequence=True`` a
    leading axis of length ``T``). ``return_all=True`` stacks every pass's state
    on a new leading axis ``(T, ...)``.

    Attributes:
        schedule: ``s(t)`` for every pass (a tuple of ``T`` ints).
        effective_depth: ``T``.
        num_parameters: a :class:`ParameterCount` (bank and per-pass apart).
    """

    def __init__(
        self,
        bank,
        repeats: int,
        schedule=None,
        *,
        activation=None,
        bias: bool = False,
        gain: bool | str = False,
        share: str = "pass",
        fast_shape=None,
        inject: nn.Module | None = None,
        leak: float = 0.0,
        switch_loss_db: float = 0.0,
        pass_noise: float = 0.0,
        noise_generator: torch.Generator | None = None,
        fold: bool = False,
        checkpoint: bool | int = False,
        record: bool = False,
        dtype=torch.float32,
        device=None,
    ):
        super().__init__()
        if isinstance(bank, nn.Module) and not isinstance(bank, (nn.ModuleList, nn.Sequential)):
            raise TypeError(
                "bank must be a sequence of layers (e.g. [nn.Linear(64, 64)] or an "
                f"nn.ModuleList), got a single {type(bank).__name__}: wrap it in a list"
            )
        if isinstance(bank, (str, bytes)) or not hasattr(bank, "__len__"):
            raise TypeError(f"bank must be a sequence of nn.Module layers, got {bank!r}")
        layers = list(bank)
        if not layers:
            raise ValueError(
                "bank is empty: give at least one layer (e.g. [nn.Linear(64, 64)] or [MZIMesh(8)])"
            )
        for i, m in enumerate(layers):
            if not isinstance(m, nn.Module):
                raise TypeError(f"bank[{i}] must be an nn.Module, got {type(m).__name__}")
        if dtype not in REAL_DTYPES + COMPLEX_DTYPES:
            raise TypeError(f"dtype must be float32, float64, complex64 or complex128, got {dtype}")
        check_device(device)
        self.dtype = dtype
        self.bank = nn.ModuleList(layers)
        self.repeats = positive_int(repeats, "repeats")
        self.schedule = relax_schedule(len(layers), self.repeats, schedule)
        self.schedule_kind = (
            schedule if isinstance(schedule, str) or schedule is None else "sequence"
        ) or "periodic"
        self.share = one_of(share, SHARE, "share")
        self.leak = finite_float(leak, "leak")
        loss = finite_float(switch_loss_db, "switch_loss_db")
        if loss < 0:
            raise ValueError(f"switch_loss_db must be >= 0 dB (a passive switch), got {loss}")
        self.switch_loss_db = loss
        noise = finite_float(pass_noise, "pass_noise")
        if noise < 0:
            raise ValueError(f"pass_noise must be >= 0 (a relative rms amplitude), got {noise}")
        if noise > 0 and not isinstance(noise_generator, torch.Generator):
            raise TypeError(
                "pass_noise > 0 draws random noise: pass noise_generator=torch.Generator() "
                "(explicit randomness)"
            )
        self.pass_noise, self.noise_generator = noise, noise_generator
        self.fold = bool(fold)
        if isinstance(checkpoint, bool):
            self.checkpoint_every = 1 if checkpoint else 0
        else:
            self.checkpoint_every = positive_int(checkpoint, "checkpoint")
        self.record = bool(record)
        if self.record and self.checkpoint_every:
            raise ValueError(
                "record=True (per-pass gradient norms) needs the plain graph: build the "
                "diagnostic ReLaX with checkpoint=False"
            )
        if self.checkpoint_every and not self.fold:
            holders = [h for m in layers for h in _generator_holders(m)]
            if holders:
                raise ValueError(
                    f"checkpoint=True recomputes every pass, but bank layers draw their own "
                    f"random numbers ({', '.join(holders)}): the recomputed pass would see "
                    "other noise. Use fold=True (the matrices are drawn once per forward, "
                    "outside the recomputation) or switch their noise off"
                )
        self._check_shapes()
        self.inject = inject
        if inject is not None and not isinstance(inject, nn.Module):
            raise TypeError(f"inject must be an nn.Module (W_xh), got {type(inject).__name__}")

        # fast elements
        n_sets = {"pass": len(self.schedule), "layer": len(layers), "all": 1}[self.share]
        gain = "vector" if gain is True else gain
        if gain not in (False, "vector", "scalar"):
            raise ValueError(f"gain must be False, True, 'vector' or 'scalar', got {gain!r}")
        shape = None
        if bias or gain == "vector":
            shape = self._fast_shape(fast_shape)
        rdt = real_of(dtype)
        self.bias = (
            nn.Parameter(torch.zeros(n_sets, *shape, dtype=dtype, device=device)) if bias else None
        )
        if gain:
            gshape = shape if gain == "vector" else ()
            self.gain = nn.Parameter(torch.ones(n_sets, *gshape, dtype=rdt, device=device))
        else:
            self.gain = None
        self.activations = None
        if activation is not None:
            act = get_activation(activation)
            has_params = any(True for _ in act.parameters())
            copies = n_sets if has_params and self.share != "all" else 1
            self.activations = nn.ModuleList(
                [act] + [copy.deepcopy(act) for _ in range(copies - 1)]
            )
        self._records: list[dict] = []

    # -- construction helpers -----------------------------------------------------------
    def _check_shapes(self) -> None:
        shapes = [_io_shape(m) for m in self.bank]
        for t in range(len(self.schedule) - 1):
            a, b = self.schedule[t], self.schedule[t + 1]
            if shapes[a] is None or shapes[b] is None:
                continue
            if shapes[a][1] != shapes[b][0]:
                raise ValueError(
                    f"bank layer {a} ({type(self.bank[a]).__name__}) outputs features "
                    f"{shapes[a][1]}, but pass {t + 1} feeds them to bank layer {b} "
                    f"({type(self.bank[b]).__name__}), which takes {shapes[b][0]}: every layer "
                    "the schedule chains must take what the one before gives (for repeats > 1, "
                    "width -> width)"
                )
        self._shapes = shapes

    def _fast_shape(self, fast_shape):
        if fast_shape is not None:
            if isinstance(fast_shape, int):
                fast_shape = (fast_shape,)
            return tuple(positive_int(int(s), "fast_shape[i]") for s in fast_shape)
        outs = {s[1] for s in self._shapes if s is not None}
        if len(outs) != 1 or any(s is None for s in self._shapes):
            raise ValueError(
                "bias and vector gains need fast_shape=(features...) here: the output shape "
                f"of the bank layers is unknown or differs between them ({sorted(outs)})"
            )
        return outs.pop()

    # -- properties ---------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """``L_W``, the bank size."""
        return len(self.bank)

    @property
    def effective_depth(self) -> int:
        """``T``, the number of passes (``L_W * L_T`` for the periodic schedule)."""
        return len(self.schedule)

    @property
    def num_parameters(self) -> ParameterCount:
        bank = _unique(p for p in self.bank.parameters() if p.requires_grad)
        fast = [p for p in (self.bias, self.gain) if p is not None]
        if self.activations is not None:
            fast += [p for p in self.activations.parameters() if p.requires_grad]
        fast = [p for p in _unique(fast) if all(p is not q for q in bank)]
        inj = (
            [] if self.inject is None else [p for p in self.inject.parameters() if p.requires_grad]
        )
        inj = [p for p in _unique(inj) if all(p is not q for q in bank + fast)]
        return ParameterCount(_num_real(bank), _num_real(fast), _num_real(inj))

    def _set(self, t: int) -> int:
        if self.share == "pass":
            return t
        return self.schedule[t] if self.share == "layer" else 0

    # -- the forward pass -------------------------------------------------------------------
    def prepare(self):
        """The bank's matrices for ``fold`` (``[(matrix, bias) or None]``), else ``None``.

        Call it once per forward when you drive the passes yourself with :meth:`step`.
        """
        if not self.fold:
            return None
        return [_linear_form(m) for m in self.bank]

    def _watch(self, tensor: torch.Tensor, record: dict, t: int) -> torch.Tensor:
        v = tensor.view_as(tensor)
        if v.requires_grad:

            def hook(g, t=t):
                sq = (g.abs() ** 2).sum().detach()
                record["weight"][t] = record["weight"].get(t, 0) + sq

            v.register_hook(hook)
        return v

    def _layer(self, t: int, h: torch.Tensor, folded, record) -> torch.Tensor:
        k = self.schedule[t]
        layer = self.bank[k]
        form = None if folded is None else folded[k]
        if form is not None:
            M, b = form
            if M.dtype != h.dtype:
                raise TypeError(
                    f"pass {t}: the state is {h.dtype} but bank layer {k} is {M.dtype}; build "
                    f"the ReLaX and its bank with one dtype"
                )
            if record is not None:
                M = self._watch(M, record, t)
                b = None if b is None else self._watch(b, record, t)
            out = h @ M.transpose(-1, -2)
            return out if b is None else out + b
        if record is not None:
            params = {n: self._watch(p, record, t) for n, p in layer.named_parameters()}
            return functional_call(layer, params, (h,))
        return layer(h)

    def step(self, t: int, h: torch.Tensor, u=None, *, folded=None, seed=None, record=None):
        """One pass ``t`` (bank layer ``s(t)``) on the state ``h``, with the injected
        input ``u`` (or ``None``); ``folded`` from :meth:`prepare`, ``seed`` of the
        per-pass noise (drawn by ``forward``)."""
        try:
            z = self._layer(t, h, folded, record)
        except (RuntimeError, ValueError, TypeError) as exc:
            k = self.schedule[t]
            raise type(exc)(
                f"ReLaX pass {t} (bank layer {k}, {type(self.bank[k]).__name__}) on a state of "
                f"shape {tuple(h.shape)} {h.dtype}: {exc}"
            ) from exc
        if self.switch_loss_db:
            z = z * 10.0 ** (-self.switch_loss_db / 20.0)
        if self.pass_noise:
            z = z + self._noise(z, t, seed)
        if u is not None:
            z = z + u
        j = self._set(t)
        if self.gain is not None:
            z = z * self.gain[j]
        if self.bias is not None:
            z = z + self.bias[j]
        if self.activations is not None:
            z = self.activations[j if len(self.activations) > 1 else 0](z)
        if self.leak:
            if z.shape != h.shape:
                raise ValueError(
                    f"leak needs the state to keep its shape, but pass {t} maps "
                    f"{tuple(h.shape)} to {tuple(z.shape)}"
                )
            z = self.leak * h + z
        return z

    def _noise(self, z: torch.Tensor, t: int, seed) -> torch.Tensor:
        if seed is None:
            seed = self._draw_seed()
        g = torch.Generator(device=z.device).manual_seed(int(seed) + 1_000_003 * t)
        n_feat = max(1, len(self._fast_dims(z)))
        dims = tuple(range(z.ndim - n_feat, z.ndim))
        rms = (z.detach().abs() ** 2).mean(dim=dims, keepdim=True).sqrt()
        if z.is_complex():
            w = torch.randn(
                z.shape, generator=g, dtype=real_of(z.dtype), device=z.device
            ) + 1j * torch.randn(z.shape, generator=g, dtype=real_of(z.dtype), device=z.device)
            w = w.to(z.dtype) / math.sqrt(2.0)
        else:
            w = torch.randn(z.shape, generator=g, dtype=z.dtype, device=z.device)
        return self.pass_noise * rms * w

    def _fast_dims(self, z):
        k = self._shapes[0]
        return k[1] if k is not None else (z.shape[-1],)

    def _draw_seed(self) -> int:
        g = self.noise_generator
        return int(torch.randint(0, 2**31 - 1, (1,), generator=g, device=g.device))

    def forward(
        self,
        x: torch.Tensor,
        h0: torch.Tensor | None = None,
        *,
        sequence: bool = False,
        return_all: bool = False,
        folded=None,
    ):
        """Run the ``T`` passes.

        Args:
            x: the initial state, or with ``inject`` the input of ``W_xh``
                (``sequence=True``: ``(T, ...)``, one input per pass).
            h0: the initial state with ``inject`` (default zeros).
            sequence: inject ``W_xh x[t]`` at pass ``t``.
            return_all: return every pass's state, stacked ``(T, ...)``.
            folded: the bank's matrices from :meth:`prepare` (to reuse them over
                several calls, e.g. one call per character); default: computed here.
        """
        u_all = None
        if self.inject is not None:
            u_all = self.inject(x)
            if sequence and (u_all.ndim == 0 or u_all.shape[0] != self.effective_depth):
                raise ValueError(
                    f"sequence=True needs x with a leading axis of length T = "
                    f"{self.effective_depth} (one input per pass), got shape {tuple(x.shape)}"
                )
            first = u_all[0] if sequence else u_all
            h = torch.zeros_like(first) if h0 is None else h0
        else:
            if sequence:
                raise ValueError("sequence=True feeds one input per pass: it needs inject=W_xh")
            if h0 is not None:
                raise ValueError("h0 is the initial state with inject; without it, x is the state")
            h = x
        if folded is None:
            folded = self.prepare()
        seed = self._draw_seed() if self.pass_noise else None
        record = None
        if self.record and torch.is_grad_enabled():
            record = {"state": {}, "weight": {}}
            self._records.append(record)
        states = []
        T = self.effective_depth
        t = 0
        while t < T:
            stop = min(T, t + self.checkpoint_every) if self.checkpoint_every else t + 1
            if self.checkpoint_every and torch.is_grad_enabled():
                h = self._recomputed(t, stop, h, u_all, sequence, folded, seed)
            else:
                h = self._segment(t, stop, h, u_all, sequence, folded, seed, record)
            if record is not None and h.requires_grad:

                def hook(g, t=stop - 1):
                    record["state"][t] = (g.abs() ** 2).sum().detach().sqrt()

                h.register_hook(hook)
            if return_all:
                states.append(h)
            t = stop
        return torch.stack(states) if return_all else h

    def _recomputed(self, start, stop, h, u_all, sequence, folded, seed):
        """Passes ``start .. stop - 1`` without keeping their intermediates: backward runs
        them again (activation checkpointing). The folded matrices, the injected inputs
        and the parameters are inputs of the recomputation, so their gradients flow."""
        flat = (
            [] if folded is None else [t for form in folded if form for t in form if t is not None]
        )
        params = [p for p in self.parameters() if p.requires_grad]
        n_h, n_u, n_f = 1, 0 if u_all is None else 1, len(flat)

        def run(h_, u_, *fl):
            it = iter(fl)
            fold_ = None
            if folded is not None:
                fold_ = [
                    None if form is None else tuple(None if t is None else next(it) for t in form)
                    for form in folded
                ]
            return self._segment(start, stop, h_, u_, sequence, fold_, seed)

        inputs = [h] + ([u_all] if n_u else []) + flat
        return _Recompute.apply(run, n_h + n_u + n_f, n_u, *inputs, *params)

    def _segment(self, start, stop, h, u_all, sequence, folded, seed, record=None):
        for t in range(start, stop):
            u = None if u_all is None else (u_all[t] if sequence else u_all)
            h = self.step(t, h, u, folded=folded, seed=seed, record=record)
        return h

    # -- diagnostics ------------------------------------------------------------------------
    def grad_norms(self) -> dict[str, torch.Tensor]:
        """Per-pass gradient norms of the recorded forwards (``record=True``), after backward.

        Returns ``{"state": (calls, T), "weight": (calls, T)}`` float64 tensors:
        ``state[c, t]`` is ``||dL/dh_t||`` (the state after pass ``t``), ``weight[c, t]``
        the norm of pass ``t``'s share of the gradient of the bank layer it used (of its
        parameters, or with ``fold`` of its matrix). Summed over the passes that use a
        layer, the shares are that layer's gradient. NaN where nothing flowed.
        """
        T = self.effective_depth
        out = {}
        for key in ("state", "weight"):
            rows = []
            for rec in self._records:
                row = torch.full((T,), float("nan"), dtype=torch.float64)
                for t, v in rec[key].items():
                    v = float(v)
                    row[t] = v if key == "state" else math.sqrt(v)
                rows.append(row)
            out[key] = torch.stack(rows) if rows else torch.empty(0, T, dtype=torch.float64)
        return out

    def clear_records(self) -> None:
        """Forget the recorded gradient norms."""
        self._records.clear()

    def extra_repr(self) -> str:
        n = self.num_parameters
        return (
            f"L_W={self.num_layers}, L_T={self.repeats}, schedule={self.schedule_kind!r}, "
            f"effective_depth={self.effective_depth}, bank_parameters={n.bank}, "
            f"per_pass_parameters={n.per_pass}, share={self.share!r}, leak={self.leak}, "
            f"switch_loss_db={self.switch_loss_db}, pass_noise={self.pass_noise}, fold={self.fold}"
        )


class _Recompute(torch.autograd.Function):
    """``run(*inputs)`` without saving its graph; backward recomputes it (the
    checkpointing of :class:`ReLaX`, free of ``torch.utils.checkpoint``'s first-call
    import of ``torch._dynamo``). ``inputs`` are the first ``n_inputs`` tensors, the
    rest are the parameters ``run`` uses (their gradients are returned too)."""

    @staticmethod
    def forward(ctx, run, n_inputs, has_u, *tensors):
        ctx.run, ctx.n_inputs, ctx.has_u = run, n_inputs, has_u
        ctx.save_for_backward(*tensors[:n_inputs])
        ctx.params = tensors[n_inputs:]
        with torch.no_grad():
            return run(tensors[0], tensors[1] if has_u else None, *tensors[1 + has_u : n_inputs])

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        inputs = [t.detach().requires_grad_(t.requires_grad) for t in saved]
        h, rest = inputs[0], inputs[1:]
        u = rest[0] if ctx.has_u else None
        wrt = [t for t in (*inputs, *ctx.params) if t.requires_grad]
        # the vector-Jacobian product through a real surrogate, d Re<grad, out> = grad
        # (autograd.grad with grad_outputs imports sympy on its first call)
        with torch.enable_grad():
            out = ctx.run(h, u, *rest[ctx.has_u :])
            surrogate = (grad.conj() * out).real.sum() if out.is_complex() else (grad * out).sum()
        if not wrt or not surrogate.requires_grad:
            return (None, None, None, *([None] * (len(inputs) + len(ctx.params))))
        grads = iter(torch.autograd.grad(surrogate, wrt, allow_unused=True))
        full = [next(grads) if t.requires_grad else None for t in (*inputs, *ctx.params)]
        return (None, None, None, *full)


# -- device nonlinearities between passes -----------------------------------------------------
class OpticalNonlinearity(nn.Module):
    """A device response acting on an optical state (complex ``(..., n)``) between passes.

    Modes (``P = |z|^2`` the power of each mode, in the simulation's units):

    * ``"oeo"`` (opto-electronic, e.g. an electro-optic modulator,
      :class:`~photonn.activations.EOModulator`): a photodiode and amplifier give the
      drive ``v = gain P + bias`` (responsivity and transimpedance in ``gain``, the
      modulator bias voltage in ``bias``), the modulator transmits ``T(v)`` of a fresh
      carrier of amplitude ``amplitude``: ``out = amplitude sqrt(T(v))`` (real, >= 0;
      the phase is not kept).
    * ``"modulate"`` (electro-optic activation of Williamson et al., IEEE JSTQE 26,
      7700412 (2020)): a tap of the light is detected and drives a modulator that the
      rest of the light crosses, ``out = z sqrt(T(gain P + bias))``; the phase is kept
      and small fields pass with ``sqrt(T(bias))``.
    * ``"coherent"`` (all-optical, e.g. a
      :class:`~photonn.activations.SaturableAbsorber` mapping intensity to
      transmitted intensity): ``I = gain P``, ``out = z sqrt(response(I) / I)``;
      the phase is kept.
    * ``"abs"``: ``out = gain |z|`` (detect and re-emit the amplitude; no device curve).

    ``gain`` (stored as its logarithm, so it stays positive) and ``bias`` are the
    fast electronic settings; learnable with ``learnable=True`` (shapes ``()`` or
    ``(features,)``). In :class:`ReLaX` with ``share="pass"`` each pass gets its own.

    Args:
        response: a module or tensor function of real drive -> transmission (``"oeo"``)
            (``"oeo"``, ``"modulate"``) or intensity -> intensity (``"coherent"``), e.g.
            ``EOModulator(v_pi=1.0)``;
            ignored for ``"abs"``.
        mode: ``"oeo"``, ``"modulate"``, ``"coherent"`` or ``"abs"``.
        gain, bias: initial values.
        amplitude: carrier amplitude of ``"oeo"``.
        features: ``None`` (one gain and bias for every mode) or the mode count.
        learnable: make ``gain`` and ``bias`` parameters.
        dtype: complex dtype of the fields (complex64 default); the parameters are real.
    """

    def __init__(
        self,
        response=None,
        mode: str = "oeo",
        *,
        gain: float = 1.0,
        bias: float = 0.0,
        amplitude: float = 1.0,
        features: int | None = None,
        learnable: bool = True,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        if dtype not in COMPLEX_DTYPES:
            raise TypeError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
        check_device(device)
        self.dtype = dtype
        self.mode = one_of(mode, ("oeo", "modulate", "coherent", "abs"), "mode")
        if mode != "abs":
            if response is None:
                raise ValueError(f"mode={mode!r} needs a device response (e.g. EOModulator(1.0))")
            if not callable(response):
                raise TypeError(f"response must be a module or a function, got {response!r}")
        self.response = response if isinstance(response, nn.Module) or response is None else None
        self._fn: Callable | None = None if isinstance(response, nn.Module) else response
        g = finite_float(gain, "gain")
        if g <= 0:
            raise ValueError(f"gain must be > 0, got {g}")
        self.amplitude = finite_float(amplitude, "amplitude")
        shape = () if features is None else (positive_int(features, "features"),)
        rdt = real_of(dtype)
        lg = torch.full(shape, math.log(g), dtype=rdt, device=device)
        b = torch.full(shape, finite_float(bias, "bias"), dtype=rdt, device=device)
        if learnable:
            self.log_gain, self.bias = nn.Parameter(lg), nn.Parameter(b)
        else:
            self.register_buffer("log_gain", lg)
            self.register_buffer("bias", b)

    def _response(self, x):
        return self.response(x) if self.response is not None else self._fn(x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.dtype != self.dtype:
            raise TypeError(
                f"OpticalNonlinearity was built for {self.dtype} fields, got "
                f"{getattr(z, 'dtype', type(z).__name__)}"
            )
        gain = self.log_gain.exp()
        if self.mode == "abs":
            return (gain * z.abs()).to(self.dtype)
        p = z.real**2 + z.imag**2
        if self.mode == "modulate":
            t = self._response(gain * p + self.bias).clamp_min(0)
            return z * torch.sqrt(t + 1e-30).to(self.dtype)  # finite gradient where T = 0
        if self.mode == "oeo":
            t = self._response(gain * p + self.bias).clamp_min(0)
            return (self.amplitude * torch.sqrt(t + 1e-30)).to(self.dtype)
        i = gain * p
        ratio = self._response(i) / i.clamp_min(torch.finfo(i.dtype).tiny)
        return z * torch.sqrt(ratio.clamp_min(0)).to(self.dtype)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, amplitude={self.amplitude:g}"


# -- switches and latency from device profiles ---------------------------------------------
def switch_options(profile) -> dict:
    """``{"switch_loss_db": ..., "pass_noise": ...}`` for :class:`ReLaX` from a profile's
    ``sw_loss_db`` and ``sw_xtalk_db`` (an ``mzi_platform`` or
    ``slm`` profile: a ``DeviceProfile``, its name, a TOML path or a mapping).

    The crosstalk ``X`` [dB, <= 0] of the switch leaks that fraction of the power of
    the other paths into each pass; it is modelled as per-pass additive noise of
    relative power ``10^(X/10)`` (``pass_noise = 10^(X/20)``, rms amplitude).
    """
    prof = resolve_profile(profile)
    prof.require("sw_loss_db", "sw_xtalk_db")
    xt = float(prof["sw_xtalk_db"])
    return {
        "switch_loss_db": float(prof["sw_loss_db"]),
        "pass_noise": 10.0 ** (xt / 20.0),
    }


@dataclass(frozen=True)
class Latency:
    """Seconds per inference of ``depth`` passes (the issue's latency model).

    With ReLaX each pass costs ``t_mm + max(t_switch, t_state)``: the light crosses
    the bank layer (``t_mm``), then the switch reroutes it while the state is
    held/converted (``t_state``). Reprogramming one physical layer at every pass
    instead costs ``t_mm + max(t_update, t_state)``.
    """

    depth: int
    t_mm: float
    t_switch: float
    t_update: float
    t_state: float

    @property
    def relax(self) -> float:
        """[s] per inference with switched reuse."""
        return self.depth * (self.t_mm + max(self.t_switch, self.t_state))

    @property
    def reprogram(self) -> float:
        """[s] per inference with the weights rewritten at every pass."""
        return self.depth * (self.t_mm + max(self.t_update, self.t_state))

    @property
    def speedup(self) -> float:
        """``reprogram / relax``."""
        return self.reprogram / self.relax


def relax_latency(profile, depth: int, **times) -> Latency:
    """The :class:`Latency` of ``depth`` passes on the platform of a device profile.

    From the profile (SI): ``pass_time`` (``t_mm``), ``switch_time`` (``t_switch``),
    ``state_time`` (``t_state``) and the update time ``t_update``: an
    ``mzi_platform``'s ``response_time`` (heater settling), an ``slm``'s
    ``response_time`` when it has one, else one frame ``1 / frame_rate`` (a lower
    bound: the liquid crystal may settle more slowly). Keywords ``t_mm``,
    ``t_switch``, ``t_update``, ``t_state`` [s] override the profile.
    """
    prof = resolve_profile(profile)
    depth = positive_int(depth, "depth")
    unknown = set(times) - {"t_mm", "t_switch", "t_update", "t_state"}
    if unknown:
        raise TypeError(f"unknown times {sorted(unknown)}; use t_mm, t_switch, t_update, t_state")
    vals = {}
    for key, name in (
        ("t_mm", "pass_time"),
        ("t_switch", "switch_time"),
        ("t_state", "state_time"),
    ):
        vals[key] = times.get(key, prof.get(name))
    upd = times.get("t_update")
    if upd is None:
        upd = prof.get("response_time")
        if upd is None and prof.get("frame_rate"):
            upd = 1.0 / float(prof["frame_rate"])
    vals["t_update"] = upd
    missing = [k for k, v in vals.items() if v is None]
    if missing:
        raise ValueError(
            f"profile {prof.name!r} lacks the times {missing} (keys pass_time_ns, "
            "switch_time_ns, state_time_ns, response_time_us or frame_rate_hz); pass "
            "them as keywords [s]"
        )
    for k, v in vals.items():
        v = finite_float(v, k)
        if v < 0:
            raise ValueError(f"{k} must be >= 0 s, got {v}")
        vals[k] = v
    return Latency(depth, **vals)

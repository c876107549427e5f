"""The ReLaX engine: a bank of ``L_W`` layers applied in a switched schedule of effective
depth ``T`` (Tsuchiyama et al., arXiv 2511.00044).

One pass ``t`` (``k = s(t)``; every step but the first is optional, off by default)::

    z = bank[k](h)                         # the slow, shared layer
    z = a * z + noise_t                    # switch: insertion loss a = 10^(-dB/20), crosstalk
    z = z + W_xh x     (or W_xh x[t])      # re-injection of the input
    z = gain_t * z + bias_t                # fast elements (per pass, per bank layer, or shared)
    z = f_t(z)                             # nonlinearity (its parameters: fast elements)
    h = alpha * h + z                      # leak

so with the defaults ``ReLaX(bank, l_t)(x)`` is exactly
``bank[s(T-1)](... bank[s(1)](bank[s(0)](x)))`` with ``s(t) = t mod L_W``.
"""

from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager

import torch
from torch import nn
from torch.func import functional_call

from .._checks import (
    COMPLEX_DTYPES,
    REAL_DTYPES,
    check_device,
    finite_float,
    one_of,
    positive_int,
    real_of,
)
from ..activations.registry import get_activation
from ._args import nonnegative, renamed
from .count import ParameterCount, count_real, unique
from .layers import generator_holders, io_shape, linear_form
from .recomputation import recompute as _recompute
from .records import GradientRecord
from .schedule import relax_schedule
from .switch import crosstalk_noise, draw_seed

__all__ = ["ReLaX", "SHARE"]

SHARE = ("pass", "layer", "all")
# the per-pass noise of pass t is seeded with seed + NOISE_STRIDE * t
NOISE_STRIDE = 1_000_003


class ReLaX(nn.Module):
    """A bank of ``L_W`` layers applied in a switched schedule of effective depth ``T``.

    Args:
        bank: a non-empty sequence of ``nn.Module`` layers (any photonn element, e.g.
            :class:`~photonn.onchip.MZIMesh`, :class:`~photonn.onchip.SVDLinear`, a
            phase mask followed by a propagator, or an ``nn.Linear``), or an
            ``nn.ModuleList``.
        l_t: ``L_T >= 1``, how often the schedule's period is run (``repeats=``:
            its deprecated name).
        schedule: ``None``/``"periodic"``, ``"block"`` or a period of bank indices; see
            :func:`~photonn.reuse.relax_schedule`.
        activation: the nonlinearity ``f`` after each pass: ``None`` (none, the
            default), a name of :func:`photonn.activations.get_activation`, a module
            (e.g. :class:`~photonn.activations.OpticalNonlinearity` around a device
            response) or a tensor function.
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
        noise_generator: ``torch.Generator`` for ``pass_noise`` (one draw per forward,
            :meth:`noise_seed`, seeds every pass, so a recomputed pass sees the same noise).
        fold: apply linear bank layers as their matrix, computed once per forward
            (``nn.Linear``: its weight; MZI meshes and SVD layers: ``matrix()``) instead
            of calling the layer at every pass. Same function; far cheaper for meshes.
            A mesh's phase noise is then drawn once per forward, as for slow heaters.
        recompute: recompute the passes in backward instead of storing their
            intermediates (:func:`~photonn.reuse.recomputation`; ``True``: every pass; an
            int: passes per segment). The last segment keeps its graph (backward needs
            it first, so recomputing it would only cost time), so ``recompute >= depth``
            stores everything.
        dtype: dtype of the state and of the bias (float32 default; complex64 or
            complex128 for optical states, whose gains are the matching real dtype).
        device: where to build the fast elements.
        checkpoint: deprecated name of ``recompute``.
        record: deprecated: record every forward's per-pass gradient norms for
            :meth:`grad_norms`; use ``with relax.recording() as rec:`` instead.

    Shapes: ``forward(x)``: the state ``(..., *features)`` through the bank
    (with ``inject``: ``x`` is the input of ``W_xh``, with ``sequence=True`` a
    leading axis of length ``T``). ``return_all=True`` stacks every pass's state
    on a new leading axis ``(T, ...)``.

    Attributes:
        schedule: ``s(t)`` for every pass (a tuple of ``T`` ints).
        effective_depth: ``T``.
        num_parameters: a :class:`~photonn.reuse.ParameterCount` (bank and per-pass apart).
    """

    def __init__(
        self,
        bank,
        l_t: int | None = None,
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
        recompute: bool | int = False,
        dtype=torch.float32,
        device=None,
        checkpoint: bool | int | None = None,
        record: bool | None = None,
        repeats: int | None = None,
    ):
        super().__init__()
        l_t = renamed(l_t, repeats, new_name="l_t", old_name="repeats", owner="ReLaX")
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
        self.l_t = positive_int(l_t, "l_t")
        self.schedule = relax_schedule(len(layers), self.l_t, schedule)
        self.schedule_kind = (
            schedule if isinstance(schedule, str) or schedule is None else "sequence"
        ) or "periodic"
        self.share = one_of(share, SHARE, "share")
        self.leak = finite_float(leak, "leak")
        self.switch_loss_db = nonnegative(switch_loss_db, "switch_loss_db", "dB (a passive switch)")
        noise = nonnegative(pass_noise, "pass_noise", "(a relative rms amplitude)")
        if noise > 0 and not isinstance(noise_generator, torch.Generator):
            raise TypeError(
                "pass_noise > 0 draws random noise: pass noise_generator=torch.Generator() "
                "(explicit randomness)"
            )
        self.pass_noise, self.noise_generator = noise, noise_generator
        self.fold = bool(fold)
        recompute = renamed(
            recompute, checkpoint, new_name="recompute", old_name="checkpoint", owner="ReLaX"
        )
        if isinstance(recompute, bool):
            self.recompute_every = 1 if recompute else 0
        else:
            self.recompute_every = positive_int(recompute, "recompute")
        if self.recompute_every and not self.fold:
            holders = [h for m in layers for h in generator_holders(m)]
            if holders:
                raise ValueError(
                    f"recompute=True recomputes every pass, but bank layers draw their own "
                    f"random numbers ({', '.join(holders)}): the recomputed pass would see "
                    "other noise. Use fold=True (the matrices are drawn once per forward, "
                    "outside the recomputation) or switch their noise off"
                )
        self._shapes = self._check_shapes()
        if inject is not None and not isinstance(inject, nn.Module):
            raise TypeError(f"inject must be an nn.Module (W_xh), got {type(inject).__name__}")
        self.inject = inject
        self._build_fast_elements(activation, bias, gain, fast_shape, device)
        # the GradientRecord of an open ``recording()`` block (None outside one)
        self._recorder: GradientRecord | None = None
        if record:
            warnings.warn(
                "ReLaX(record=True) is deprecated: use `with relax.recording() as rec:` and "
                "rec.grad_norms()",
                DeprecationWarning,
                stacklevel=2,
            )
            self._recorder = self._new_record()

    # -- construction helpers -----------------------------------------------------------
    def _check_shapes(self):
        shapes = [io_shape(m) for m in self.bank]
        for t in range(len(self.schedule) - 1):
            a, b = self.schedule[t], self.schedule[t + 1]
            if shapes[a] is None or shapes[b] is None:
                continue
            if shapes[a][1] != shapes[b][0]:
                raise ValueError(
                    f"bank layer {a} ({type(self.bank[a]).__name__}) outputs features "
                    f"{shapes[a][1]}, but pass {t + 1} feeds them to bank layer {b} "
                    f"({type(self.bank[b]).__name__}), which takes {shapes[b][0]}: every layer "
                    "the schedule chains must take what the one before gives (for l_t > 1, "
                    "width -> width)"
                )
        return shapes

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

    def _build_fast_elements(self, activation, bias, gain, fast_shape, device) -> None:
        n_sets = {"pass": len(self.schedule), "layer": len(self.bank), "all": 1}[self.share]
        gain = "vector" if gain is True else gain
        if gain not in (False, "vector", "scalar"):
            raise ValueError(f"gain must be False, True, 'vector' or 'scalar', got {gain!r}")
        shape = self._fast_shape(fast_shape) if bias or gain == "vector" else None
        self.bias = (
            nn.Parameter(torch.zeros(n_sets, *shape, dtype=self.dtype, device=device))
            if bias
            else None
        )
        self.gain = None
        if gain:
            gshape = shape if gain == "vector" else ()
            rdt = real_of(self.dtype)
            self.gain = nn.Parameter(torch.ones(n_sets, *gshape, dtype=rdt, device=device))
        self.activations = None
        if activation is not None:
            act = get_activation(activation)
            has_params = any(True for _ in act.parameters())
            copies = n_sets if has_params and self.share != "all" else 1
            self.activations = nn.ModuleList(
                [act] + [copy.deepcopy(act) for _ in range(copies - 1)]
            )

    # -- properties ---------------------------------------------------------------------
    @property
    def l_w(self) -> int:
        """``L_W``, the bank size."""
        return len(self.bank)

    @property
    def num_layers(self) -> int:
        """Deprecated: :attr:`l_w`."""
        warnings.warn("ReLaX.num_layers is deprecated: use l_w", DeprecationWarning, stacklevel=2)
        return self.l_w

    @property
    def repeats(self) -> int:
        """Deprecated: :attr:`l_t`."""
        warnings.warn("ReLaX.repeats is deprecated: use l_t", DeprecationWarning, stacklevel=2)
        return self.l_t

    @property
    def effective_depth(self) -> int:
        """``T``, the number of passes (``L_W * L_T`` for the periodic schedule)."""
        return len(self.schedule)

    @property
    def num_parameters(self) -> ParameterCount:
        bank = unique(p for p in self.bank.parameters() if p.requires_grad)
        fast = [p for p in (self.bias, self.gain) if p is not None]
        if self.activations is not None:
            fast += [p for p in self.activations.parameters() if p.requires_grad]
        fast = [p for p in unique(fast) if all(p is not q for q in bank)]
        inj = (
            [] if self.inject is None else [p for p in self.inject.parameters() if p.requires_grad]
        )
        inj = [p for p in unique(inj) if all(p is not q for q in bank + fast)]
        return ParameterCount(count_real(bank), count_real(fast), count_real(inj))

    def _set(self, t: int) -> int:
        if self.share == "pass":
            return t
        return self.schedule[t] if self.share == "layer" else 0

    # -- one pass ---------------------------------------------------------------------------
    def prepare(self):
        """The bank's matrices for ``fold`` (``[(matrix, bias) or None]``), else ``None``.

        Call it once per forward when you drive the passes yourself with :meth:`step`.
        """
        if not self.fold:
            return None
        return [linear_form(m) for m in self.bank]

    def noise_seed(self) -> int | None:
        """The seed of one forward's per-pass noise, drawn from ``noise_generator``;
        ``None`` without ``pass_noise``. Draw one per forward when you drive the passes
        yourself with :meth:`step`."""
        return draw_seed(self.noise_generator) if self.pass_noise else None

    def step(
        self,
        t: int,
        h: torch.Tensor,
        u: torch.Tensor | None = None,
        *,
        folded=None,
        seed: int | None = None,
    ) -> torch.Tensor:
        """Apply pass ``t`` (bank layer ``s(t)``, then the switch, the injected input, the
        fast elements, the nonlinearity and the leak) to the state ``h``.

        ``forward`` is this for ``t = 0 .. T-1``; a model that interleaves the passes
        with its own steps (e.g. one pass per character) calls it directly.

        Args:
            t: the pass, ``0 <= t < T`` (it selects the bank layer and the fast elements).
            h: the state ``(..., *features)``, of ``dtype``.
            u: the injected input ``W_xh x`` already projected (shape of the state), or
                ``None``.
            folded: the bank's matrices from :meth:`prepare` (with ``fold``; default: the
                layers are called).
            seed: the per-pass noise seed from :meth:`noise_seed` (with ``pass_noise``;
                default: a fresh draw).

        Returns the new state.
        """
        return self._pass(t, h, u, folded, seed, None)

    def _layer(self, t: int, h: torch.Tensor, folded, call) -> torch.Tensor:
        k = self.schedule[t]
        form = None if folded is None else folded[k]
        if form is None:
            layer = self.bank[k]
            if call is None:
                return layer(h)
            params = {
                n: GradientRecord.watch_weight(p, call, t) for n, p in layer.named_parameters()
            }
            return functional_call(layer, params, (h,))
        M, b = form
        if M.dtype != h.dtype:
            raise TypeError(
                f"pass {t}: the state is {h.dtype} but bank layer {k} is {M.dtype}; build "
                f"the ReLaX and its bank with one dtype"
            )
        if call is not None:
            M = GradientRecord.watch_weight(M, call, t)
            b = None if b is None else GradientRecord.watch_weight(b, call, t)
        out = h @ M.transpose(-1, -2)
        return out if b is None else out + b

    def _pass(self, t, h, u, folded, seed, call) -> torch.Tensor:
        try:
            z = self._layer(t, h, folded, call)
        except (RuntimeError, ValueError, TypeError) as exc:
            k = self.schedule[t]
            raise type(exc)(
                f"ReLaX pass {t} (bank layer {k}, {type(self.bank[k]).__name__}) on a state of "
                f"shape {tuple(h.shape)} {h.dtype}: {exc}"
            ) from exc
        if self.switch_loss_db:
            z = z * 10.0 ** (-self.switch_loss_db / 20.0)
        if self.pass_noise:
            seed = self.noise_seed() if seed is None else seed
            n_feat = len(self._shapes[0][1]) if self._shapes[0] is not None else 1
            z = z + crosstalk_noise(z, self.pass_noise, seed + NOISE_STRIDE * t, n_feat)
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

    # -- the T passes -------------------------------------------------------------------------
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
        seed = self.noise_seed()
        call = None
        if self._recorder is not None and torch.is_grad_enabled():
            call = self._recorder.new_call()
        states = []
        T = self.effective_depth
        t = 0
        while t < T:
            stop = min(T, t + self.recompute_every) if self.recompute_every else t + 1
            # backward needs the last segment first: it keeps its graph, as the D2NN's
            if self.recompute_every and stop < T and torch.is_grad_enabled():
                h = self._recomputed(t, stop, h, u_all, sequence, folded, seed)
            else:
                h = self._segment(t, stop, h, u_all, sequence, folded, seed, call)
            if call is not None:
                GradientRecord.watch_state(h, call, stop - 1)
            if return_all:
                states.append(h)
            t = stop
        return torch.stack(states) if return_all else h

    def _segment(self, start, stop, h, u_all, sequence, folded, seed, call=None):
        for t in range(start, stop):
            u = None if u_all is None else (u_all[t] if sequence else u_all)
            h = self._pass(t, h, u, folded, seed, call)
        return h

    def _recomputed(self, start, stop, h, u_all, sequence, folded, seed):
        """Passes ``start .. stop - 1`` without keeping their intermediates: backward runs
        them again. The folded matrices, the injected inputs and the parameters are
        inputs of the recomputation, so their gradients flow."""
        flat = (
            [] if folded is None else [t for form in folded if form for t in form if t is not None]
        )
        params = [p for p in self.parameters() if p.requires_grad]

        def run(h_, u_, *fl):
            it = iter(fl)
            fold_ = None
            if folded is not None:
                fold_ = [
                    None if form is None else tuple(None if t is None else next(it) for t in form)
                    for form in folded
                ]
            return self._segment(start, stop, h_, u_, sequence, fold_, seed)

        return _recompute(run, [h, u_all, *flat], params)

    # -- diagnostics ------------------------------------------------------------------------
    def _new_record(self) -> GradientRecord:
        if self.recompute_every:
            raise ValueError(
                "per-pass gradient norms (recording(), formerly record=True) need the plain "
                "graph: build the diagnostic ReLaX with recompute=False"
            )
        return GradientRecord(self.effective_depth)

    @contextmanager
    def recording(self):
        """Record the per-pass gradient norms of the forwards run inside the block.

        ::

            with net.relax.recording() as rec:
                loss_fn(net(x), y).backward()   # backward may also run after the block
            rec.grad_norms()                    # {"state": (calls, T), "weight": (calls, T)}

        Yields a :class:`~photonn.reuse.GradientRecord`; it holds the forwards made with
        gradients enabled inside the block (one per call of this ReLaX) and nothing
        afterwards. Not with ``recompute``.
        """
        if self._recorder is not None:
            raise RuntimeError("this ReLaX is already recording: close the other block first")
        record = self._recorder = self._new_record()
        try:
            yield record
        finally:
            self._recorder = None

    @property
    def record(self) -> bool:
        """Deprecated: whether every forward records gradient norms (``record=True``)."""
        return self._recorder is not None

    @record.setter
    def record(self, value: bool) -> None:
        warnings.warn(
            "ReLaX.record is deprecated: use `with relax.recording() as rec:` and rec.grad_norms()",
            DeprecationWarning,
            stacklevel=2,
        )
        self._recorder = self._new_record() if value else None

    def grad_norms(self) -> dict[str, torch.Tensor]:
        """Deprecated (with ``record=True``): the norms of :meth:`GradientRecord.grad_norms
        <photonn.reuse.GradientRecord.grad_norms>` of every forward since construction or
        :meth:`clear_records`; use :meth:`recording` instead."""
        warnings.warn(
            "ReLaX.grad_norms() is deprecated: use `with relax.recording() as rec:` and "
            "rec.grad_norms()",
            DeprecationWarning,
            stacklevel=2,
        )
        return (self._recorder or GradientRecord(self.effective_depth)).grad_norms()

    def clear_records(self) -> None:
        """Deprecated (with ``record=True``): forget the recorded gradient norms."""
        warnings.warn(
            "ReLaX.clear_records() is deprecated: a recording() block holds its own record",
            DeprecationWarning,
            stacklevel=2,
        )
        if self._recorder is not None:
            self._recorder.clear()

    @property
    def checkpoint_every(self) -> int:
        """Deprecated name of :attr:`recompute_every`."""
        warnings.warn(
            "ReLaX.checkpoint_every is deprecated: use recompute_every",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.recompute_every

    def extra_repr(self) -> str:
        n = self.num_parameters
        return (
            f"L_W={self.l_w}, L_T={self.l_t}, schedule={self.schedule_kind!r}, "
            f"effective_depth={self.effective_depth}, bank_parameters={n.bank}, "
            f"per_pass_parameters={n.per_pass}, share={self.share!r}, leak={self.leak}, "
            f"switch_loss_db={self.switch_loss_db}, pass_noise={self.pass_noise}, fold={self.fold}"
        )

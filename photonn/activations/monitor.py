"""Watch activation inputs during training and stop before they escape to NaN.

:class:`ActivationMonitor` hooks every layer that declares a valid input
range (polynomial activations, device-response modules, CCP layers) and
records, per layer and per batch, the largest ``|x|``, the fraction of inputs
outside ``interval`` and the count of NaN/Inf inputs and outputs. As a
training-loop callback (``on_batch_end``) it writes these into the metrics and
raises :class:`EscapingActivationError`, naming the layer, as soon as an input
exceeds the layer's limit (``escape_factor`` times the range by default) or a
value is not finite. ``check_in_forward=True`` raises inside the forward pass
itself, at the first escaping layer, before the polynomial is evaluated on it.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_float


class EscapingActivationError(RuntimeError):
    """An activation input left its valid range by more than the limit, or became NaN/Inf."""

    def __init__(self, layer: str, message: str):
        super().__init__(message)
        self.layer = layer


def _watched(model: nn.Module):
    for name, m in model.named_modules():
        iv = getattr(m, "interval", None)
        if isinstance(iv, tuple) and len(iv) == 2 and all(isinstance(v, float) for v in iv):
            yield name or type(m).__name__, m


class ActivationMonitor:
    """Per-layer statistics of activation inputs; a training-loop callback.

    Args:
        model: the network to watch (hooks are attached at construction).
        escape_factor: a layer's limit is ``escape_factor * max(|low|, |high|, bound)``.
        limit: an absolute limit for every layer instead (a float), or a dict
            ``layer name -> limit``.
        raise_on_escape: raise :class:`EscapingActivationError` in
            :meth:`on_batch_end` when a limit is crossed or a value is not finite.
        check_in_forward: also check in the forward hook and raise there
            (one host sync per watched layer per forward).
        prefix: metric names are ``f"{prefix}{layer}.{stat}"``, with stat in
            ``max_abs``, ``frac_out``, ``nonfinite``.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        escape_factor: float = 4.0,
        limit=None,
        raise_on_escape: bool = True,
        check_in_forward: bool = False,
        prefix: str = "act/",
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        factor = positive_float(escape_factor, "escape_factor")
        self.layers = dict(_watched(model))
        if not self.layers:
            raise ValueError(
                "the model has no layer with a valid input range (interval) to monitor; "
                "use photonn.activations modules or set an `interval` attribute"
            )
        self.limits: dict[str, float] = {}
        for name, m in self.layers.items():
            if isinstance(limit, dict):
                self.limits[name] = (
                    positive_float(limit[name], f"limit[{name!r}]")
                    if name in limit
                    else factor * _scale(m)
                )
            elif limit is not None:
                self.limits[name] = positive_float(limit, "limit")
            else:
                self.limits[name] = factor * _scale(m)
        self.raise_on_escape = bool(raise_on_escape)
        self.check_in_forward = bool(check_in_forward)
        self.prefix = prefix
        self._stats: dict[str, dict[str, torch.Tensor]] = {}
        self._handles = []
        for name, m in self.layers.items():
            self._handles.append(m.register_forward_pre_hook(self._pre_hook(name)))
            self._handles.append(m.register_forward_hook(self._post_hook(name)))

    # hooks -----------------------------------------------------------------
    def _pre_hook(self, name):
        lo, hi = self.layers[name].interval

        def hook(module, args):
            if not args or not isinstance(args[0], torch.Tensor):
                return
            x = args[0].detach()
            finite = torch.isfinite(x)
            mag = torch.where(finite, x.abs(), torch.zeros((), dtype=x.dtype, device=x.device))
            st = {
                "max_abs": mag.amax() if x.numel() else torch.zeros((), device=x.device),
                "out": ((x < lo) | (x > hi)).sum(),
                "numel": torch.tensor(x.numel(), device=x.device),
                "nonfinite": (~finite).sum(),
            }
            self._accumulate(name, st)
            if self.check_in_forward:
                self._check(name, self._stats[name])

        return hook

    def _post_hook(self, name):
        def hook(module, args, out):
            if isinstance(out, torch.Tensor):
                bad = (~torch.isfinite(out.detach())).sum()
                self._accumulate(name, {"nonfinite": bad})
                if self.check_in_forward:
                    self._check(name, self._stats[name])

        return hook

    def _accumulate(self, name, st):
        cur = self._stats.get(name)
        if cur is None:
            self._stats[name] = dict(st)
            return
        for k, v in st.items():
            cur[k] = torch.maximum(cur[k], v) if k == "max_abs" and k in cur else cur.get(k, 0) + v

    def _check(self, name, st):
        nonfinite = int(st.get("nonfinite", 0))
        max_abs = float(st.get("max_abs", 0.0))
        lim = self.limits[name]
        lo, hi = self.layers[name].interval
        if nonfinite:
            raise EscapingActivationError(
                name,
                f"layer {name!r}: {nonfinite} NaN/Inf values in its input or output "
                f"(valid input range [{lo:g}, {hi:g}]); lower the learning rate, clip "
                "gradients or add the boundary loss",
            )
        if max_abs > lim:
            raise EscapingActivationError(
                name,
                f"layer {name!r}: input reached |x| = {max_abs:.4g}, beyond the limit {lim:.4g} "
                f"(valid input range [{lo:g}, {hi:g}]); the polynomial is escaping and will "
                "overflow to NaN: add the boundary loss, normalise its input or widen the range",
            )

    # public ------------------------------------------------------------------
    def summary(self) -> dict[str, dict[str, float]]:
        """Statistics since the last reset: ``layer -> {max_abs, frac_out, nonfinite}``."""
        out = {}
        for name, st in self._stats.items():
            numel = int(st.get("numel", 0))
            out[name] = {
                "max_abs": float(st.get("max_abs", 0.0)),
                "frac_out": float(st.get("out", 0)) / numel if numel else 0.0,
                "nonfinite": int(st.get("nonfinite", 0)),
            }
        return out

    def reset(self) -> None:
        self._stats = {}

    def on_batch_end(self, step: int, model, metrics: dict) -> None:
        """Log the statistics into ``metrics``, reset, and raise on an escaping layer."""
        summary = self.summary()
        for name, st in summary.items():
            for k, v in st.items():
                metrics[f"{self.prefix}{name}.{k}"] = v
        stats, self._stats = self._stats, {}
        if self.raise_on_escape:
            for name in self.layers:  # network order: the first escaping layer is named
                if name in stats:
                    self._check(name, stats[name])

    def remove(self) -> None:
        """Detach the hooks."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _scale(module) -> float:
    lo, hi = module.interval
    s = max(abs(lo), abs(hi), float(getattr(module, "bound", 0.0) or 0.0))
    return s if s > 0 else 1.0

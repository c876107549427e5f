"""``convert``: put the ``nn.Linear`` and ``nn.Conv2d`` layers of a PyTorch model on chip.

Families and the mapping each uses (``W`` the layer's ``(out, in)`` weight, tiled
into ``block x block`` tiles when ``block`` is given, each tile one chip; the
tiles' outputs are summed electronically; the bias is added electronically):

* ``"svd_mesh"``: each tile is an :class:`~photonn.onchip.SVDLinear`
  (``W = s U Sigma V^H``, two Clements meshes and attenuators, exact by
  decomposition: :meth:`SVDLinear.from_matrix`). The real input is launched as
  field amplitudes and the real quadrature of the output field is read
  (coherent detection); for a real ``W`` it equals ``W x``.
* ``"pcm"``: each tile is a :class:`~photonn.onchip.PCMCrossbar`, scale
  ``max |W_tile|``; signed weights by differential pairs of cells.
* ``"microring"``: each tile is a broadcast-and-weight
  :class:`~photonn.onchip.MicroringWeightBank` with isolated channels; a weight
  ``w`` (scaled into ``[-(p - t), p - t]`` less 0.1 %, ``p`` the drop peak and ``t`` the
  through minimum) sets its ring to the detuning whose ``drop - through`` is ``w``
  (balanced detection gives signed weights).

The incoherent families (``"pcm"``, ``"microring"``) carry powers, which are
non-negative: a signed input ``x`` is sent as ``x+ = max(x, 0)`` and
``x- = max(-x, 0)`` in two passes (time-multiplexed), ``y = W x+ - W x-``; they
cannot represent complex weights. Convolutions are unfolded (im2col,
``torch.nn.functional.unfold``) onto the same tiles: the kernel is the
``(out_channels, in_channels kh kw)`` matrix.

Before non-idealities the converted model computes the original's outputs within
float tolerance; the non-idealities of each family are then switched on on the
tiles (:attr:`PhotonicLinear.tiles`): ``tile.mesh_in.imperfections = ...``,
``tile.quantize = True``, ...
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import one_of, positive_int
from .microring import MicroringWeightBank
from .pcm import PCMCrossbar
from .svd import SVDLinear

__all__ = ["convert", "layer_errors", "PhotonicLinear", "PhotonicConv2d", "FAMILIES"]

FAMILIES = ("svd_mesh", "pcm", "microring")

# the rings of converted banks: lossless and critically coupled (drop peak 1, through 0)
_DROP_PEAK, _THROUGH_MIN = 1.0, 0.0


def _tiles(n: int, block: int | None):
    b = n if block is None else block
    return [(i, min(i + b, n)) for i in range(0, n, b)]


def _microring_tile(W: torch.Tensor, drop_peak: float, through_min: float):
    """A bank with ``weights() = W / scale`` (isolated channels) and its scale."""
    out_f, in_f = W.shape
    # the largest weight just below the on-resonance one: no ring sits exactly on
    # resonance, where its through port is 0 and the bus's cumprod has no gradient
    span = (drop_peak - through_min) * (1 - 1e-3)
    peak = W.abs().max().item()
    scale = peak / span if peak > 0 else 1.0
    w = (W / scale).to(torch.float64)
    lor = (w + 1) / (drop_peak + 1 - through_min)  # drop - through = (p + 1 - t) L - 1
    tuning = 0.5 * torch.sqrt(1 / lor - 1)
    dtype = torch.float64 if W.dtype == torch.float64 else torch.float32
    # isolated channels: leakage 1 / (4 apart^2) below the dtype's rounding, and the
    # Lorentzian's derivative (~ 1 / d^3) still finite in the backward pass
    apart = 1e8 if dtype == torch.float64 else 1e4  # linewidths
    lams = [1.55e-6 + i * apart * 1e-15 for i in range(in_f)]
    bank = MicroringWeightBank(
        in_f, out_f, lams, 1e-15, drop_peak=drop_peak, through_min=through_min, dtype=dtype
    )
    bank.set_tuning(tuning.to(dtype))
    return bank, scale


class PhotonicLinear(nn.Module):
    """A linear map ``y = W x + b`` on tiles of one photonic family (see the module
    docstring for the mappings). Built by :func:`convert`; ``tiles[r][c]`` is the chip
    of output rows ``row_slices[r]`` and input columns ``col_slices[c]``.

    Shapes: real ``(..., in_features)`` -> real ``(..., out_features)``.
    """

    def __init__(self, weight: torch.Tensor, bias, family: str, block: int | None):
        super().__init__()
        one_of(family, FAMILIES, "family")
        W = weight.detach()
        if W.is_complex() and family != "svd_mesh":
            raise ValueError(
                f"family={family!r} carries optical powers and cannot represent a complex "
                f"weight; use family='svd_mesh' (coherent)"
            )
        self.family = family
        self.out_features, self.in_features = W.shape
        self.real_dtype = (
            torch.float64 if W.dtype in (torch.float64, torch.complex128) else (torch.float32)
        )
        self.rows = _tiles(self.out_features, block)
        self.cols = _tiles(self.in_features, block)
        tiles, scales = [], []
        for r0, r1 in self.rows:
            for c0, c1 in self.cols:
                Wt = W[r0:r1, c0:c1]
                if family == "svd_mesh":
                    cdt = torch.complex128 if self.real_dtype == torch.float64 else torch.complex64
                    tiles.append(SVDLinear.from_matrix(Wt, dtype=cdt))
                    scales.append(1.0)
                elif family == "pcm":
                    peak = Wt.abs().max().item()
                    s = peak if peak > 0 else 1.0
                    t = PCMCrossbar(c1 - c0, r1 - r0, [0.0, 1.0], scale=s, dtype=self.real_dtype)
                    t.set_weight((Wt / s).to(self.real_dtype))
                    tiles.append(t)
                    scales.append(1.0)
                else:
                    bank, s = _microring_tile(Wt, _DROP_PEAK, _THROUGH_MIN)
                    tiles.append(bank)
                    scales.append(s)
        self.tiles = nn.ModuleList(tiles)
        self.register_buffer("tile_scale", torch.tensor(scales, dtype=self.real_dtype))
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())

    def _tile(self, k: int, x: torch.Tensor) -> torch.Tensor:
        t = self.tiles[k]
        if self.family == "svd_mesh":
            return t(x.to(t.dtype)).real.to(self.real_dtype)
        xp, xm = x.clamp(min=0), (-x).clamp(min=0)
        return self.tile_scale[k] * (t(xp) - t(xm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"input must have last dimension {self.in_features}, got {tuple(x.shape)}"
            )
        x = x.to(self.real_dtype)
        outs, k = [], 0
        for _r0, _r1 in self.rows:
            acc = 0
            for c0, c1 in self.cols:
                acc = acc + self._tile(k, x[..., c0:c1])
                k += 1
            outs.append(acc)
        y = torch.cat(outs, -1)
        return y if self.bias is None else y + self.bias

    @property
    def n_tiles(self) -> int:
        return len(self.tiles)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"family={self.family!r}, tiles={len(self.rows)}x{len(self.cols)}"
        )


class PhotonicConv2d(nn.Module):
    """An ``nn.Conv2d`` by im2col on a :class:`PhotonicLinear` of its kernel matrix.

    Shapes: ``(B, C, H, W)`` -> ``(B, out_channels, H', W')`` as the original.
    """

    def __init__(self, conv: nn.Conv2d, family: str, block: int | None):
        super().__init__()
        if conv.groups != 1:
            raise ValueError(
                f"convert supports Conv2d with groups=1, got groups={conv.groups}; a grouped "
                f"convolution has no single kernel matrix (convert each group separately)"
            )
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(
                f"convert supports Conv2d with numeric zero padding, got padding="
                f"{conv.padding!r}, padding_mode={conv.padding_mode!r}"
            )
        self.kernel_size, self.stride = conv.kernel_size, conv.stride
        self.padding, self.dilation = conv.padding, conv.dilation
        self.out_channels = conv.out_channels
        W = conv.weight.detach().reshape(conv.out_channels, -1)
        self.linear = PhotonicLinear(W, conv.bias, family, block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, Wd = x.shape
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        y = self.linear(cols.transpose(1, 2))  # (B, L, out)
        ho = H + 2 * self.padding[0] - self.dilation[0] * (self.kernel_size[0] - 1) - 1
        wo = Wd + 2 * self.padding[1] - self.dilation[1] * (self.kernel_size[1] - 1) - 1
        ho, wo = ho // self.stride[0] + 1, wo // self.stride[1] + 1
        return y.transpose(1, 2).reshape(B, self.out_channels, ho, wo)


def convert(
    model: nn.Module,
    family: str = "svd_mesh",
    block: int | None = None,
    *,
    chip: int | None = None,
) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` and ``nn.Conv2d`` on chip.

    Args:
        model: any ``nn.Module`` (not modified).
        family: ``"svd_mesh"`` (coherent, exact by SVD into MZI meshes), ``"pcm"``
            (phase-change crossbar, differential pairs) or ``"microring"`` (WDM
            broadcast-and-weight bank, balanced detection); see the module docstring.
        block: tile size ``k``: matrices are cut into ``k x k`` tiles (edge tiles
            smaller), one chip each; ``None``: one chip per layer.
        chip: the largest matrix side a chip takes (modes, or rows and columns of a
            crossbar); a ``block`` larger than ``chip``, or a layer larger than
            ``chip`` without ``block``, is refused.

    Returns:
        the converted copy; its outputs equal the original's within float tolerance
        before the tiles' non-idealities are switched on.
    """
    one_of(family, FAMILIES, "family")
    if block is not None:
        block = positive_int(block, "block")
    if chip is not None:
        chip = positive_int(chip, "chip")
        if block is not None and block > chip:
            raise ValueError(
                f"block={block} is larger than the chip ({chip} x {chip}); use block <= {chip}"
            )
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    out = copy.deepcopy(model)

    def check_size(name, W):
        if chip is not None and block is None and max(W.shape[:2]) > chip:
            side = max(W.shape[0], math.prod(W.shape[1:]))
            raise ValueError(
                f"layer {name!r} needs a {side}-wide matrix, larger than the chip ({chip}); "
                f"pass block=k with k <= {chip} to tile it"
            )

    def swap(parent: nn.Module, prefix: str):
        for name, child in list(parent.named_children()):
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(child, nn.Linear):
                check_size(full, child.weight)
                setattr(parent, name, PhotonicLinear(child.weight, child.bias, family, block))
            elif isinstance(child, nn.Conv2d):
                check_size(full, child.weight.reshape(child.out_channels, -1))
                setattr(parent, name, PhotonicConv2d(child, family, block))
            else:
                swap(child, full)

    if isinstance(out, (nn.Linear, nn.Conv2d)):
        holder = nn.Sequential(out)
        swap(holder, "")
        return holder[0]
    swap(out, "")
    return out


@torch.no_grad()
def layer_errors(original: nn.Module, converted: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Relative error ``||y_conv - y_orig|| / ||y_orig||`` of each converted layer's output
    on the batch ``x``, the layers fed the *same* input (the original model's activations),
    so that each layer's own loss is reported, not the accumulated one.

    Returns ``{layer name: relative error}`` for every ``nn.Linear`` / ``nn.Conv2d`` of
    ``original`` that ``converted`` replaced.
    """
    conv_mods = dict(converted.named_modules())
    inputs: dict[str, torch.Tensor] = {}
    outputs: dict[str, torch.Tensor] = {}
    hooks = []
    for name, mod in original.named_modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)) and isinstance(
            conv_mods.get(name), (PhotonicLinear, PhotonicConv2d)
        ):

            def hook(m, args, out, name=name):
                inputs[name] = args[0]
                outputs[name] = out

            hooks.append(mod.register_forward_hook(hook))
    try:
        original(x)
    finally:
        for h in hooks:
            h.remove()
    errors = {}
    for name, y in outputs.items():
        got = conv_mods[name](inputs[name]).to(y.dtype)
        errors[name] = float((got - y).norm() / y.norm().clamp_min(torch.finfo(y.dtype).tiny))
    return errors

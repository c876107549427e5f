"""Input validation shared by every layer of photonn.

Each helper raises a ``ValueError`` or ``TypeError`` that names the offending
value and what is allowed, so bad input fails early and never as a later NaN.
This module imports nothing from photonn; every other module may import it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch

COMPLEX_DTYPES = (torch.complex64, torch.complex128)
REAL_DTYPES = (torch.float32, torch.float64)


def _real_scalar(value, name: str) -> float:
    """``value`` (a Python or one-element tensor real) as a float, any value."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def positive_float(value, name: str) -> float:
    """Return ``value`` as a finite float > 0, or raise ``ValueError``."""
    value = _real_scalar(value, name)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def finite_float(value, name: str) -> float:
    """Return ``value`` as a finite float (any sign), or raise."""
    value = _real_scalar(value, name)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_pad_factor(value, name: str = "pad_factor") -> float:
    """A zero-padding factor: a finite float >= 1 (1 means no padding)."""
    value = positive_float(value, name)
    if value < 1:
        raise ValueError(f"{name} must be >= 1 (1 means no padding), got {value!r}")
    return value


def fraction(value, name: str) -> float:
    """Return ``value`` as a float in ``(0, 1]`` (an efficiency, a fill factor), or raise."""
    value = positive_float(value, name)
    if value > 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return value


def non_negative_float(value, name: str, unit: str = "") -> float:
    """Return ``value`` as a finite float >= 0, or raise (``unit`` is named in the message)."""
    value = finite_float(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0{' ' + unit if unit else ''}, got {value!r}")
    return value


def positive_floats(values, name: str) -> tuple[float, ...]:
    """A scalar or a non-empty 1-D sequence/tensor of positive floats, as a tuple."""
    if isinstance(values, torch.Tensor):
        if values.ndim > 1:
            raise ValueError(f"{name} must be a scalar or 1-D, got shape {tuple(values.shape)}")
        values = values.reshape(-1).tolist()
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        return (positive_float(values, name),)
    if isinstance(values, Sequence) and not isinstance(values, str):
        if len(values) == 0:
            raise ValueError(f"{name} must not be empty")
        return tuple(positive_float(v, f"{name}[{i}]") for i, v in enumerate(values))
    raise TypeError(
        f"{name} must be a number or a sequence of numbers, got {type(values).__name__}"
    )


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def non_negative_int(value, name: str, meaning: str = "") -> int:
    """``value`` as an int >= 0; ``meaning`` (e.g. ``" (layers per segment, 0: off)"``)
    is said in the message."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int{meaning}, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0{meaning}, got {value}")
    return value


def fits_in(value, limit, name: str, limit_name: str, unit: str = "neurons"):
    """``value`` (an int, or a tuple of ints compared entry by entry) if it is at most
    ``limit``, else ``ValueError`` naming both (``input_size`` in ``size`` neurons)."""
    values = value if isinstance(value, tuple) else (value,)
    limits = limit if isinstance(limit, tuple) else (limit,)
    if any(v > m for v, m in zip(values, limits)):
        raise ValueError(
            f"{name} = {value} does not fit in {limit_name} = {limit} {unit}; lower {name} or "
            f"raise {limit_name}"
        )
    return value


def check_generator(value, name: str = "generator", *, required_for: str | None = None):
    """``None`` or a ``torch.Generator``; with ``required_for`` (what draws random values)
    ``None`` is refused too, with the fix."""
    if value is None and required_for is None:
        return None
    if not isinstance(value, torch.Generator):
        need = f"{required_for} draws random values: " if required_for else ""
        raise TypeError(
            f"{need}{name} must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(value).__name__}"
        )
    return value


def real_dtype(dtype, name: str = "dtype") -> torch.dtype:
    if dtype not in REAL_DTYPES:
        raise TypeError(f"{name} must be torch.float32 or torch.float64, got {dtype}")
    return dtype


def complex_dtype(dtype, name: str = "dtype") -> torch.dtype:
    if dtype not in COMPLEX_DTYPES:
        raise TypeError(f"{name} must be torch.complex64 or torch.complex128, got {dtype}")
    return dtype


def tensor(x, name: str) -> torch.Tensor:
    """Check that ``x`` is a ``torch.Tensor`` (any dtype)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def image_batch(images, name: str = "images") -> torch.Tensor:
    """Check that ``images`` is a tensor of shape ``(B, H, W)`` (any dtype)."""
    tensor(images, name)
    if images.ndim != 3:
        raise ValueError(
            f"{name} must have shape (B, H, W), got {tuple(images.shape)}; add a batch axis "
            f"with {name}[None] for a single image"
        )
    return images


def real_batch(x, width: int, name: str = "x", what: str = "values") -> torch.Tensor:
    """Check that ``x`` is a real floating-point tensor ``(batch, width)``; ``what`` says
    what its entries are (``"amplitudes"``)."""
    tensor(x, name)
    if x.is_complex() or not x.is_floating_point():
        raise TypeError(
            f"{name} must be a real floating-point tensor ({what}), got {x.dtype}; "
            f"convert it with {name}.float()"
        )
    if x.ndim != 2 or x.shape[-1] != width:
        raise ValueError(f"{name} must have shape (batch, {width}), got {tuple(x.shape)}")
    return x


def complex_tensor(x, name: str = "field") -> torch.Tensor:
    """Check that ``x`` is a complex tensor (complex64 or complex128)."""
    tensor(x, name)
    if x.dtype not in COMPLEX_DTYPES:
        raise TypeError(
            f"{name} must be complex64 or complex128, got {x.dtype}; "
            f"convert a real amplitude with {name}.to(torch.complex64)"
        )
    return x


def one_of(value, allowed, name: str):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def real_of(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching a complex (or real) dtype."""
    return {torch.complex64: torch.float32, torch.complex128: torch.float64}.get(dtype, dtype)


def complex_of(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real (or complex) dtype."""
    return {torch.float32: torch.complex64, torch.float64: torch.complex128}.get(dtype, dtype)


def optional_dtype(dtype, allowed, name: str = "dtype"):
    """``None`` or one of ``allowed`` (for modules that hold no tensor and check inputs)."""
    if dtype is not None and dtype not in allowed:
        names = " or ".join(str(d) for d in allowed)
        raise TypeError(f"{name} must be None (accept any) or {names}, got {dtype}")
    return dtype


def check_device(device):
    """``None`` or a valid ``torch.device`` spec (``"cpu"``, ``"cuda:0"``, a device)."""
    if device is None:
        return None
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be a torch.device or a name like 'cpu', got {device!r}"
        ) from exc


def input_dtype(module, x, dtype, name: str = "input"):
    """Raise when ``dtype`` is set and the tensor ``x`` has another dtype."""
    if dtype is not None and isinstance(x, torch.Tensor) and x.dtype != dtype:
        raise TypeError(
            f"{name} is {x.dtype} but this {type(module).__name__} was built for {dtype}; "
            f"build it with dtype={x.dtype} (or dtype=None to accept any)"
        )
    return x


def feature_batch(x, in_features: int, dtype: torch.dtype, what: str) -> torch.Tensor:
    """A real batch ``(B, in_features)`` cast to ``dtype``, for models that write data into
    device parameters (``what``: "phases", "detunings", ...).

    ``(B, H, W)`` with ``H W = in_features`` is flattened. Raises ``TypeError`` for a
    non-tensor or a complex ``x``, ``ValueError`` for a wrong shape or a NaN / Inf
    (checked here, once, at the model's boundary: one host synchronisation).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if x.is_complex() or not x.is_floating_point():
        raise TypeError(
            f"x must be real floating point (the data is written into {what}), got {x.dtype}; "
            "scale integer images to [0, 1] first, e.g. x.float() / 255"
        )
    if x.ndim == 3 and x.shape[-1] * x.shape[-2] == in_features:
        x = x.flatten(-2)
    if x.ndim != 2 or x.shape[-1] != in_features:
        raise ValueError(
            f"x must have shape (batch, {in_features}) (or (batch, H, W) with H W = "
            f"{in_features}), got {tuple(x.shape)}; resize the inputs to in_features = "
            f"{in_features}"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds NaN or Inf values; clean or normalise the inputs")
    return x.to(dtype)


# ---- renamed names (the old spelling keeps working with a DeprecationWarning) ----------


def renamed(new, old, *, new_name: str, old_name: str, owner: str):
    """The value of a keyword renamed from ``old_name`` to ``new_name``: ``old`` (not
    ``None``) warns and stands in for ``new`` (which must be left at its default: falsy).

    Call it directly in the public function that takes both keywords (the warning points
    at that function's caller)."""
    if old is None:
        return new
    if new:
        raise TypeError(f"{owner}: give {new_name}= only ({old_name}= is its deprecated name)")
    warnings.warn(
        f"{owner}({old_name}=...) is deprecated: use {new_name}=", DeprecationWarning, stacklevel=3
    )
    return old


def renamed_attribute(old_name: str, new_name: str) -> property:
    """A read-only class attribute ``old_name`` that warns and returns ``self.<new_name>``
    (``n = renamed_attribute("n", "n_modes")`` in the class body)."""

    def get(self):
        warnings.warn(
            f"{type(self).__name__}.{old_name} is deprecated: use {new_name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new_name)

    get.__doc__ = f"Deprecated name of :attr:`{new_name}`."
    return property(get)

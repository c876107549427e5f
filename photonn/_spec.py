"""A declarative field specification: a value's name, type, unit, default, description, checks.

The one language in which photonn declares the values it reads from files: the
keys of a device profile kind (:mod:`photonn.devices.kinds`) and the keys of a run
configuration (:mod:`photonn.runs.schema`). A :class:`Spec` says what a value must
be; the layer that reads the file knows where the value came from and words the
error around :meth:`Spec.violation` (file, key and fix).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class _Required:
    """The default of a value that has none: the file must give it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

_OPS = {">": operator.gt, ">=": operator.ge, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Spec:
    """One declared value.

    Attributes:
        name: the key (may stay empty where its holder names it, e.g. a dataclass field).
        type: ``float``, ``int``, ``bool``, ``str``, ``tuple`` (a pair) or a typing
            annotation; ``None`` where the holder's annotation gives it.
        unit: SI unit (``"m"``, ``"W"``, ``"rad"``) or a display unit of a value that
            is not converted (``"dB"``, ``"bit"``, ``"e-"``); ``""`` for a pure number.
        default: the value when the key is absent; :data:`REQUIRED` if it must be given.
        description: one line for messages and the docs.
        choices: the allowed values, or a callable returning them (registries that grow
            after import).
        gt, ge, le, lt: bounds of a number.
        validator: ``value -> None`` when good, else the problem (``"must be ..."``).
    """

    name: str = ""
    type: Any = None
    unit: str = ""
    default: Any = REQUIRED
    description: str = ""
    choices: tuple | Callable[[], tuple] | None = None
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    lt: float | None = None
    validator: Callable[[Any], str | None] | None = None

    @property
    def required(self) -> bool:
        """True when the value has no default."""
        return self.default is REQUIRED

    def allowed(self) -> tuple | None:
        """The choices (called if given as a callable), or None."""
        return tuple(self.choices()) if callable(self.choices) else self.choices

    def bounds(self) -> list[tuple[str, float]]:
        """``[(">", 0.0), ("<=", 0.01)]``: the bounds in the order lower, upper."""
        pairs = (("gt", ">"), ("ge", ">="), ("le", "<="), ("lt", "<"))
        return [(op, getattr(self, a)) for a, op in pairs if getattr(self, a) is not None]

    def interval(self) -> str:
        """The bounds as an interval: ``"(0, 0.01]"``, ``"[0, inf)"``."""
        lo = self.gt if self.gt is not None else self.ge
        hi = self.lt if self.lt is not None else self.le
        left = "[" if self.ge is not None else "("
        right = "]" if self.le is not None else ")"
        lo_text = "-inf" if lo is None else f"{lo:g}"
        hi_text = "inf" if hi is None else f"{hi:g}"
        return f"{left}{lo_text}, {hi_text}{right}"

    def violation(self, value) -> str | None:
        """What is wrong with ``value`` (``"must be > 0"``), or None. The type is the
        caller's to check; bounds apply to numbers, choices and the validator to all."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                return "must be finite"
            for op, bound in self.bounds():
                if not _OPS[op](value, bound):
                    return f"must be {op} {bound:g}"
        choices = self.allowed()
        if choices is not None and value not in choices:
            return f"must be one of {list(choices)}"
        if self.validator is not None:
            return self.validator(value)
        return None


def option(default, description: str, *, unit: str = "", **checks) -> Any:
    """A field of a frozen options dataclass declared with its :class:`Spec`.

    ``option(7.5e-4, "wavelength", unit="m", gt=0)`` is the field's default, and its
    metadata ``{"spec": Spec(...)}`` carries the unit, description and checks that
    the run configuration, its docs and :func:`check_options` read. ``checks`` are
    :class:`Spec`'s ``choices``, ``gt``, ``ge``, ``le``, ``lt`` and ``validator``.
    """
    from dataclasses import field

    spec = Spec(unit=unit, default=default, description=description, **checks)
    return field(default=default, metadata={"spec": spec})


def check_options(options) -> None:
    """Check every declared field of an options dataclass against its :class:`Spec`.

    Raises ``ValueError`` naming the field, the value and the allowed range; ``None``
    passes (an optional value left unset), a sequence is checked entry by entry. Call
    it from ``__post_init__``.
    """
    from dataclasses import fields

    for f in fields(options):
        spec = f.metadata.get("spec")
        value = getattr(options, f.name)
        if spec is None or value is None:
            continue
        for item in value if isinstance(value, (tuple, list)) else (value,):
            problem = spec.violation(item)
            if problem:
                unit = f" [{spec.unit}]" if spec.unit else ""
                raise ValueError(f"{f.name}{unit} {problem}, got {item!r}")


class FromOptions:
    """Mixin of a model whose declared parameters are a frozen options dataclass.

    A subclass sets ``options_class``; :meth:`from_options` passes the options' fields
    as the constructor's keywords of the same names.
    """

    options_class: type = type(None)

    @classmethod
    def from_options(cls, options, *args, **kwargs):
        """``cls(*args, **fields of options, **kwargs)``; ``options`` must be an
        ``options_class`` (its checks ran when it was made)."""
        if not isinstance(options, cls.options_class):
            raise TypeError(
                f"options must be {cls.options_class.__name__}, got {type(options).__name__}"
            )
        from dataclasses import fields

        values = {f.name: getattr(options, f.name) for f in fields(options)}
        return cls(*args, **values, **kwargs)

"""Configuration schemas as dataclasses: one definition gives defaults, validation, TOML and docs.

A section is a dataclass whose fields are declared with :func:`key`: a default,
a one-line description (with the unit where there is one), and optional
``choices`` and bounds, held as a :class:`photonn._spec.Spec` (the declaration
language device profiles use too). The field's annotation is its type: ``bool``, ``int``,
``float``, ``str``, ``list[str]``, ``list[int]``, ``dict`` (a TOML table passed
through, e.g. extra optimizer options), ``int | float``, or ``T | None`` (an optional
value: absent from the file when unset, since TOML has no null). A field whose
annotation is a dataclass is a sub-section (a TOML table). A model kind's section
is derived from the model's options dataclass by :func:`options_section` (fields
declared with :func:`photonn._spec.option`).

From that one definition come:

* :func:`defaults`: the nested dict of defaults;
* :func:`validate`: a nested dict (from TOML and ``--set``) checked against it:
  an unknown key names the known ones, a value of the wrong type, outside the
  choices or bounds names the key, the value and what is allowed; missing keys
  take their default;
* :func:`dump_toml`: TOML text, each key commented with its description;
* :func:`reference`: a Markdown table per section (the docs).

Sections may be chosen by a ``kind`` key (see :class:`Variants`), as the model
section is.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field

from .. import _toml
from .._spec import Spec


def key(
    default,
    doc: str,
    *,
    choices: tuple | Callable[[], tuple] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
):
    """A schema field: ``default``, a one-line ``doc`` (state the unit), optional choices/bounds.

    ``choices`` may be a callable returning the allowed values (for registries
    that grow after import). Bounds apply to numbers and to each entry of a list
    of numbers.
    """
    spec = Spec(default=default, description=doc, choices=choices, ge=ge, gt=gt, le=le)
    meta = {"spec": spec}
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: json.loads(json.dumps(value)), metadata=meta)
    return field(default=default, metadata=meta)


def _doc(f) -> str:
    spec = f.metadata.get("spec")
    if spec is None:
        return ""
    return f"{spec.description} [{spec.unit}]" if spec.unit else spec.description


#: the suffix a value's file key carries for its unit (lengths in metres: ``pitch_m``)
UNIT_SUFFIX = {"m": "_m"}


def file_key(name: str, spec: Spec) -> str:
    """The key of the declared value ``name`` in a file: ``name`` plus its unit's suffix
    (:data:`UNIT_SUFFIX`): ``wavelength`` [m] is ``wavelength_m``; the one rule between
    an options field and its configuration key."""
    suffix = UNIT_SUFFIX.get(spec.unit, "")
    return name if name.endswith(suffix) else name + suffix


def options_section(name: str, options, *, before=(), after=(), doc: str = "") -> type:
    """The section dataclass of the frozen ``options`` dataclass: one key per field
    declared with :func:`photonn._spec.option` (named by :func:`file_key`), its
    default, type, unit, description and bounds; ``before``/``after`` are further
    ``(name, type, key(...))`` fields of the section (``kind``, ``dtype``)."""
    hints = typing.get_type_hints(options)
    rows = list(before)
    for f in dataclasses.fields(options):
        spec = f.metadata.get("spec")
        if spec is None:
            continue
        tp, default = hints[f.name], f.default
        if tp is object:  # a value that may also be an object in Python: a file holds its name
            tp = type(default)
        if typing.get_origin(tp) is tuple:  # a frozen sequence is a TOML list
            tp, value = list[typing.get_args(tp)[0]], list(default)
            made = field(default_factory=lambda v=value: list(v), metadata=f.metadata)
        else:
            made = field(default=default, metadata=f.metadata)
        rows.append((file_key(f.name, spec), tp, made))
    rows += list(after)
    cls = dataclasses.make_dataclass(name, rows)
    cls.__doc__ = doc or options.__doc__
    cls.options = options
    return cls


def to_options(options, section: Mapping):
    """The ``options`` dataclass of a validated section (its :func:`file_key` keys);
    the options' ``__post_init__`` runs its cross-field rules."""
    kw = {}
    for f in dataclasses.fields(options):
        spec = f.metadata.get("spec")
        if spec is not None:
            value = section.get(file_key(f.name, spec), f.default)
            kw[f.name] = tuple(value) if isinstance(value, list) else value
    return options(**kw)


@dataclass(frozen=True)
class Variants:
    """A section chosen by its ``kind`` key: ``{kind: dataclass}``, with a default kind."""

    by_kind: Mapping[str, type]
    default: str
    doc: str = ""


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _fields(cls):
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        yield f, hints[f.name]


def _default(f):
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    raise TypeError(f"schema field {f.name!r} has no default")


def _choices(f) -> tuple | None:
    spec = f.metadata.get("spec")
    return None if spec is None else spec.allowed()


def _variants(f, tp) -> Variants | None:
    v = f.metadata.get("variants")
    return v if isinstance(v, Variants) else None


def section(cls_or_variants, doc: str = ""):
    """A sub-section field: a dataclass, or a :class:`Variants` chosen by ``kind``."""
    if isinstance(cls_or_variants, Variants):
        v = cls_or_variants
        return field(
            default_factory=lambda: defaults(v.by_kind[v.default]),
            metadata={"variants": v, "spec": Spec(description=doc or v.doc)},
        )
    cls = cls_or_variants
    return field(
        default_factory=lambda: defaults(cls),
        metadata={"spec": Spec(description=doc), "section": cls},
    )


def _section_cls(f, tp):
    if dataclasses.is_dataclass(tp):
        return tp
    return f.metadata.get("section")


def defaults(cls) -> dict:
    """The nested dict of defaults of a section dataclass."""
    out = {}
    for f, tp in _fields(cls):
        v = _variants(f, tp)
        sub = _section_cls(f, tp)
        if v is not None:
            out[f.name] = defaults(v.by_kind[v.default])
        elif sub is not None:
            out[f.name] = defaults(sub)
        elif _default(f) is not None:  # an unset optional value stays absent
            out[f.name] = _default(f)
    return out


def _optional(tp):
    """``T`` of an annotation ``T | None``, else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            if len(args) != 1:  # pragma: no cover
                raise TypeError(f"schema type {tp!r}: one type or None is supported")
            return args[0]
    return None


def _type_name(tp) -> str:
    inner = _optional(tp)
    if inner is not None:
        return f"{_type_name(inner)} (optional)"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is str:
        return "string"
    if tp is dict or typing.get_origin(tp) is dict:
        return "table"
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"list of {_type_name(inner)}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


_SCALARS = (bool, int, float, str)


def _coerce(name: str, value, tp, f):
    """``value`` checked against the annotation ``tp`` (ints are accepted for floats); the
    bounds are checked once, by :func:`validate`."""
    inner = _optional(tp)
    if inner is not None:
        return None if value is None else _coerce(name, value, inner, f)
    origin = typing.get_origin(tp)
    if tp is dict or origin is dict:
        if isinstance(value, dict):
            return json.loads(json.dumps(value))
    elif origin is list:
        if isinstance(value, (list, tuple)):
            (item,) = typing.get_args(tp)
            return [_coerce(f"{name}[{i}]", v, item, f) for i, v in enumerate(value)]
    elif tp in _SCALARS or origin in (typing.Union, types.UnionType):
        # a union int | float keeps an int (a count) and a float (a fraction) as given
        union = tp not in _SCALARS
        for a in typing.get_args(tp) if union else (tp,):
            if isinstance(value, bool) != (a is bool):
                continue
            if a in (bool, int, str) and isinstance(value, a):
                return value
            if a is float and isinstance(value, float if union else (int, float)):
                return float(value)
    else:  # pragma: no cover
        raise TypeError(f"schema type {tp!r} of {name!r} is not supported")
    raise TypeError(
        f"config key {name!r} must be {_type_name(tp)} (like {_default(f)!r}), "
        f"got {type(value).__name__} {value!r}"
    )


def validate(cls, update: Mapping | None, where: str = "") -> dict:
    """Defaults of ``cls`` updated by ``update``, every key checked (see the module docstring)."""
    update = dict(update or {})
    out = {}
    known = {f.name for f in dataclasses.fields(cls)}
    for k in update:
        if k not in known:
            place = f"section [{where[:-1]}]" if where else "the top level"
            names = ", ".join(sorted(known))
            raise ValueError(f"unknown config key {where + k!r}; known keys at {place}: {names}")
    for f, tp in _fields(cls):
        name = f"{where}{f.name}"
        v = _variants(f, tp)
        sub = _section_cls(f, tp)
        if v is not None or sub is not None:
            value = update.get(f.name, {})
            if not isinstance(value, Mapping):
                raise TypeError(f"config key {name!r} must be a table [{name}], got {value!r}")
            if v is not None:
                kind = value.get("kind", v.default)
                if kind not in v.by_kind:
                    raise ValueError(
                        f"config key '{name}.kind' must be one of {sorted(v.by_kind)}, got {kind!r}"
                    )
                sub = v.by_kind[kind]
            out[f.name] = validate(sub, value, f"{name}.")
            continue
        if f.name not in update:
            if _default(f) is not None:  # an unset optional value stays absent
                out[f.name] = _default(f)
            continue
        value = update[f.name]
        if isinstance(value, Mapping) and not (tp is dict or typing.get_origin(tp) is dict):
            raise TypeError(f"config key {name!r} is a value, not a table")
        value = _coerce(name, value, tp, f)
        if value is None:  # an optional value given as unset (from Python, not TOML)
            continue
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            problem = f.metadata["spec"].violation(item)
            if problem:
                entry = "" if i is None else f" (entry {i})"
                raise ValueError(f"config key {name!r} {problem}, got {item!r}{entry}")
        out[f.name] = value
    return out


def _doc_of(cls, values: Mapping) -> dict[str, tuple[str, type | None]]:
    """``{field: (doc, section class or None)}`` for the fields of ``cls`` given ``values``."""
    out = {}
    for f, tp in _fields(cls):
        v = _variants(f, tp)
        sub = _section_cls(f, tp)
        if v is not None:
            sub = v.by_kind[values.get(f.name, {}).get("kind", v.default)]
        out[f.name] = (_doc(f), sub)
    return out


def dump_toml(cls, values: Mapping, *, comments: bool = True) -> str:
    """``values`` (validated against ``cls``) as TOML: scalars first, then one table per section."""
    lines: list[str] = []
    _dump(cls, values, "", lines, comments)
    return "\n".join(lines).strip("\n") + "\n"


def _dump(cls, values, prefix, lines, comments) -> None:
    docs = _doc_of(cls, values)
    width = max(
        [
            len(f"{_toml.key(k)} = {_toml.value(v)}")
            for k, v in values.items()
            if docs.get(k, ("", None))[1] is None
        ]
        + [0]
    )
    for k, v in values.items():
        doc, sub = docs.get(k, ("", None))
        if sub is not None:
            continue
        text = f"{_toml.key(k)} = {_toml.value(v)}"
        if comments and doc:
            text = f"{text:<{min(width, 40)}}  # {doc}"
        lines.append(text)
    if comments and dataclasses.is_dataclass(cls):  # unset optional values: TOML has no null
        for f, tp in _fields(cls):
            if f.name not in values and _optional(tp) is not None:
                lines.append(f"# {_toml.key(f.name)} = (unset)  # {_doc(f)}")
    for k, v in values.items():
        doc, sub = docs.get(k, ("", None))
        if sub is None:
            continue
        name = f"{prefix}{k}"
        lines.append("")
        lines.append(f"[{name}]" + (f"  # {doc}" if comments and doc else ""))
        _dump(sub, v, name + ".", lines, comments)


def reference(cls, title: str, *, level: int = 2) -> str:
    """Markdown reference of a schema: one table (key, type, default, description) per section."""
    out: list[str] = []
    _reference(cls, title, "", level, out)
    return "\n".join(out).rstrip() + "\n"


def _reference(cls, title, prefix, level, out) -> None:
    rows, subs = [], []
    for f, tp in _fields(cls):
        v = _variants(f, tp)
        sub = _section_cls(f, tp)
        doc = _doc(f)
        if v is not None:
            for kind, sc in v.by_kind.items():
                subs.append((sc, f'[{prefix}{f.name}] kind = "{kind}"', f"{prefix}{f.name}."))
            continue
        if sub is not None:
            subs.append((sub, f"[{prefix}{f.name}]", f"{prefix}{f.name}."))
            continue
        extra = ""
        choices = _choices(f)
        if choices is not None:
            extra = " One of " + ", ".join(f"`{_toml.value(c)}`" for c in choices) + "."
        bounds = [f"{op} {b:g}" for op, b in f.metadata["spec"].bounds()]
        if bounds:
            extra += " Must be " + " and ".join(bounds) + "."
        value = _default(f)
        default = "unset" if value is None else _toml.value(value).replace("|", "\\|")
        text = (doc + ("" if not extra or doc.endswith(".") else ".") + extra).strip()
        rows.append(f"| `{f.name}` | {_type_name(tp)} | `{default}` | {text} |")
    out.append(f"{'#' * level} {title}")
    out.append("")
    if cls.__doc__ and dataclasses.is_dataclass(cls):
        first = cls.__doc__.strip().split("\n\n")[0].replace("\n", " ")
        if not first.startswith(cls.__name__ + "("):
            out.append(first)
            out.append("")
    if rows:
        out += ["| key | type | default | description |", "|---|---|---|---|", *rows, ""]
    for sub, sub_title, sub_prefix in subs:
        _reference(sub, sub_title, sub_prefix, level + 1, out)

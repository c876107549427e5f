"""Resolve a device profile given by name, path or object.

A profile is given by name or path (loaded with ``photonn.devices.load_profile``),
as a loaded ``DeviceProfile``, or as a plain mapping of SI values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..devices import load_profile


def profile_values(name_or_profile, kind: str) -> tuple[dict, object]:
    """``(values, profile)`` of a device profile of the given ``kind``.

    Accepts a profile name or path (loaded with ``photonn.devices.load_profile``),
    a ``DeviceProfile`` (anything with ``kind`` and ``values``) or a mapping of
    SI values (its ``kind`` is not checked).
    """
    prof = name_or_profile
    if isinstance(prof, (str, os.PathLike)):
        prof = load_profile(prof)
    if hasattr(prof, "values") and hasattr(prof, "kind") and not isinstance(prof, Mapping):
        if prof.kind != kind:
            raise ValueError(
                f"profile {getattr(prof, 'name', '?')!r} is a {prof.kind!r}, not a {kind!r}; "
                f"see photonn.devices.list_profiles() for the {kind} profiles"
            )
        return dict(prof.values), prof
    if isinstance(prof, Mapping):
        return dict(prof), prof
    raise TypeError(
        f"expected a profile name, a path, a DeviceProfile or a mapping, got {type(prof).__name__}"
    )


def require(values: Mapping, keys, kind: str) -> None:
    missing = [k for k in keys if k not in values]
    if missing:
        raise ValueError(f"the {kind} profile lacks {missing}; it has {sorted(values)}")

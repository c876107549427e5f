"""Building a diffractive stack (D2NN, polarization D2NN) from its options dataclass."""

from __future__ import annotations

from dataclasses import asdict

from ..grid import Grid


def stack_arguments(options, *, drop: tuple[str, ...] = ()):
    """``(grid, wavelength, num_layers, distance)`` and the remaining keywords of ``options``.

    ``options`` is a frozen options dataclass with ``size`` and ``pitch`` (the grid),
    ``wavelength``, ``num_layers`` and ``distance``; ``drop`` names fields that are not
    constructor keywords (read elsewhere, e.g. by a task wrapper).
    """
    kw = asdict(options)
    for name in drop:
        kw.pop(name)
    grid = Grid(kw.pop("size"), kw.pop("pitch"))
    return (grid, kw.pop("wavelength"), kw.pop("num_layers"), kw.pop("distance")), kw

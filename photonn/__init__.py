"""photonn: differentiable simulation of physical (optical) neural networks.

The top level holds :class:`Grid`, :func:`propagate`, :func:`sampling_report`
and :mod:`photonn.units`; the subpackages load on first access (PEP 562), so
``import photonn as pn`` stays light (it never imports matplotlib, training or
the element packages) and ``pn.freespace.Propagator``, ``pn.onchip.MZIMesh``,
``pn.models.D2NN`` work without further imports.
"""

from __future__ import annotations

import importlib
import importlib.util

from . import units as units
from ._version import __version__ as __version__
from .functional.propagation import SamplingWarning as SamplingWarning
from .functional.propagation import propagate as propagate
from .functional.sampling import SamplingReport as SamplingReport
from .functional.sampling import sampling_report as sampling_report
from .grid import Grid as Grid

# subpackages imported on first attribute access (``photonn.freespace`` ...)
SUBPACKAGES = (
    "freespace",
    "onchip",
    "circuits",
    "functional",
    "activations",
    "encoding",
    "data",
    "devices",
    "reuse",
    "models",
    "training",
    "runs",
    "export",
    "plotting",
)


def _available() -> list[str]:
    # find_spec locates a subpackage without importing it
    return [n for n in SUBPACKAGES if importlib.util.find_spec(f"{__name__}.{n}") is not None]


__all__ = [
    "Grid",
    "SamplingReport",
    "SamplingWarning",
    "__version__",
    "propagate",
    "sampling_report",
    "units",
    *_available(),
]


def __getattr__(name: str):
    if name in SUBPACKAGES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the subpackage exists but one of its own imports is missing
            raise AttributeError(
                f"module 'photonn' has no subpackage {name!r} in this version "
                f"(photonn.{name} is not installed)"
            ) from None
        globals()[name] = module
        return module
    raise AttributeError(f"module 'photonn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

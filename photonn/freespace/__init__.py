"""Free-space optical elements as ``nn.Module``s bound to a :class:`photonn.Grid`."""

from .propagator import Propagator as Propagator

"""photonn: differentiable simulation of physical (optical) neural networks.

The public top level is small; everything else lives in subpackages
(``photonn.freespace``, ``photonn.functional``, ...).
"""

from . import units as units
from ._version import __version__ as __version__
from .functional.propagation import SamplingWarning as SamplingWarning
from .functional.propagation import propagate as propagate
from .functional.sampling import SamplingReport as SamplingReport
from .functional.sampling import sampling_report as sampling_report
from .grid import Grid as Grid

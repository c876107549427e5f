"""Time-multiplexed reuse of physical layers: ReLaX-Net (Tsuchiyama et al., arXiv 2511.00044).

Physical networks have few trainable elements and those are slow to change
(thermo-optic phase shifters: microseconds; liquid-crystal SLMs: milliseconds),
while their switches are fast (nanoseconds). :class:`ReLaX` reuses a small bank
of ``L_W`` layers in a switched schedule of effective depth ``T = L_W * L_T``:
pass ``t`` sends the state through bank layer ``s(t)``. The slow weights are
shared by every pass that uses them (their gradient is the sum over those
passes: backpropagation through time); cheap *fast* elements (a bias, a gain,
the parameter of a nonlinearity) may differ per pass.

One file per concept:

* :mod:`~photonn.reuse.schedule`: :func:`relax_schedule`, the bank layer of every pass;
* :mod:`~photonn.reuse.engine`: :class:`ReLaX` (its public :meth:`ReLaX.step` applies
  one pass);
* :mod:`~photonn.reuse.recomputation`: :func:`recompute`, passes run again in backward
  instead of stored;
* :mod:`~photonn.reuse.records`: :class:`GradientRecord`, per-pass gradient norms of
  a :meth:`ReLaX.recording` block;
* :mod:`~photonn.reuse.count`: :class:`ParameterCount`, bank and per-pass apart;
* :mod:`~photonn.reuse.switch`: :func:`switch_options` (switch loss and crosstalk of
  a device profile) and the crosstalk noise;
* :mod:`~photonn.reuse.latency`: :class:`Latency` and :func:`relax_latency`.

:class:`OpticalNonlinearity` (a device response between passes of an optical
bank) lives in :mod:`photonn.activations.optical_nonlinearity`; it is re-exported here.
"""

from ..activations.optical_nonlinearity import OpticalNonlinearity as OpticalNonlinearity
from .count import ParameterCount as ParameterCount
from .engine import ReLaX as ReLaX
from .latency import Latency as Latency
from .latency import relax_latency as relax_latency
from .recomputation import recompute as recompute
from .records import GradientRecord as GradientRecord
from .schedule import relax_schedule as relax_schedule
from .switch import switch_options as switch_options

__all__ = [
    "ReLaX",
    "ParameterCount",
    "OpticalNonlinearity",
    "relax_schedule",
    "switch_options",
    "Latency",
    "relax_latency",
    "recompute",
    "GradientRecord",
]

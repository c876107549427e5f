"""Photonic integrated circuits from netlists, in the frequency and the time domain.

- :class:`Circuit`: an instances / connections / ports netlist (dict, JSON, YAML with
  PyYAML) as an ``nn.Module``; :meth:`Circuit.s_matrix` gives ``(n_wl, n_ports,
  n_ports)``, ``S[:, out, in]`` over :attr:`Circuit.ports`, exact by eliminating the
  internal ports; settings can be trainable.
- :data:`MODELS`: the built-in components (``straight``, ``bend``, ``coupler``,
  ``mmi1x2``, ``mmi2x2``, ``y_branch``, ``crossing``, ``terminator``,
  ``phase_shifter``, ``mzi``, ``ring_allpass``, ``ring_add_drop``,
  ``grating_coupler``); :data:`EXPORT_MODELS` those of ``photonn.export``'s chip
  netlists (:func:`export_circuit`).
- :class:`TimeDomain`: the circuit driven by time-varying envelopes on a carrier.

Conventions: docs/circuits.md.
"""

from .circuit import Circuit, SingularCircuitError
from .models import EXPORT_MODELS, MODELS, REQUIRED, Model
from .netlist import Netlist, NetlistError, read_netlist
from .time_domain import Photodetector, TimeDomain, lowpass, symbols_to_envelope


def export_circuit(netlist, **kwargs) -> Circuit:
    """A :class:`Circuit` of a netlist written by ``photonn.export``
    (``chips/<chip>/netlist.json``): its components are :data:`EXPORT_MODELS`, and the
    mesh outputs the export leaves unconnected end in matched loads."""
    kwargs.setdefault("dangling", "terminate")
    return Circuit(netlist, models={**EXPORT_MODELS, **kwargs.pop("models", {})}, **kwargs)


__all__ = [
    "EXPORT_MODELS",
    "MODELS",
    "REQUIRED",
    "Circuit",
    "Model",
    "Netlist",
    "NetlistError",
    "Photodetector",
    "SingularCircuitError",
    "TimeDomain",
    "export_circuit",
    "lowpass",
    "read_netlist",
    "symbols_to_envelope",
]

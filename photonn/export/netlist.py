"""A chip as an instances / connections / ports netlist (``netlist.json``, SAX and
gdsfactory style), one optical circuit per SVD layer, each instance with its settings.

Ports of an ``mzi`` instance: ``in0``/``in1`` (upper/lower input), ``out0``/``out1``;
of a ``phase_shifter`` and an ``mzi_attenuator``: ``in0``, ``out0``.
"""

from __future__ import annotations

import math

from ..functional.mzi_mesh import mesh_layout
from .assign import join
from .chip import Chip, ElementChannels, channel_lists

__all__ = ["netlist"]

INFO = {
    "format": "instances/connections/ports netlist (SAX, gdsfactory style)",
    "ports": "mzi: in0/in1 upper/lower input, out0/out1; others: in0, out0",
    "note": (
        "between SVD layers the signal is detected and re-modulated electronically "
        "(not an optical connection); unused mesh outputs beyond the attenuators end "
        "unconnected"
    ),
}


class _Paths:
    """The optical path of each mode through one element: its first input port
    (``head``), its last output port (``tip``) and the connections in between."""

    def __init__(self, connections: dict):
        self.head: dict[int, str] = {}
        self.tip: dict[int, str] = {}
        self.connections = connections

    def add(self, mode: int, inst: str, port: str = "0") -> None:
        """Append port ``port`` of instance ``inst`` to the path of ``mode``."""
        if mode in self.tip:
            self.connections[self.tip[mode]] = f"{inst},in{port}"
        else:
            self.head[mode] = f"{inst},in{port}"
        self.tip[mode] = f"{inst},out{port}"


def _half_angle(ch: dict, i: int) -> float:
    """The MZI angle [rad] of internal shifter ``i`` (it holds twice the angle)."""
    return ch["phase_rad"][i] / 2 + math.pi * ch["branch"][i]


def _one_shifter(ch: dict, i: int, component: str, key: str, value: float) -> dict:
    """The instance of a one-port-pair component driven by shifter ``i``."""
    settings = {"mode": ch["mzi"][i], key: value}
    return {
        "component": component,
        "settings": {**settings, "channel": ch["channel"][i], "dac_code": ch["dac_code"][i]},
    }


def _mesh(e: ElementChannels, ch: dict, rows: range, instances: dict, paths: _Paths) -> None:
    tops: dict[int, dict[str, int]] = {}
    for i in rows:
        if ch["shifter"][i] in ("theta", "phi"):
            tops.setdefault(ch["mzi"][i], {})[ch["shifter"][i]] = i
    lay = mesh_layout(e.modes, e.layout)
    for k, (c, m) in enumerate(zip(lay.columns, lay.tops)):
        inst = f"{e.name}/mzi{k}"
        ti, pi_ = tops[k]["theta"], tops[k]["phi"]
        instances[inst] = {
            "component": "mzi",
            "settings": {
                "column": c,
                "modes": [m, m + 1],
                "theta_rad": _half_angle(ch, ti),
                "phi_rad": ch["phase_rad"][pi_],
                "heater_theta_channel": ch["channel"][ti],
                "heater_phi_channel": ch["channel"][pi_],
                "dac_code_theta": ch["dac_code"][ti],
                "dac_code_phi": ch["dac_code"][pi_],
            },
        }
        paths.add(m, inst, "0")
        paths.add(m + 1, inst, "1")
    for i in rows:
        if ch["shifter"][i] == "output":
            mode = ch["mzi"][i]
            inst = f"{e.name}/out{mode}"
            instances[inst] = _one_shifter(ch, i, "phase_shifter", "phase_rad", ch["phase_rad"][i])
            paths.add(mode, inst)


def _attenuators(e: ElementChannels, ch: dict, rows: range, instances: dict, paths: _Paths):
    for i in rows:
        k = ch["mzi"][i]
        inst = f"{e.name}/att{k}"
        angle = _half_angle(ch, i)
        instances[inst] = _one_shifter(ch, i, "mzi_attenuator", "attenuation_theta_rad", angle)
        paths.add(k, inst)


def _svd_prev(name: str, last_out: dict):
    """The outputs of the element feeding ``name`` optically inside one SVD layer
    (mesh_in -> attenuators -> mesh_out), or None."""
    base, _, sub = name.rpartition(".")
    prev = {"attenuators": "mesh_in", "mesh_out": "attenuators"}.get(sub)
    if prev is None:
        return None
    return last_out.get(join(base, prev))


def netlist(chip: Chip) -> dict:
    """The netlist of ``chip`` (see the module docstring)."""
    ch = channel_lists(chip)
    instances, connections, ports = {}, {}, {}
    last_out: dict[str, dict[int, str]] = {}  # element -> mode -> "inst,port" of its last output
    for e in chip.elements:
        rows = range(e.first_channel, e.first_channel + e.channels)
        paths = _Paths(connections)
        (_mesh if e.kind == "mesh" else _attenuators)(e, ch, rows, instances, paths)
        prev = _svd_prev(e.name, last_out)
        for mode in range(e.modes):
            if prev is not None and mode in prev:
                connections[prev[mode]] = paths.head[mode]
            elif e.kind == "mesh" and mode in paths.head:
                ports[f"{e.name}.in{mode}"] = paths.head[mode]
        last_out[e.name] = paths.tip
        if e.kind == "mesh" and e.name.rpartition(".")[2] != "mesh_in":
            # the outputs of mesh_in feed the attenuators
            for mode, p in paths.tip.items():
                ports[f"{e.name}.out{mode}"] = p
    return {
        "instances": instances,
        "connections": connections,
        "ports": ports,
        "info": {"chip": chip.name, **INFO},
    }

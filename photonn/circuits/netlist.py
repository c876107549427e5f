"""Reading and validating instances / connections / ports netlists.

The form is the one gdsfactory and sax use, and the one ``photonn.export`` writes::

    {
      "instances": {"dc1": {"component": "coupler", "settings": {"coupling": 0.3}}, ...},
      "connections": {"dc1,o3": "wg,o1", ...},
      "ports": {"in": "dc1,o1", ...}
    }

``connections`` may instead be a list of ``["a,p", "b,q"]`` pairs, or gdsfactory's
``nets`` list of ``{"p1": "a,p", "p2": "b,q"}``; an instance may be a bare component
name. Other top-level keys (``placements``, ``info``, ...) are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NetlistError", "Netlist", "read_netlist"]


class NetlistError(ValueError):
    """A netlist that cannot describe a circuit (the message names the place and the fix)."""


@dataclass(frozen=True)
class Netlist:
    """A parsed netlist: ``instances`` name -> (component, settings dict),
    ``connections`` list of ``((inst, port), (inst, port))``, ``ports`` external name ->
    ``(inst, port)`` in the netlist's order."""

    instances: dict
    connections: list
    ports: dict


def _load(source) -> dict:
    if isinstance(source, dict):
        return source
    if isinstance(source, (str, Path)):
        text = str(source)
        if isinstance(source, str) and text.lstrip().startswith("{"):
            return json.loads(text)
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"netlist file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ModuleNotFoundError:
                raise ModuleNotFoundError(
                    f"reading the YAML netlist {str(path)!r} needs PyYAML, which photonn does "
                    "not depend on: `pip install pyyaml`, or convert the netlist to JSON"
                ) from None
            return yaml.safe_load(path.read_text())
        if suffix == ".json":
            return json.loads(path.read_text())
        raise NetlistError(f"netlist file {str(path)!r}: expected a .json, .yaml or .yml file")
    raise TypeError(
        f"a netlist is a dict, a JSON string or a .json/.yaml path, got {type(source).__name__}"
    )


def _endpoint(text, where: str) -> tuple[str, str]:
    if not isinstance(text, str) or text.count(",") < 1:
        raise NetlistError(
            f"{where}: {text!r} is not an 'instance,port' reference (write e.g. 'dc1,o2')"
        )
    inst, _, port = text.rpartition(",")
    return inst.strip(), port.strip()


def read_netlist(source) -> Netlist:
    """Parse a netlist from a dict, a JSON string, or a ``.json`` / ``.yaml`` file.

    YAML needs PyYAML (not a photonn dependency); without it the error says
    ``pip install pyyaml``.
    """
    raw = _load(source)
    if not isinstance(raw, dict) or "instances" not in raw:
        raise NetlistError("a netlist needs an 'instances' mapping (and 'connections', 'ports')")
    instances = {}
    for name, spec in raw["instances"].items():
        if isinstance(spec, str):
            spec = {"component": spec}
        if not isinstance(spec, dict) or "component" not in spec:
            raise NetlistError(
                f"instance {name!r} must name its component: {{'component': 'straight', "
                f"'settings': {{...}}}}, got {spec!r}"
            )
        comp = spec["component"]
        settings = dict(spec.get("settings") or {})
        instances[str(name)] = (comp, settings)
    conns = []
    rc = raw.get("connections") or {}
    if isinstance(rc, dict):
        pairs = list(rc.items())
    else:
        pairs = [tuple(p) for p in rc]
    for p in raw.get("nets") or []:
        pairs.append((p["p1"], p["p2"]))
    for a, b in pairs:
        conns.append((_endpoint(a, "connection"), _endpoint(b, "connection")))
    ports = {}
    for ext, ref in (raw.get("ports") or {}).items():
        ports[str(ext)] = _endpoint(ref, f"external port {ext!r}")
    if not ports:
        raise NetlistError("the netlist has no external 'ports': name at least one")
    return Netlist(instances, conns, ports)

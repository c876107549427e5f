"""The latency of switched reuse against reprogramming the weights at every pass."""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import positive_int
from ..devices import resolve_profile
from ._args import nonnegative

__all__ = ["Latency", "relax_latency"]

TIMES = ("t_mm", "t_switch", "t_update", "t_state")


@dataclass(frozen=True)
class Latency:
    """Seconds per inference of ``depth`` passes.

    With ReLaX each pass costs ``t_mm + max(t_switch, t_state)``: the light crosses
    the bank layer (``t_mm``), then the switch reroutes it while the state is
    held/converted (``t_state``). Reprogramming one physical layer at every pass
    instead costs ``t_mm + max(t_update, t_state)``.
    """

    depth: int
    t_mm: float
    t_switch: float
    t_update: float
    t_state: float

    @property
    def relax(self) -> float:
        """[s] per inference with switched reuse."""
        return self.depth * (self.t_mm + max(self.t_switch, self.t_state))

    @property
    def reprogram(self) -> float:
        """[s] per inference with the weights rewritten at every pass."""
        return self.depth * (self.t_mm + max(self.t_update, self.t_state))

    @property
    def speedup(self) -> float:
        """``reprogram / relax``."""
        return self.reprogram / self.relax


def relax_latency(profile, depth: int, **times) -> Latency:
    """The :class:`Latency` of ``depth`` passes on the platform of a device profile.

    From the profile (SI): ``pass_time`` (``t_mm``), ``switch_time`` (``t_switch``),
    ``state_time`` (``t_state``) and the update time ``t_update``: an
    ``mzi_platform``'s ``response_time`` (heater settling), an ``slm``'s
    ``response_time`` when it has one, else one frame ``1 / frame_rate`` (a lower
    bound: the liquid crystal may settle more slowly). Keywords ``t_mm``,
    ``t_switch``, ``t_update``, ``t_state`` [s] override the profile.
    """
    prof = resolve_profile(profile)
    depth = positive_int(depth, "depth")
    unknown = set(times) - set(TIMES)
    if unknown:
        raise TypeError(f"unknown times {sorted(unknown)}; use {', '.join(TIMES)}")
    update = prof.get("response_time")
    if update is None and prof.get("frame_rate"):
        update = 1.0 / float(prof["frame_rate"])
    from_profile = {
        "t_mm": prof.get("pass_time"),
        "t_switch": prof.get("switch_time"),
        "t_update": update,
        "t_state": prof.get("state_time"),
    }
    vals = {k: times.get(k, from_profile[k]) for k in TIMES}
    missing = [k for k, v in vals.items() if v is None]
    if missing:
        raise ValueError(
            f"profile {prof.name!r} lacks the times {missing} (keys pass_time_ns, "
            "switch_time_ns, state_time_ns, response_time_us or frame_rate_hz); pass "
            "them as keywords [s]"
        )
    return Latency(depth, **{k: nonnegative(v, k, "s") for k, v in vals.items()})

"""Run-configuration fields shared by the models whose devices take a codesign quantiser."""

from __future__ import annotations

from .._spec import option


def anneal_option(end: str):
    """The ``anneal_start`` / ``anneal_end`` field (``end``: ``"start"`` or ``"end"``): the
    Gumbel temperature or staircase steepness at that end of training, unset for the
    quantiser's own default (:mod:`photonn.functional.quantizers`)."""
    default = {"start": "1 / 1", "end": "0.05 / 100"}[end]
    return option(
        None,
        f"Gumbel temperature / staircase steepness at the {end} of training (unset: {default})",
        gt=0,
    )

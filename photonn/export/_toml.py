"""The manifest's TOML writer: :mod:`photonn._toml`, photonn's one TOML writer."""

from .._toml import dumps as dumps

__all__ = ["dumps"]

"""Deprecated module path: ``photonn.export.core`` was split into one module per concept.

Import from :mod:`photonn.export` instead (``export``, ``load``, ``plan_export``,
``quantized_model``, ``read_manifest``, ``read_channels``, ``summary``, ...). The
names below keep working here, with a ``DeprecationWarning`` on import.
"""

from __future__ import annotations

import warnings

from .channels import read_channels as read_channels
from .manifest import BUNDLE as BUNDLE
from .manifest import CONVENTIONS as CONVENTIONS
from .manifest import FORMAT as FORMAT
from .manifest import MANIFEST as MANIFEST
from .manifest import SCHEMA_VERSION as SCHEMA_VERSION
from .manifest import read_manifest as read_manifest
from .manifest import summary as summary
from .plan import ExportPlan as ExportPlan
from .plan import plan_export as plan_export
from .plan import quantized_model as quantized_model
from .rebuild import load as load
from .write import export as export
from .write import hooks as hooks

warnings.warn(
    "photonn.export.core is deprecated: import these names from photonn.export "
    "(the module was split into photonn.export.plan, .write, .rebuild, .manifest, ...)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "SCHEMA_VERSION",
    "MANIFEST",
    "BUNDLE",
    "ExportPlan",
    "plan_export",
    "export",
    "load",
    "quantized_model",
    "read_manifest",
    "read_channels",
    "summary",
]

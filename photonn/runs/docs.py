"""Write the configuration reference: ``python -m photonn.runs.docs [OUT]`` (default: stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from .._io import atomic_write_text
from .config import config_reference


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = config_reference()
    if argv:
        atomic_write_text(Path(argv[0]), text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``python -m photonn`` is the ``photonn`` command (e.g. under ``torchrun -m photonn``)."""

import sys

from .cli import main

sys.exit(main())

"""photonn's benchmarks: timing against bare PyTorch and peer libraries, in one process.

``python -m benchmarks`` runs them all and writes ``benchmarks/results/<name>.md``;
each one also runs alone (``python -m benchmarks.<name>`` or
``python benchmarks/<name>.py``). See ``python -m benchmarks --help``.
"""

BENCHMARKS = (
    "propagation",
    "d2nn",
    "mesh",
    "multivariate",
    "coupled_mode",
    "distributed",
    "polarization",
)

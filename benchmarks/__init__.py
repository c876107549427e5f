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
    "coherence",
    "scaling",
)
# Benchmarks ``python -m benchmarks`` does not run, and why: each runs alone.
RUN_ALONE = {
    "circuits": "CPU only (no --device, --quick): its peer, sax, runs on JAX's own devices; "
    "run it with the peer venv's python",
    "structured_mesh": "CPU only, no --quick: the butterfly against Clements at two sizes; "
    "the scaling benchmark's mesh curve covers the same meshes over N = 16..512",
    "mesh_path": "a diagnostic of one decision (functional.mzi_mesh.prefer_matrix: columns "
    "or matrix, by batch) at one N, CPU only",
    "recompute": "memory from Linux /proc (VmHWM) in a fresh process per point, CPU only, "
    "minutes per model; run it per model (--model d2nn, relax, mlp)",
    "circuits_time": "against photontorch: run it with the peer venv's python (skips "
    "without the peer); CPU only, float64",
    "lightridge_quant": "against LightRidge: the peer venv's python and the MNIST "
    "directory (--data-dir); trains small networks for minutes",
    "peers_structured_mesh": "against neurophox: the peer venv's python (skips without "
    "the peer); CPU only",
    "peers_torchonn_morr": "against torchonn, which installs only from its source into a "
    "venv of its own (the script's INSTALL text); CPU only",
    "svetlanna_4f": "against SVETlANNa: the peer venv's python (skips without the peer)",
}

"""An MZI mesh written as a netlist by ``photonn.export`` evaluates to the mesh's matrix."""

from __future__ import annotations

import json

import torch

from photonn import export as E
from photonn.circuits import export_circuit
from photonn.devices import load_profile, profile_from_values
from photonn.functional.unitary import haar_unitary
from photonn.models import PhotonicMLP


def _profile():
    return profile_from_values(
        dict(load_profile("si_thermo_optic_mzi").values), "mzi_platform", name="mzi_test"
    )


def _netlist(model, tmp_path):
    out = E.export(model, tmp_path / "ex", _profile())
    return json.loads((out / "chips" / "mzi_test" / "netlist.json").read_text())


def _block(c, S, prefix_in, prefix_out):
    ins = [k for k, p in enumerate(c.ports) if p.startswith(prefix_in)]
    outs = [k for k, p in enumerate(c.ports) if p.startswith(prefix_out)]
    return S[..., outs, :][..., ins]


def test_mesh_netlist_equals_mzimesh_matrix(tmp_path):
    """A 5-mode layer whose attenuators pass everything and whose output mesh is the
    identity: the optical circuit is the input mesh alone. The netlist carries the
    phases as float64 text, so the agreement is at rounding level (1e-12)."""
    g = torch.Generator().manual_seed(3)
    model = PhotonicMLP((5, 5), "abs", dtype=torch.complex128).eval()
    layer = model.layers[0]
    with torch.no_grad():
        layer.mesh_in.program(haar_unitary(5, g, dtype=torch.complex128))
        layer.attenuation_theta.zero_()
    c = export_circuit(_netlist(model, tmp_path))
    S = c.s_matrix(torch.tensor([1.31e-6, 1.55e-6], dtype=torch.float64))
    U = layer.mesh_in.matrix().detach()
    assert torch.allclose(layer.mesh_out.matrix().detach(), torch.eye(5, dtype=U.dtype))
    T = _block(c, S, "layers.0.mesh_in.in", "layers.0.mesh_out.out")
    assert (T - U).abs().max() < 1e-12
    # reciprocity of the chip: the backward block is the transpose
    B = _block(c, S, "layers.0.mesh_out.out", "layers.0.mesh_in.in")
    assert (B - U.transpose(-1, -2)).abs().max() < 1e-12


def test_svd_layers_netlist_equals_the_layer_matrices(tmp_path):
    """Every SVD layer of a two-layer network (meshes, attenuators, meshes) equals
    ``layer.matrix() / scale``; the unused outputs of the first mesh end in loads."""
    g = torch.Generator().manual_seed(0)
    model = PhotonicMLP((6, 4, 3), "abs", generator=g, dtype=torch.complex128)
    with torch.no_grad():
        for layer in model.layers:
            layer.mesh_in.program(haar_unitary(layer.in_features, g))
            layer.mesh_out.program(haar_unitary(layer.out_features, g))
            layer.attenuation_theta.uniform_(-1.5, 1.5, generator=g)
    model.eval()
    c = export_circuit(_netlist(model, tmp_path))
    S = c.s_matrix(1.55e-6)[0]
    for i, layer in enumerate(model.layers):
        W = (layer.matrix() / layer.scale).detach()
        T = _block(c, S, f"layers.{i}.mesh_in.in", f"layers.{i}.mesh_out.out")
        assert T.shape == W.shape
        assert (T - W).abs().max() < 1e-12

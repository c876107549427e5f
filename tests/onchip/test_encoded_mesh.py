"""EncodedMesh and mzi_mesh_batched: data written into a mesh's phase shifters, K slots.

Physics references are in complex128: one mesh of depth L accumulates ~L ulps
(eps = 2.2e-16), so per-sample meshes are compared with the dense matrices of
``mzi_mesh_matrix`` (an independent path: blocks of columns multiplied by GEMMs)
to 1e-12.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call

from photonn.functional.mzi_mesh import (
    clements_layout,
    mzi_mesh_batched,
    mzi_mesh_matrix,
    reck_layout,
)
from photonn.onchip import DAC, EncodedMesh, MeshImperfections

C128, F64 = torch.complex128, torch.float64
LAYOUTS = {"clements": clements_layout, "reck": reck_layout}


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def make(n=4, D=6, **kw):
    kw.setdefault("generator", gen())
    return EncodedMesh(n, in_features=D, **kw)


def dense_batched(x, theta, phi, alpha, layout, ce=None, loss=None):
    """Per-sample reference: the dense matrix of every sample's mesh, then ``U x``."""
    out = []
    for s in range(theta.shape[0]):
        a = None if alpha is None else alpha[s]
        U = mzi_mesh_matrix(theta[s], phi[s], a, layout, ce, loss)
        out.append(U @ x[s])
    return torch.stack(out)


def random_batch(layout, B, g, errors=False):
    m, n = layout.n_mzi, layout.n_modes
    th = 2 * math.pi * torch.rand(B, m, generator=g, dtype=F64)
    ph = 2 * math.pi * torch.rand(B, m, generator=g, dtype=F64)
    al = 2 * math.pi * torch.rand(B, n, generator=g, dtype=F64)
    x = torch.randn(B, n, generator=g, dtype=C128)
    ce = loss = None
    if errors:
        ce = 0.05 * torch.randn(m, 2, generator=g, dtype=F64)
        loss = 0.3 * torch.rand(m, 2, generator=g, dtype=F64)
    return x, th, ph, al, ce, loss


# -- the pure function: per-sample meshes ---------------------------------------------------


@pytest.mark.parametrize("name", ["clements", "reck"])
@pytest.mark.parametrize("n", [1, 2, 5, 8])
@pytest.mark.parametrize("errors", [False, True])
def test_batched_mesh_equals_per_sample_dense_matrices(name, n, errors):
    layout = LAYOUTS[name](n)
    x, th, ph, al, ce, loss = random_batch(layout, 5, gen(n), errors)
    y = mzi_mesh_batched(x, th, ph, al, layout, ce, loss)
    ref = dense_batched(x, th, ph, al, layout, ce, loss)
    assert y.shape == (5, n) and y.dtype == C128
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)


def test_batched_mesh_broadcasts_one_field_and_one_screen_over_the_batch():
    layout = clements_layout(6)
    x, th, ph, al, _, _ = random_batch(layout, 6, gen(1))
    th, ph = th.view(2, 3, -1), ph.view(2, 3, -1)
    y = mzi_mesh_batched(x[0], th, ph, al[0], layout)  # x (N,), screen (N,)
    assert y.shape == (2, 3, 6)
    ref = dense_batched(
        x[0].expand(6, 6), th.reshape(6, -1), ph.reshape(6, -1), al[0].expand(6, 6), layout
    )
    torch.testing.assert_close(y.reshape(6, 6), ref, rtol=0, atol=1e-12)
    # no output screen
    y0 = mzi_mesh_batched(x, th.reshape(6, -1), ph.reshape(6, -1), None, layout)
    torch.testing.assert_close(
        y0,
        dense_batched(x, th.reshape(6, -1), ph.reshape(6, -1), None, layout),
        rtol=0,
        atol=1e-12,
    )


def test_batched_mesh_is_unitary_per_sample_and_complex64_close():
    layout = clements_layout(16)
    x, th, ph, al, _, _ = random_batch(layout, 64, gen(2))
    y = mzi_mesh_batched(x, th, ph, al, layout)
    torch.testing.assert_close(
        y.abs().square().sum(-1), x.abs().square().sum(-1), rtol=1e-13, atol=0
    )
    y32 = mzi_mesh_batched(x.to(torch.complex64), th.float(), ph.float(), al.float(), layout)
    # complex64: ~L = 16 columns of rounding at eps 6e-8, relative to |x| ~ 4
    assert (y32.to(C128) - y).abs().max() < 2e-5


def test_batched_mesh_empty_batch():
    layout = clements_layout(4)
    th = torch.zeros(0, layout.n_mzi, dtype=F64)
    y = mzi_mesh_batched(torch.ones(4, dtype=C128), th, th, None, layout)
    assert y.shape == (0, 4)


def test_batched_mesh_gradcheck():
    layout = reck_layout(3)
    x, th, ph, al, ce, loss = random_batch(layout, 2, gen(3), errors=True)
    args = [t.clone().requires_grad_() for t in (x, th, ph, al)]

    def f(x, th, ph, al):
        return mzi_mesh_batched(x, th, ph, al, layout, ce, loss)

    assert torch.autograd.gradcheck(f, args)
    layout = clements_layout(4)
    x, th, ph, al, _, _ = random_batch(layout, 3, gen(4))
    args = [t.clone().requires_grad_() for t in (x, th, ph, al)]
    assert torch.autograd.gradcheck(lambda *a: mzi_mesh_batched(*a, layout), args)


def test_batched_mesh_gradients_equal_the_dense_path():
    """The hand-written backward against autograd through the dense matrices (N = 8)."""
    layout = clements_layout(8)
    x, th, ph, al, ce, loss = random_batch(layout, 4, gen(5), errors=True)
    w = torch.randn(4, 8, generator=gen(6), dtype=F64)
    grads = []
    for fn in (mzi_mesh_batched, dense_batched):
        args = [t.clone().requires_grad_() for t in (x, th, ph, al)]
        y = fn(*args, layout, ce, loss)
        (w * y.abs().square()).sum().backward()
        grads.append([a.grad for a in args])
    for g1, g2 in zip(*grads):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-11)


def test_batched_mesh_exceptions():
    layout = clements_layout(4)
    th = torch.zeros(2, 6, dtype=F64)
    x = torch.ones(2, 4, dtype=C128)
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\)"):
        mzi_mesh_batched(x, th[:, :5], th, None, layout)
    with pytest.raises(TypeError, match="real floating"):
        mzi_mesh_batched(x, th.to(C128), th, None, layout)
    with pytest.raises(TypeError, match="complex tensor"):
        mzi_mesh_batched(x.real, th, th, None, layout)
    with pytest.raises(TypeError, match="matching precision"):
        mzi_mesh_batched(x.to(torch.complex64), th, th, None, layout)
    with pytest.raises(ValueError, match="last dimension 4"):
        mzi_mesh_batched(x[:, :3], th, th, None, layout)
    with pytest.raises(ValueError, match="broadcast"):
        mzi_mesh_batched(torch.ones(3, 4, dtype=C128), th, th, None, layout)
    with pytest.raises(ValueError, match="output_phase"):
        mzi_mesh_batched(x, th, th, torch.zeros(2, 3, dtype=F64), layout)
    with pytest.raises(ValueError, match=r"coupler_error must have shape \(6, 2\)"):
        mzi_mesh_batched(x, th, th, None, layout, torch.zeros(5, 2, dtype=F64))


# -- EncodedMesh: smoke, shapes, exceptions ---------------------------------------------------


def test_smoke_and_shapes():
    mesh = make(4, 6, slots=2)
    assert mesh.phases_per_slot == 3 and mesh.effective_size == 6
    x = torch.rand(5, 6)
    theta, phi = mesh.phases(x)
    assert theta.shape == phi.shape == (5, 2, 6) and theta.dtype == torch.float32
    assert mesh.fields(x).shape == (5, 2, 4) and mesh.fields(x).dtype == torch.complex64
    assert mesh.intensity(x).shape == (5, 4)
    assert mesh(x).shape == (5, 4) and mesh(x).dtype == torch.float32
    assert mesh(x.view(5, 2, 3)).shape == (5, 4)  # (B, H, W) with H W = D
    assert "slots=2" in repr(mesh)
    out = make(4, 6, outputs=[3, 1])
    torch.testing.assert_close(out(x), out.intensity(x)[:, [3, 1]])
    aff = make(4, 6, outputs=3, readout="affine", num_classes=2, dtype=C128)
    assert aff(x.double()).shape == (5, 2) and aff(x.double()).dtype == F64
    assert aff.electronic_parameters == 2 * 3 + 2


def test_parameters_and_sizes():
    mesh = make(16, 196, slots=7, integrate="coherent")
    m = 120
    assert mesh.gain.shape == (7, 28) and mesh.theta_bias.shape == (7, m)
    assert mesh.output_phase.shape == (7, 16) and mesh.source.shape == (16, 2)
    assert make(4, 6).output_phase is None
    rep = mesh.size_report()
    assert rep["effective_size"] == 7 * 28 == 196
    assert rep["mzis"] == m and rep["modes"] == 16 and rep["phase_shifters"] == 2 * m + 16
    assert rep["optical_parameters"] == 7 * 28 + 2 * 7 * m + 32 + 7 * 16
    r = make(16, 196, slots=13, assign="replicate")
    assert r.effective_size == 13 * 196 and r.physical_phase_shifters == 240
    assert make(16, 196, slots=13).phases_per_slot == 16  # ceil(196 / 13), 12 pads
    assert make(6, 10, encode="theta", slots=1).encodable == 15


def test_exceptions():
    with pytest.raises(TypeError, match="generator"):
        EncodedMesh(4, in_features=6)
    with pytest.raises(ValueError, match="encode"):
        make(encode="amplitude")
    with pytest.raises(ValueError, match="assign"):
        make(assign="tile")
    with pytest.raises(ValueError, match="integrate"):
        make(integrate="sum")
    with pytest.raises(ValueError, match="readout"):
        make(readout="softmax")
    with pytest.raises(ValueError, match="do not fit.*12 encodable"):
        make(4, 13)  # 13 > 2 * 6 shifters
    with pytest.raises(ValueError, match="6 encodable.*encode='theta'"):
        make(4, 8, slots=1, encode="theta")
    with pytest.raises(ValueError, match="must be 6"):
        make(4, 6, assign="replicate", phases_per_slot=3)
    with pytest.raises(ValueError, match="unwritten"):
        make(4, 6, slots=2, phases_per_slot=2)
    with pytest.raises(ValueError, match="only\\s+padding"):
        make(4, 6, slots=3, phases_per_slot=5)
    with pytest.raises(ValueError, match="outputs"):
        make(outputs=5)
    with pytest.raises(ValueError, match="distinct"):
        make(outputs=[1, 1])
    with pytest.raises(ValueError, match="distinct mode indices in 0 .. 3"):
        make(outputs=[0, 4])
    with pytest.raises(ValueError, match="num_classes"):
        make(num_classes=3)
    with pytest.raises(ValueError, match="needs num_classes"):
        make(readout="affine")
    with pytest.raises(ValueError, match="gain_std"):
        make(gain_std=-1.0)
    mesh = make()
    with pytest.raises(TypeError, match="real floating"):
        mesh(torch.ones(2, 6, dtype=torch.complex64))
    with pytest.raises(TypeError, match="255"):
        mesh(torch.ones(2, 6, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(batch, 6\)"):
        mesh(torch.ones(2, 5))
    with pytest.raises(TypeError, match="imaginary"):
        mesh.to(torch.float32)
    with pytest.raises(ValueError, match=r"\(6, 2\)"):
        mesh.imperfections = MeshImperfections(coupler_error=torch.zeros(5, 2))
    with pytest.raises(ValueError, match=">= 0 dB"):
        mesh.imperfections = MeshImperfections(arm_loss_db=-torch.ones(6, 2))
    with pytest.raises(ValueError, match="response_time"):
        mesh.time_per_inference()
    with pytest.raises(ValueError, match="expected kind"):
        EncodedMesh.from_profile("holoeye_pluto2", n_modes=4, in_features=6, generator=gen())


# -- physics ---------------------------------------------------------------------------------


def test_encoded_phases_are_a_x_plus_b_at_spread_positions():
    for encode, assign, K in (("both", "split", 3), ("theta", "replicate", 2), ("phi", "split", 2)):
        mesh = make(
            5, 9 if assign == "split" else 6, slots=K, encode=encode, assign=assign, dtype=C128
        )
        D, P, m = mesh.in_features, mesh.phases_per_slot, mesh.n_mzi
        x = torch.rand(3, D, dtype=F64, generator=gen(1))
        t0, p0 = mesh.phases(torch.zeros(1, D, dtype=F64))
        torch.testing.assert_close(t0[0], mesh.theta_bias.detach())
        torch.testing.assert_close(p0[0], mesh.phi_bias.detach())
        t, p = mesh.phases(x)
        delta = torch.cat([t - t0, p - p0], -1).detach()  # (B, K, 2m)
        idx = mesh.encoded_index
        assert len(set(idx.tolist())) == P  # distinct shifters
        if encode == "theta":
            assert idx.max() < m
        if encode == "phi":
            assert idx.min() >= m
        assert (delta.abs().sum(-1) > 0).all()
        others = torch.ones(2 * m, dtype=torch.bool)
        others[idx] = False
        assert (delta[..., others] == 0).all()
        for k in range(K):
            if assign == "split":
                want = torch.zeros(3, P, dtype=F64)
                chunk = x[:, k * P : (k + 1) * P]
                want[:, : chunk.shape[1]] = chunk
            else:
                want = x
            torch.testing.assert_close(
                delta[:, k, idx], mesh.gain[k].detach() * want, rtol=0, atol=1e-14
            )


def test_both_interleaves_theta_and_phi_over_the_whole_depth():
    mesh = make(16, 196, slots=13)  # P = 16 of 240 shifters
    idx = mesh.encoded_index
    m = mesh.n_mzi
    mzi = torch.where(idx < m, idx, idx - m)
    cols = torch.tensor(mesh.layout.columns)[mzi]
    assert (idx < m).any() and (idx >= m).any()
    assert cols.min() == 0 and cols.max() >= mesh.layout.n_columns - 2  # data at every depth


def test_fields_equal_dense_per_slot_meshes():
    for integrate in ("incoherent", "coherent"):
        errors = MeshImperfections(
            coupler_error=0.05 * torch.randn(10, 2, generator=gen(2), dtype=F64),
            arm_loss_db=torch.full((10, 2), 0.3, dtype=F64),
        )
        mesh = make(
            5, 7, slots=3, integrate=integrate, dtype=C128, layout="reck", imperfections=errors
        )
        x = torch.rand(4, 7, dtype=F64, generator=gen(3))
        theta, phi = mesh.phases(x)
        s = mesh.input_field()
        y = mesh.fields(x).detach()
        for b in range(4):
            for k in range(3):
                out = None if mesh.output_phase is None else mesh.output_phase[k]
                U = mzi_mesh_matrix(
                    theta[b, k], phi[b, k], out, mesh.layout, mesh.coupler_error, mesh.arm_loss_db
                )
                torch.testing.assert_close(y[b, k], (U @ s).detach(), rtol=0, atol=1e-12)
        I = mesh.intensity(x).detach()
        want = (y.abs() ** 2).mean(1) if integrate == "incoherent" else y.sum(1).abs() ** 2 / 3
        torch.testing.assert_close(I, want, rtol=1e-13, atol=0)


def test_energy_lossless_conserved_lossy_attenuated():
    mesh = make(6, 10, slots=2, dtype=C128)
    x = torch.rand(8, 10, dtype=F64, generator=gen(4))
    power = mesh.input_field().abs().square().sum().detach()
    I = mesh.intensity(x).detach()
    torch.testing.assert_close(I.sum(-1), power.expand(8), rtol=1e-13, atol=0)
    lossy = EncodedMesh.from_profile(
        "si_thermo_optic_mzi", n_modes=6, in_features=10, slots=2, generator=gen(), dtype=C128
    )
    Il = lossy.intensity(x).detach().sum(-1)
    depth = lossy.layout.n_columns  # at most this many MZIs on any path, 0.3 dB each
    assert (Il < power).all() and (Il >= power * 10 ** (-0.3 * depth / 10) * (1 - 1e-12)).all()


def test_coherent_slots_interfere_incoherent_slots_add():
    """K identical slots: coherent gives K times the incoherent intensity; two slots whose
    output screens differ by pi cancel; incoherent is the same whatever the screens."""
    K = 3
    coh = make(5, 4, slots=K, assign="replicate", integrate="coherent", dtype=C128)
    inc = make(5, 4, slots=K, assign="replicate", integrate="incoherent", dtype=C128)
    with torch.no_grad():
        for mesh in (coh, inc):
            for p in (mesh.gain, mesh.theta_bias, mesh.phi_bias):
                p.copy_(p[:1].expand_as(p))
        coh.source.copy_(inc.source)
        coh.output_phase.copy_(coh.output_phase[:1].expand_as(coh.output_phase))
    x = torch.rand(6, 4, dtype=F64, generator=gen(5))
    torch.testing.assert_close(coh.intensity(x), K * inc.intensity(x), rtol=1e-12, atol=0)
    two = make(5, 4, slots=2, assign="replicate", integrate="coherent", dtype=C128)
    with torch.no_grad():
        for p in (two.gain, two.theta_bias, two.phi_bias):
            p.copy_(p[:1].expand_as(p))
        two.output_phase[1] = two.output_phase[0] + math.pi
    assert two.intensity(x).abs().max() < 1e-12


def test_one_slot_coherent_equals_incoherent():
    coh = make(5, 8, integrate="coherent", dtype=C128)
    inc = make(5, 8, dtype=C128)  # same generator: same draws up to the output screen
    x = torch.rand(4, 8, dtype=F64, generator=gen(6))
    torch.testing.assert_close(coh(x), inc(x), rtol=1e-12, atol=0)


def _mixed(mesh, x, i, j, h=0.5):
    e_i, e_j = torch.zeros_like(x), torch.zeros_like(x)
    e_i[:, i], e_j[:, j] = h, h
    f = mesh.intensity
    return (f(x + e_i + e_j) - f(x + e_i) - f(x + e_j) + f(x)).detach().abs().max()


def test_split_incoherent_is_additive_across_slots_coherent_couples_them():
    """Incoherent split integration is a sum of functions of the separate chunks: the mixed
    difference of two inputs written in different slots vanishes; within a slot, under
    coherent integration, or with replicas, it does not (the paper's non-degeneracy)."""
    x = torch.rand(3, 8, dtype=F64, generator=gen(7))
    inc = make(5, 8, slots=2, dtype=C128, gain_std=2.0)  # chunks x[0:4], x[4:8]
    assert _mixed(inc, x, 1, 6) < 1e-12
    assert _mixed(inc, x, 1, 2) > 1e-4
    coh = make(5, 8, slots=2, integrate="coherent", dtype=C128, gain_std=2.0)
    assert _mixed(coh, x, 1, 6) > 1e-4
    rep = make(5, 8, slots=2, assign="replicate", dtype=C128, gain_std=2.0)
    assert _mixed(rep, x, 1, 6) > 1e-4


def test_time_per_inference_from_the_profile():
    mesh = EncodedMesh.from_profile(
        "si_thermo_optic_mzi", n_modes=4, in_features=6, slots=3, generator=gen()
    )
    assert mesh.response_time == pytest.approx(3e-6)
    assert mesh.time_per_inference() == pytest.approx(9e-6)
    assert mesh.time_per_inference(slot_time=1e-9) == pytest.approx(3 * (3e-6 + 1e-9))
    assert make(slots=2).time_per_inference(1e-6) == pytest.approx(2e-6)
    assert mesh.arm_loss_db.unique().tolist() == [pytest.approx(0.3)]
    assert mesh.coupler_error is None
    e = EncodedMesh.from_profile(
        "si_thermo_optic_mzi", n_modes=4, in_features=6, error_generator=gen(1), generator=gen()
    )
    assert e.coupler_error.shape == (6, 2) and 0 < e.coupler_error.abs().max() < 0.2


def test_state_dict_round_trip():
    a = make(5, 8, slots=2, integrate="coherent", readout="affine", num_classes=3)
    b = make(5, 8, slots=2, integrate="coherent", readout="affine", num_classes=3, generator=gen(9))
    x = torch.rand(4, 8)
    assert (a(x) - b(x)).abs().max() > 1e-4
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def test_imperfections_are_one_value_replaced_not_toggled():
    errors = MeshImperfections(
        coupler_error=0.05 * torch.randn(6, 2, generator=gen(5), dtype=F64),
        arm_loss_db=torch.full((6, 2), 0.2, dtype=F64),
    )
    x = torch.rand(3, 6, dtype=F64, generator=gen(6))
    ideal = make(dtype=C128)
    built = make(dtype=C128, imperfections=errors)
    assert built.imperfections is errors and ideal.imperfections.is_ideal
    torch.testing.assert_close(built.coupler_error, errors.coupler_error, rtol=0, atol=0)
    assert (built(x) - ideal(x)).abs().max() > 1e-3
    # assignment, the context and the deprecated mutator all give the same mesh
    assigned = make(dtype=C128)
    assigned.imperfections = errors
    torch.testing.assert_close(assigned(x), built(x), rtol=0, atol=0)
    with assigned.using(MeshImperfections()):
        torch.testing.assert_close(assigned(x), ideal(x), rtol=0, atol=0)
    assert assigned.imperfections is errors
    torch.testing.assert_close(assigned(x), built(x), rtol=0, atol=0)
    old = make(dtype=C128)
    with pytest.warns(DeprecationWarning, match="mesh.imperfections"):
        old.set_errors(coupler_error=errors.coupler_error, arm_loss_db=errors.arm_loss_db)
    torch.testing.assert_close(old(x), built(x), rtol=0, atol=0)
    # a loaded state dict brings its errors into the value (complex64: the buffers are
    # float32 copies, not the value's own float64 tensors)
    stored = make(imperfections=errors)
    loaded = make(imperfections=errors.replace(coupler_error=torch.zeros(6, 2)))
    loaded.load_state_dict(stored.state_dict())
    torch.testing.assert_close(loaded.imperfections.coupler_error, stored.coupler_error.double())
    torch.testing.assert_close(loaded(x.float()), stored(x.float()), rtol=0, atol=0)


def test_imperfections_it_does_not_model_are_refused():
    for field, value in (
        ("crosstalk", 0.05),
        ("dac", DAC(8)),
        ("phase_noise_std", 0.01),
        ("theta_error", torch.zeros(6)),
        ("phi_error", torch.zeros(6)),
    ):
        kw = (
            {field: value, "noise_generator": gen()}
            if field == "phase_noise_std"
            else {field: value}
        )
        with pytest.raises(ValueError, match=f"models only coupler_error.*{field}.*MZIMesh"):
            make(imperfections=MeshImperfections(**kw))
    with pytest.raises(TypeError, match="MeshImperfections"):
        make().imperfections = {"coupler_error": torch.zeros(6, 2)}


# -- gradients ---------------------------------------------------------------------------------


def test_gradcheck_data_and_parameters():
    mesh = make(3, 4, slots=2, integrate="coherent", readout="affine", num_classes=2, dtype=C128)
    errors = MeshImperfections(coupler_error=0.05 * torch.randn(3, 2, generator=gen(1), dtype=F64))
    mesh.imperfections = errors
    x = torch.rand(2, 4, dtype=F64, generator=gen(2), requires_grad=True)
    assert torch.autograd.gradcheck(mesh, (x,))
    names = [n for n, _ in mesh.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in mesh.parameters()]

    def f(*ps):
        return functional_call(mesh, dict(zip(names, ps)), (x.detach(),))

    assert torch.autograd.gradcheck(f, params)


def test_trains_by_gradient_descent():
    """A few Adam steps on a two-class toy problem lower the cross-entropy."""
    g = gen(3)
    x = torch.rand(64, 6, generator=g)
    y = (x[:, 0] * x[:, 4] > 0.25).long()
    mesh = make(4, 6, slots=2, outputs=2, generator=gen(4))
    opt = torch.optim.Adam(mesh.parameters(), lr=0.05)

    def loss():
        return torch.nn.functional.cross_entropy(mesh(x), y)

    before = loss().item()
    for _ in range(40):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < 0.8 * before


def test_n_modes_and_its_deprecated_name_n():
    """``EncodedMesh(n_modes)``; ``n=`` and ``.n`` still work, with a DeprecationWarning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert make(5).n_modes == 5
        assert EncodedMesh(n_modes=4, in_features=6, generator=gen()).n_modes == 4
    with pytest.warns(DeprecationWarning, match=r"EncodedMesh\(n=...\) is deprecated"):
        old = EncodedMesh(n=4, in_features=6, generator=gen())
    with pytest.warns(DeprecationWarning, match=r"EncodedMesh.n is deprecated: use n_modes"):
        assert old.n == 4
    with pytest.warns(DeprecationWarning, match=r"from_profile\(n=...\) is deprecated"):
        prof = EncodedMesh.from_profile("si_thermo_optic_mzi", n=4, in_features=6, generator=gen())
    assert prof.n_modes == 4

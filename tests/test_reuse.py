"""photonn.reuse.ReLaX: the proofs of issue 14 and the pieces around it.

Proofs: with L_T = 1 ReLaX is the plain stack and with L_W = 1 the recurrent
application (bit for bit: the same operations in the same order); the gradient of
a shared layer is the sum over its passes (against an explicitly unrolled model of
copied layers, float64/complex128, to 1e-12 relative: a few ulps of a sum of
L_T terms); parameter counts by hand per bank type; recomputed and plain runs
give the same gradients (the recomputation replays the same operations and the
same per-pass noise: equal to 1e-12); bad input raises early, naming the value.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

import photonn as pn
from photonn.activations import EOModulator, OpticalNonlinearity, SaturableAbsorber
from photonn.onchip import MeshImperfections, MZIMesh, SVDLinear
from photonn.reuse import (
    ReLaX,
    recompute,
    relax_latency,
    relax_schedule,
    switch_options,
)


def _lin(a, b, seed, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Linear(a, b, dtype=dtype)


def _x(*shape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype.is_complex:
        return torch.randn(*shape, generator=g, dtype=dtype)
    return torch.randn(*shape, generator=g, dtype=dtype)


def _mesh(n, seed, **kw):
    return MZIMesh(
        n, init="haar", generator=torch.Generator().manual_seed(seed), dtype=torch.complex128, **kw
    )


def _close(a, b, rtol=1e-12):
    a, b = a.detach(), b.detach()
    scale = max(float(b.abs().max()), 1e-300)
    return float((a - b).abs().max()) <= rtol * scale


# -- smoke and cardinality ------------------------------------------------------------
class TestCardinality:
    def test_schedules(self):
        assert relax_schedule(3, 2) == (0, 1, 2, 0, 1, 2)
        assert relax_schedule(3, 2, "periodic") == (0, 1, 2, 0, 1, 2)
        assert relax_schedule(3, 2, "block") == (0, 0, 1, 1, 2, 2)
        assert relax_schedule(3, 2, [0, 2, 2]) == (0, 2, 2, 0, 2, 2)
        assert relax_schedule(2, 1, torch.tensor([1, 0, 1])) == (1, 0, 1)

    def test_effective_depth_and_shapes(self):
        bank = [_lin(4, 4, i) for i in range(3)]
        r = ReLaX(bank, 5, dtype=torch.float64)
        assert r.effective_depth == 15 and r.l_w == 3 and r.l_t == 5
        x = _x(2, 7, 4)
        assert r(x).shape == (2, 7, 4)
        assert r(x, return_all=True).shape == (15, 2, 7, 4)
        assert "L_W=3, L_T=5" in repr(r)

    def test_any_photonn_layer_is_a_bank_layer(self):
        grid = pn.Grid(8, 4e-4)
        prop = pn.freespace.Propagator(grid, 7.5e-4, 3e-3, "bl-asm", dtype=torch.complex128)
        masks = [
            nn.Sequential(pn.freespace.PhaseMask(grid, dtype=torch.complex128), prop)
            for _ in range(2)
        ]
        field = _x(3, 8, 8, dtype=torch.complex128)
        assert ReLaX(masks, 2, dtype=torch.complex128)(field).shape == (3, 8, 8)
        svd = [SVDLinear(4, 4, dtype=torch.complex128) for _ in range(2)]
        assert ReLaX(svd, 2)(_x(3, 4, dtype=torch.complex128)).shape == (3, 4)
        assert ReLaX([_mesh(4, 0)], 3)(_x(3, 4, dtype=torch.complex128)).shape == (3, 4)


# -- the proofs -----------------------------------------------------------------------
class TestFeatureProofs:
    def test_default_is_exactly_the_composition_of_the_schedule(self):
        bank = [_lin(5, 5, i) for i in range(2)]
        x = _x(4, 5)
        for schedule in (None, "block", [1, 1, 0]):
            r = ReLaX(bank, 3, schedule, dtype=torch.float64)
            ref = x
            for k in r.schedule:
                ref = bank[k](ref)
            assert torch.equal(r(x), ref), schedule

    def test_lt_1_is_the_plain_stack(self):
        bank = [_lin(6, 5, 0), _lin(5, 4, 1), _lin(4, 3, 2)]  # widths may change at L_T = 1
        x = _x(8, 6)
        assert torch.equal(ReLaX(bank, 1, dtype=torch.float64)(x), nn.Sequential(*bank)(x))
        r = ReLaX(bank, 1, activation="tanh", dtype=torch.float64)
        stack = nn.Sequential(bank[0], nn.Tanh(), bank[1], nn.Tanh(), bank[2], nn.Tanh())
        assert torch.equal(r(x), stack(x))
        meshes = [_mesh(4, s) for s in range(3)]
        z = _x(5, 4, dtype=torch.complex128)
        assert torch.equal(ReLaX(meshes, 1, dtype=torch.complex128)(z), nn.Sequential(*meshes)(z))

    def test_lw_1_is_the_recurrent_application(self):
        W, U = _lin(5, 5, 0), _lin(3, 5, 1)
        x = _x(4, 3)
        r = ReLaX([W], 6, activation="tanh", inject=U, leak=0.3, dtype=torch.float64)
        h = torch.zeros(4, 5, dtype=torch.float64)
        for _ in range(6):  # h = alpha h + f(W h + U x)
            h = 0.3 * h + torch.tanh(W(h) + U(x))
        assert torch.equal(r(x), h)
        mesh = _mesh(4, 0)
        z = _x(2, 4, dtype=torch.complex128)
        ref = z
        for _ in range(5):
            ref = mesh(ref)
        assert torch.equal(ReLaX([mesh], 5, dtype=torch.complex128)(z), ref)

    def test_sequence_inputs_are_injected_pass_by_pass(self):
        W, U = _lin(4, 4, 0), _lin(3, 4, 1)
        r = ReLaX([W], 5, activation="tanh", inject=U, dtype=torch.float64)
        xs = _x(5, 2, 3)
        h = torch.zeros(2, 4, dtype=torch.float64)
        for t in range(5):
            h = torch.tanh(W(h) + U(xs[t]))
        assert _close(r(xs, sequence=True), h, 1e-14)  # W_xh of all passes at once

    @pytest.mark.parametrize("fold", [False, True])
    def test_shared_gradient_is_the_sum_over_passes(self, fold):
        bank = [_lin(4, 4, 0), _lin(4, 4, 1)]
        r = ReLaX(bank, 3, activation="tanh", fold=fold, dtype=torch.float64)
        unrolled = [copy.deepcopy(bank[k]) for k in r.schedule]
        x = _x(6, 4)
        y = r(x)
        h = x
        for layer in unrolled:
            h = torch.tanh(layer(h))
        assert _close(y, h)
        y.square().sum().backward()
        h.square().sum().backward()
        for k, layer in enumerate(bank):
            for name in ("weight", "bias"):
                total = sum(
                    getattr(unrolled[t], name).grad
                    for t in range(r.effective_depth)
                    if r.schedule[t] == k
                )
                assert _close(getattr(layer, name).grad, total), (k, name)

    def test_shared_mesh_gradient_is_the_sum_over_passes(self):
        bank = [_mesh(4, 0), _mesh(4, 1)]
        act = OpticalNonlinearity(EOModulator(1.0), gain=2.0, bias=-1.0, dtype=torch.complex128)
        r = ReLaX(bank, 2, "block", activation=act, share="all", dtype=torch.complex128)
        unrolled = [copy.deepcopy(bank[k]) for k in r.schedule]
        z = _x(3, 4, dtype=torch.complex128)
        y = r(z)
        h = z
        for layer in unrolled:
            h = act(layer(h))
        assert _close(y, h)
        y.abs().square().sum().backward()
        h.abs().square().sum().backward()
        for k, mesh in enumerate(bank):
            for name in ("theta", "phi", "output_phase"):
                total = sum(getattr(unrolled[t], name).grad for t in range(4) if r.schedule[t] == k)
                assert _close(getattr(mesh, name).grad, total), (k, name)

    def test_per_pass_gradient_norms_match_the_unrolled_model(self):
        bank = [_lin(4, 4, 0), _lin(4, 4, 1)]
        r = ReLaX(bank, 2, activation="tanh", dtype=torch.float64)
        unrolled = [copy.deepcopy(bank[k]) for k in r.schedule]
        x = _x(5, 4)
        with r.recording() as rec:
            r(x).sum().backward()
        r(x).sum().backward()  # after the block: not recorded
        h, states = x, []
        for layer in unrolled:
            h = torch.tanh(layer(h))
            h.retain_grad()
            states.append(h)
        h.sum().backward()
        norms = rec.grad_norms()
        assert norms["weight"].shape == (1, 4) and norms["state"].shape == (1, 4)
        for t, layer in enumerate(unrolled):
            w = math.sqrt(float(layer.weight.grad.square().sum() + layer.bias.grad.square().sum()))
            assert norms["weight"][0, t] == pytest.approx(w, rel=1e-12)
            assert norms["state"][0, t] == pytest.approx(float(states[t].grad.norm()), rel=1e-12)
        rec.clear()
        assert rec.grad_norms()["state"].shape == (0, 4)
        with r.recording() as empty, torch.no_grad():
            r(x)  # without gradients: nothing to record
        assert empty.grad_norms()["state"].shape == (0, 4)
        # the deprecated record=True records every forward, as before
        with pytest.warns(DeprecationWarning, match="record=True"):
            old = ReLaX(bank, 2, activation="tanh", record=True, dtype=torch.float64)
        old(x).sum().backward()
        with pytest.warns(DeprecationWarning, match="recording"):
            assert torch.equal(old.grad_norms()["state"], norms["state"])

    def test_recomputed_and_plain_give_the_same_gradients(self):
        for every in (True, 2):
            grads = []
            for ck in (False, every):
                bank = [_lin(4, 4, 0), _lin(4, 4, 1)]
                r = ReLaX(
                    bank,
                    3,
                    activation="tanh",
                    bias=True,
                    gain="scalar",
                    pass_noise=0.1,
                    noise_generator=torch.Generator().manual_seed(5),
                    inject=_lin(2, 4, 7),
                    leak=0.5,
                    recompute=ck,
                    dtype=torch.float64,
                )
                x = _x(3, 2).requires_grad_()
                r(x).square().sum().backward()
                grads.append([p.grad.clone() for p in r.parameters()] + [x.grad.clone()])
            for a, b in zip(*grads):
                assert _close(a, b)

    def test_the_last_segment_keeps_its_graph(self, monkeypatch):
        """Backward recomputes every segment but the last (it needs that one first):
        passes run in backward = depth - the last segment's passes. Break test: recompute
        the last segment too and the counts are one segment higher."""
        calls = []
        original = ReLaX._pass

        def counted(self, t, *args, **kwargs):
            calls.append(t)
            return original(self, t, *args, **kwargs)

        monkeypatch.setattr(ReLaX, "_pass", counted)
        # (recompute, L_T, passes run again): T = 2 L_T passes, segments of k passes
        for every, depth, again in ((2, 3, 4), (True, 3, 5), (4, 2, 0), (3, 4, 6), (8, 4, 0)):
            bank = [_lin(4, 4, 0), _lin(4, 4, 1)]
            r = ReLaX(bank, depth, activation="tanh", recompute=every, dtype=torch.float64)
            calls.clear()
            out = r(_x(3, 4))
            assert calls == list(range(2 * depth))
            calls.clear()
            out.square().sum().backward()
            assert sorted(calls) == list(range(again)), (every, depth)

    def test_recomputed_noisy_meshes_with_fold(self):
        grads = []
        for ck in (False, True):
            bank = [_mesh(4, 0), _mesh(4, 1)]
            for m in bank:
                m.imperfections = MeshImperfections(
                    phase_noise_std=0.05, noise_generator=torch.Generator().manual_seed(3)
                )
            r = ReLaX(
                bank, 2, activation=nn.Identity(), fold=True, recompute=ck, dtype=torch.complex128
            )
            r(_x(2, 4, dtype=torch.complex128)).abs().square().sum().backward()
            grads.append([p.grad.clone() for p in r.parameters()])
        for a, b in zip(*grads):
            assert _close(a, b)

    def test_step_by_step_is_the_forward(self):
        # the public pass API: prepare() once, noise_seed() once, step(t) for every pass
        def make():
            bank = [_mesh(4, 0), _mesh(4, 1)]
            act = OpticalNonlinearity(EOModulator(1.0), "eo", dtype=torch.complex128)
            g = torch.Generator().manual_seed(4)
            return ReLaX(
                bank, 2, activation=act, gain="scalar", inject=nn.Identity(), pass_noise=0.1,
                noise_generator=g, switch_loss_db=1.0, fold=True, leak=0.3,
                dtype=torch.complex128,
            )  # fmt: skip

        a, b = make(), make()
        x = _x(3, 4, dtype=torch.complex128)
        folded, seed, h = b.prepare(), b.noise_seed(), torch.zeros_like(x)
        for t in range(b.effective_depth):
            h = b.step(t, h, x, folded=folded, seed=seed)
        assert torch.equal(a(x), h)
        assert ReLaX([_lin(2, 2, 0)], 2).noise_seed() is None  # no pass noise

    def test_recompute_gives_the_gradients_of_the_plain_graph(self):
        w = _x(3, 3, seed=1).requires_grad_()
        x = _x(2, 3, seed=2).requires_grad_()

        def fn(x_, none):
            assert none is None
            return torch.tanh(x_ @ w).sin()

        grads = []
        for out in (fn(x, None), recompute(fn, [x, None], [w])):
            out.square().sum().backward()
            grads.append((x.grad.clone(), w.grad.clone()))
            x.grad = w.grad = None
        assert all(torch.equal(a, b) for a, b in zip(*grads))

    def test_deprecated_checkpoint_is_recompute(self):
        lin = [_lin(3, 3, 0)]
        with pytest.warns(DeprecationWarning, match="use recompute="):
            r = ReLaX(lin, 2, checkpoint=2)
        assert r.recompute_every == 2
        with pytest.warns(DeprecationWarning, match="recompute_every"):
            assert r.checkpoint_every == 2

    def test_fold_is_the_same_function(self):
        bank = [_mesh(5, 0), _mesh(5, 1)]
        for m in bank:
            m.imperfections = MeshImperfections.sample(
                m.layout.n_mzi, torch.Generator().manual_seed(2), coupler_sigma=0.05, loss_db=0.2
            )
        z = _x(40, 5, dtype=torch.complex128)  # the mesh's own matrix path for this batch
        a = ReLaX(bank, 3, dtype=torch.complex128)(z)
        b = ReLaX(bank, 3, fold=True, dtype=torch.complex128)(z)
        assert _close(a, b, 1e-13)
        lin = [_lin(3, 3, 0)]
        x = _x(2, 3)
        assert _close(ReLaX(lin, 4, fold=True)(x), ReLaX(lin, 4)(x), 1e-15)


# -- parameter counts by hand -----------------------------------------------------------
class TestParameterCounts:
    def test_per_bank_type(self):
        H, T = 6, 3
        r = ReLaX([_lin(H, H, i) for i in range(2)], T)
        assert r.num_parameters.bank == 2 * (H * H + H)
        r = ReLaX([MZIMesh(H) for _ in range(2)], T, dtype=torch.complex64)
        assert r.num_parameters.bank == 2 * (2 * (H * (H - 1) // 2) + H)  # theta, phi, D
        r = ReLaX([SVDLinear(H, H) for _ in range(3)], T, dtype=torch.complex64)
        assert r.num_parameters.bank == 3 * (2 * H * H + H + 1)  # two meshes, attenuators, scale
        grid = pn.Grid((4, 5), 1e-4)
        prop = pn.freespace.Propagator(grid, 5e-7, 1e-3)
        masks = [nn.Sequential(pn.freespace.PhaseMask(grid), prop) for _ in range(2)]
        assert ReLaX(masks, T, dtype=torch.complex64).num_parameters.bank == 2 * 20
        complex_mask = pn.freespace.ComplexMask(grid)  # a complex entry counts 2
        n = ReLaX([complex_mask], 2, dtype=torch.complex64).num_parameters.bank
        assert n == sum(p.numel() * (2 if p.is_complex() else 1) for p in complex_mask.parameters())

    def test_fast_elements_are_counted_apart(self):
        H, LW, LT = 4, 2, 3
        bank = [_lin(H, H, i) for i in range(LW)]
        T = LW * LT
        n = ReLaX(bank, LT, bias=True, gain="scalar").num_parameters
        assert (n.bank, n.per_pass, n.inject) == (LW * (H * H + H), T * H + T, 0)
        n = ReLaX(bank, LT, bias=True, gain=True, share="layer").num_parameters
        assert n.per_pass == LW * 2 * H
        n = ReLaX(bank, LT, bias=True, share="all", inject=_lin(3, H, 9)).num_parameters
        assert (n.per_pass, n.inject, n.total) == (H, 3 * H + H, LW * (H * H + H) + H + 4 * H)
        act = OpticalNonlinearity(EOModulator(1.0), dtype=torch.complex64)
        meshes = [MZIMesh(H) for _ in range(LW)]
        n = ReLaX(meshes, LT, activation=act, dtype=torch.complex64).num_parameters
        assert n.per_pass == 2 * T  # a gain and a bias per pass
        assert ReLaX(meshes, LT, activation=act, share="all").num_parameters.per_pass == 2


# -- fast elements, switch, noise -------------------------------------------------------
class TestFastElements:
    def test_initial_fast_elements_leave_the_composition_unchanged(self):
        bank = [_lin(4, 4, 0), _lin(4, 4, 1)]
        x = _x(3, 4)
        plain = ReLaX(bank, 2, activation="tanh", dtype=torch.float64)(x)
        fast = ReLaX(bank, 2, activation="tanh", bias=True, gain=True, dtype=torch.float64)
        assert torch.equal(fast(x), plain)
        assert fast.bias.shape == (4, 4) and fast.gain.shape == (4, 4)

    def test_per_pass_nonlinearity_parameters(self):
        act = OpticalNonlinearity(EOModulator(1.0), bias=-1.0, dtype=torch.complex128)
        r = ReLaX([_mesh(3, 0)], 4, activation=act, dtype=torch.complex128)
        assert len(r.activations) == 4
        assert len({id(a.bias) for a in r.activations}) == 4
        r(_x(2, 3, dtype=torch.complex128)).abs().sum().backward()
        grads = torch.stack([a.bias.grad for a in r.activations])
        assert torch.isfinite(grads).all() and len(set(grads.tolist())) == 4
        r_layer = ReLaX([_mesh(3, 0), _mesh(3, 1)], 3, activation=act, share="layer")
        assert len(r_layer.activations) == 2

    def test_switch_loss_scales_every_pass(self):
        eye = nn.Linear(3, 3, bias=False, dtype=torch.float64)
        with torch.no_grad():
            eye.weight.copy_(torch.eye(3))
        x = _x(2, 3)
        y = ReLaX([eye], 4, switch_loss_db=3.0, dtype=torch.float64)(x)
        assert _close(y, x * 10 ** (-4 * 3.0 / 20))

    def test_pass_noise_is_relative_seeded_and_fresh(self):
        eye = nn.Linear(64, 64, bias=False, dtype=torch.float64)
        with torch.no_grad():
            eye.weight.copy_(torch.eye(64))
        x = 3.0 * torch.ones(500, 64, dtype=torch.float64)
        r = ReLaX(
            [eye],
            1,
            pass_noise=0.1,
            noise_generator=torch.Generator().manual_seed(0),
            dtype=torch.float64,
        )
        with torch.no_grad():
            a, b = r(x), r(x)
        assert float((a - x).std()) == pytest.approx(0.3, rel=0.02)
        assert not torch.equal(a, b)  # fresh noise per forward
        r2 = ReLaX(
            [eye],
            1,
            pass_noise=0.1,
            noise_generator=torch.Generator().manual_seed(0),
            dtype=torch.float64,
        )
        assert torch.equal(r2(x), a)  # the generator decides
        z = torch.ones(500, 64, dtype=torch.complex128)
        zc = ReLaX(
            [_mesh(64, 0)],
            1,
            pass_noise=0.1,
            fold=True,
            noise_generator=torch.Generator().manual_seed(1),
        )
        with torch.no_grad():
            noise = zc(z) - z @ zc.bank[0].matrix().T
        assert float(noise.abs().square().mean().sqrt()) == pytest.approx(0.1, rel=0.02)

    def test_switch_options_from_a_profile(self):
        o = switch_options("si_thermo_optic_mzi")
        assert o["switch_loss_db"] == 2.0
        assert o["pass_noise"] == pytest.approx(10 ** (-34.5 / 20))
        assert switch_options("holoeye_pluto2")["switch_loss_db"] == 0.5
        with pytest.raises(ValueError, match="lacks"):
            switch_options("santec_slm200")


class TestOpticalNonlinearity:
    def test_modes(self):
        z = _x(4, 5, dtype=torch.complex128)
        p = z.abs() ** 2
        eo = OpticalNonlinearity(EOModulator(1.0), gain=0.7, bias=-1.0, dtype=torch.complex128)
        ref = torch.sqrt(EOModulator(1.0)(0.7 * p - 1.0))
        assert _close(eo(z).real, ref, 1e-12) and eo(z).dtype == torch.complex128
        assert _close(eo(z).real, torch.sin(math.pi * 0.7 * p / 2).abs(), 1e-12)
        sa = OpticalNonlinearity(
            SaturableAbsorber(1.0, 0.5), "sa", gain=2.0, dtype=torch.complex128
        )
        out = sa(z)
        assert _close(torch.angle(out), torch.angle(z), 1e-12)  # the phase is kept
        t = 1 - 0.5 / (1 + 2 * p)
        assert _close(out.abs(), z.abs() * t.sqrt(), 1e-12)
        mod = OpticalNonlinearity(
            EOModulator(1.0), "eo", gain=0.2, bias=-0.5, dtype=torch.complex128
        )
        out = mod(z)  # the light crosses the modulator its own tap drives; phase kept
        assert _close(out, z * torch.sqrt(EOModulator(1.0)(0.2 * p - 0.5)), 1e-12)
        assert _close(mod(1e-6 * z).abs() / (1e-6 * z.abs()), torch.full_like(p, 0.5**0.5), 1e-9)
        zero = torch.zeros(3, dtype=torch.complex128, requires_grad=True)
        dark = OpticalNonlinearity(EOModulator(1.0), "eo", bias=-1.0, dtype=zero.dtype)
        dark(zero).abs().square().sum().backward()  # T = 0 at the bias: a finite gradient
        assert torch.isfinite(zero.grad).all() and torch.isfinite(dark.bias.grad).all()
        ab = OpticalNonlinearity(mode="abs", gain=3.0, dtype=torch.complex128)
        assert _close(ab(z).real, 3 * z.abs(), 1e-14)

    def test_deprecated_mode_names(self):
        # the first engine's spellings: "modulate" is "eo", "coherent" is "sa"
        z = _x(4, 5, dtype=torch.complex128)
        for old, new, response in (
            ("modulate", "eo", EOModulator(1.0)),
            ("coherent", "sa", SaturableAbsorber(1.0, 0.5)),
        ):
            with pytest.warns(DeprecationWarning, match=f"{old!r} is deprecated: it is {new!r}"):
                a = OpticalNonlinearity(response, old, gain=0.3, dtype=torch.complex128)
            b = OpticalNonlinearity(response, new, gain=0.3, dtype=torch.complex128)
            assert a.mode == new and torch.equal(a(z), b(z))
        assert pn.reuse.OpticalNonlinearity is OpticalNonlinearity  # the old path
        with pytest.raises(ValueError, match="mode must be one of"):
            OpticalNonlinearity(EOModulator(1.0), "electro")

    def test_gradcheck(self):
        eo = OpticalNonlinearity(
            EOModulator(1.0), gain=0.7, bias=-0.8, features=3, dtype=torch.complex128
        )
        z = (0.3 + _x(2, 3, dtype=torch.complex128) * 0.2).requires_grad_()
        assert torch.autograd.gradcheck(eo, (z,))

    def test_bad_input(self):
        with pytest.raises(ValueError, match="needs a device response"):
            OpticalNonlinearity(None, "oeo")
        with pytest.raises(ValueError, match="gain must be > 0"):
            OpticalNonlinearity(EOModulator(1.0), gain=0.0)
        with pytest.raises(TypeError, match="built for torch.complex64"):
            OpticalNonlinearity(EOModulator(1.0))(torch.ones(3))


class TestGradcheck:
    def test_relax_gradcheck(self):
        bank = [_lin(3, 3, 0), _lin(3, 3, 1)]
        r = ReLaX(
            bank,
            2,
            activation="tanh",
            bias=True,
            gain="scalar",
            inject=_lin(2, 3, 2),
            leak=0.2,
            dtype=torch.float64,
        )
        x = _x(2, 2).requires_grad_()
        assert torch.autograd.gradcheck(r, (x,))


class TestModule:
    def test_state_dict_round_trip(self):
        def make(seed):
            bank = [_lin(3, 3, seed), _lin(3, 3, seed + 1)]
            return ReLaX(bank, 2, activation="tanh", bias=True, dtype=torch.float64)

        a, b = make(0), make(5)
        with torch.no_grad():
            a.bias.normal_()
        b.load_state_dict(a.state_dict())
        x = _x(2, 3)
        assert torch.equal(a(x), b(x))


# -- latency ------------------------------------------------------------------------------
class TestLatency:
    def test_mzi_platform_by_hand(self):
        lat = relax_latency("si_thermo_optic_mzi", 8)
        assert lat.relax == pytest.approx(8 * (0.1e-9 + 4e-9))
        assert lat.reprogram == pytest.approx(8 * (0.1e-9 + 3e-6))
        assert lat.speedup == pytest.approx((0.1e-9 + 3e-6) / (0.1e-9 + 4e-9))

    def test_lcos_slm_by_hand(self):
        lat = relax_latency("holoeye_pluto2", 4)
        assert lat.t_update == pytest.approx(1 / 60)
        assert lat.speedup == pytest.approx((0.5e-9 + 1 / 60) / (0.5e-9 + 5e-9))
        assert relax_latency("holoeye_pluto2", 4, t_update=0.03).t_update == 0.03

    def test_missing_times(self):
        with pytest.raises(ValueError, match="lacks the times"):
            relax_latency("santec_slm200", 4)
        with pytest.raises(TypeError, match="unknown times"):
            relax_latency("holoeye_pluto2", 4, t_swt=1e-9)


# -- bad input ----------------------------------------------------------------------------
class TestException:
    def test_empty_bank(self):
        with pytest.raises(ValueError, match="bank is empty"):
            ReLaX([], 2)
        with pytest.raises(TypeError, match="wrap it in a list"):
            ReLaX(nn.Linear(3, 3), 2)
        with pytest.raises(TypeError, match=r"bank\[1\] must be an nn.Module"):
            ReLaX([nn.Linear(3, 3), torch.tanh], 2)

    def test_l_t_below_one(self):
        with pytest.raises(ValueError, match="l_t must be > 0, got 0"):
            ReLaX([nn.Linear(3, 3)], 0)
        with pytest.raises(TypeError, match="l_t must be an int"):
            ReLaX([nn.Linear(3, 3)], 1.5)

    def test_schedule_index_outside_the_bank(self):
        with pytest.raises(ValueError, match=r"schedule\[1\] = 2 is outside the bank of 2"):
            ReLaX([nn.Linear(3, 3), nn.Linear(3, 3)], 2, [0, 2])
        with pytest.raises(ValueError, match="schedule must be"):
            ReLaX([nn.Linear(3, 3)], 2, "zigzag")
        with pytest.raises(ValueError, match="non-empty sequence"):
            ReLaX([nn.Linear(3, 3)], 2, [])

    def test_mismatched_layer_shapes(self):
        with pytest.raises(
            ValueError, match=r"bank layer 0 .* outputs features \(4,\), but pass 1"
        ):
            ReLaX([nn.Linear(3, 4), nn.Linear(3, 3)], 2)
        with pytest.raises(ValueError, match=r"bank layer 0 \(Linear\) outputs features \(4,\)"):
            ReLaX([nn.Linear(3, 4)], 2)  # repeats > 1 needs width -> width
        with pytest.raises(ValueError, match="outputs features"):
            ReLaX([MZIMesh(4), MZIMesh(5)], 1)
        # a layer of unknown shape fails at its pass, which the error names
        r = ReLaX([nn.Linear(3, 3), nn.Sequential(nn.Flatten(0), nn.Linear(3, 3))], 1)
        with pytest.raises(RuntimeError, match=r"ReLaX pass 1 \(bank layer 1"):
            r(torch.ones(2, 3))

    def test_other_options(self):
        lin = [nn.Linear(3, 3)]
        with pytest.raises(ValueError, match="switch_loss_db must be >= 0"):
            ReLaX(lin, 2, switch_loss_db=-1)
        with pytest.raises(TypeError, match="noise_generator"):
            ReLaX(lin, 2, pass_noise=0.1)
        with pytest.raises(ValueError, match="record=True"), pytest.warns(DeprecationWarning):
            ReLaX(lin, 2, record=True, checkpoint=True)
        with pytest.raises(ValueError, match="recompute=False"):
            with ReLaX(lin, 2, recompute=True).recording():
                pass
        with pytest.raises(TypeError, match="give recompute= only"):
            ReLaX(lin, 2, recompute=True, checkpoint=True)
        with pytest.raises(ValueError, match="share must be one of"):
            ReLaX(lin, 2, share="some")
        with pytest.raises(ValueError, match="fast_shape"):
            ReLaX([nn.Tanh()], 2, bias=True)
        noisy = MZIMesh(3)
        noisy.imperfections = MeshImperfections(
            phase_noise_std=0.1, noise_generator=torch.Generator()
        )
        with pytest.raises(ValueError, match="draw their own random numbers"):
            ReLaX([noisy], 2, recompute=True)
        with pytest.raises(ValueError, match="needs inject"):
            ReLaX(lin, 2)(torch.ones(4, 2, 3), sequence=True)
        with pytest.raises(ValueError, match="leading axis of length T = 2"):
            ReLaX(lin, 2, inject=nn.Linear(3, 3))(torch.ones(3, 2, 3), sequence=True)
        with pytest.raises(TypeError, match="one dtype"):
            ReLaX([MZIMesh(3)], 2, fold=True)(torch.ones(2, 3, dtype=torch.complex128))


def test_deprecated_num_layers_and_repeats_are_l_w_and_l_t():
    """The glossary's names: ``l_w`` (bank size) and ``l_t`` (repeats of the period);
    the old spellings still work and warn."""
    with pytest.warns(DeprecationWarning, match="l_w"):
        assert relax_schedule(num_layers=3, l_t=2) == relax_schedule(3, 2)
    with pytest.warns(DeprecationWarning, match="l_t"):
        assert relax_schedule(3, repeats=2, schedule="block") == relax_schedule(3, 2, "block")
    with pytest.raises(TypeError, match="give l_t= only"):
        relax_schedule(3, 2, repeats=2)
    bank = [nn.Linear(4, 4), nn.Linear(4, 4)]
    with pytest.warns(DeprecationWarning, match="repeats"):
        r = ReLaX(bank, repeats=3)
    assert (r.l_w, r.l_t, r.effective_depth) == (2, 3, 6)
    with pytest.warns(DeprecationWarning, match="use l_w"):
        assert r.num_layers == 2
    with pytest.warns(DeprecationWarning, match="use l_t"):
        assert r.repeats == 3

"""ReLaX networks on photonn's banks (photonn.models.relax) and the run kind ``relax``.

Parameter counts are checked by hand per bank type (and against bank_width's
budget); the DNN (L_T = 1) and RNN (L_W = 1) baselines are the plain stack and
the recurrence; the folded diffractive network is the unrolled D2NN of the same
masks (complex128, to 1e-12 relative); the per-character language model with
L_W = L_T = 1 is the over-time one (the Elman RNN, bit for bit).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import photonn as pn
from photonn.models import DiffractiveReLaX, DigitalReLaX, PhotonicReLaX, ReLaXLanguageModel
from photonn.models.relax import (
    PhotonicOptions,
    ReuseOptions,
    bank_layer_parameters,
    bank_width,
    photonic_bank,
    sparse_crosstalk,
)
from photonn.onchip import MZIMesh
from photonn.runs import build_model, resolve_config


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def _close(a, b, rtol=1e-12):
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max()) <= rtol * max(float(b.abs().max()), 1e-300)


class TestParameterCounts:
    @pytest.mark.parametrize("width", [1, 2, 5, 9])
    def test_by_hand_per_bank_type(self, width):
        w = width
        lin = nn.Linear(w, w)
        assert bank_layer_parameters("digital", w) == sum(p.numel() for p in lin.parameters())
        mesh = MZIMesh(w)
        assert bank_layer_parameters("mzi", w) == sum(p.numel() for p in mesh.parameters())
        svd = pn.onchip.SVDLinear(w, w)
        assert bank_layer_parameters("svd", w) == sum(p.numel() for p in svd.parameters())
        mask = pn.freespace.PhaseMask(pn.Grid(w, 1e-4))
        assert bank_layer_parameters("diffractive", w) == sum(p.numel() for p in mask.parameters())
        assert bank_layer_parameters("mzi", w) == w * w  # w (w - 1) / 2 MZIs x 2 + w phases

    def test_bank_width_is_the_widest_within_the_budget(self):
        for bank in ("digital", "mzi", "svd", "diffractive"):
            for budget, l_w in ((2000, 1), (2000, 3), (8000, 4), (32000, 8)):
                w = bank_width(budget, l_w, bank)
                assert l_w * bank_layer_parameters(bank, w) <= budget
                assert l_w * bank_layer_parameters(bank, w + 1) > budget
        assert bank_width(8000, 4, "digital") == 44 and bank_width(32000, 1, "mzi") == 178
        with pytest.raises(ValueError, match="does not fit"):
            bank_width(3, 2, "digital")

    def test_models_count_bank_and_rest_apart(self):
        m = DigitalReLaX(10, 3, 6, 2, 3, fast_bias=True, generator=_g())
        n = m.num_parameters
        assert n["bank"] == 2 * (36 + 6) and n["per_pass"] == 6 * 6
        assert n["other"] == (10 * 6 + 6) + (6 * 3 + 3)
        assert n["total"] == sum(p.numel() for p in m.parameters())
        p = PhotonicReLaX(10, 3, 5, 2, 2, generator=_g())
        n = p.num_parameters
        # per pass: the amplifier gain, the modulator drive gain and bias
        assert n["bank"] == 2 * 25 and n["per_pass"] == 4 * 3
        assert n["total"] == sum(q.numel() for q in p.parameters())
        s = PhotonicReLaX(10, 3, 4, 2, 1, bank="svd", errors=False, switch=False)
        assert s.num_parameters["bank"] == 2 * (2 * 16 + 4 + 1)
        d = DiffractiveReLaX(12, 3, 3, 2)
        assert d.num_parameters == {"bank": 3 * 144, "per_pass": 0, "other": 1, "total": 433}


class TestDigital:
    def test_dnn_and_rnn_are_the_stack_and_the_recurrence(self):
        x = torch.randn(4, 7, dtype=torch.float64, generator=_g(1))
        dnn = DigitalReLaX(7, 3, 5, 3, 1, generator=_g(), dtype=torch.float64)
        h = torch.tanh(dnn.input(x))
        for layer in dnn.relax.bank:
            h = torch.tanh(layer(h))
        assert _close(dnn(x), dnn.readout(h), 1e-14)
        rnn = DigitalReLaX(7, 3, 5, 1, 4, inject=True, generator=_g(), dtype=torch.float64)
        u, h = rnn.input(x), torch.zeros(4, 5, dtype=torch.float64)
        for _ in range(4):
            h = torch.tanh(rnn.relax.bank[0](h) + u)
        assert _close(rnn(x), rnn.readout(h), 1e-14)

    def test_seeded(self):
        a = DigitalReLaX(4, 2, 3, 2, 2, generator=_g(3))
        b = DigitalReLaX(4, 2, 3, 2, 2, generator=_g(3))
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


class TestPhotonic:
    def test_bank_carries_the_profile_errors(self):
        prof = pn.devices.load_profile("si_thermo_optic_mzi")
        (mesh,) = photonic_bank(
            "mzi", 5, 1, profile=prof, phase_noise=0.01, generator=_g(), noise_generator=_g(1)
        )
        assert mesh.coupler_error is not None and mesh.arm_loss_db is not None
        assert float(mesh.arm_loss_db[0, 0]) == pytest.approx(0.3)
        assert mesh.crosstalk_index is not None and mesh.dac_bits == 16
        assert mesh.phase_noise_std == 0.01

    def test_sparse_crosstalk_equals_set_crosstalk(self):
        a, b = MZIMesh(7, init="haar", generator=_g()), MZIMesh(7, init="haar", generator=_g())
        a.imperfections = a.imperfections.replace(crosstalk=0.05)
        sparse_crosstalk(b, 0.05)
        assert torch.equal(a.crosstalk_index, b.crosstalk_index)
        assert torch.equal(a.crosstalk_value, b.crosstalk_value)
        assert torch.equal(a.matrix(), b.matrix())

    def test_forward_backward_and_switch(self):
        m = PhotonicReLaX(6, 3, 4, 2, 2, phase_noise=0.01, generator=_g())
        assert m.relax.switch_loss_db == 2.0 and m.relax.pass_noise > 0
        assert m.relax.fold and m.relax.effective_depth == 4
        x = torch.randn(8, 6, generator=_g(1))
        out = m(x)
        assert out.shape == (8, 3) and out.dtype == torch.float32
        out.square().sum().backward()
        for name, p in m.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        # the per-pass amplifier (a fast gain) starts at the inverse amplitude transmission
        # of a pass at small power (the errored mesh, the 2 dB switch of the profile and
        # the e-o modulator's 1/2 at its bias -V_pi / 2); the drive gain at 0.2
        with torch.no_grad():
            mesh = m.relax.bank[0].matrix()
            tr = float((mesh.abs() ** 2).sum()) / 4 * 10 ** (-0.2)
            mesh2 = m.relax.bank[1].matrix()
            tr = (tr + float((mesh2.abs() ** 2).sum()) / 4 * 10 ** (-0.2)) / 2
            act = m.relax.activations[0]
        assert m.relax.gain.shape == (4,)  # one scalar per pass
        assert m.relax.gain.detach() == pytest.approx(torch.full((4,), (tr / 2) ** -0.5), rel=1e-2)
        assert act.mode == "eo" and float(act.log_gain.detach().exp()) == pytest.approx(0.2)
        assert float(act.bias.detach()) == pytest.approx(-0.5)

    def test_rebuilt_without_a_generator_loads_the_errored_model(self):
        # a model rebuilt to load a checkpoint (no generator: no drawn coupler errors) has
        # the same state-dict keys and shapes, and then computes the same function
        kw = dict(phase_noise=0.0, bank="mzi", switch=False)  # no crosstalk noise
        a = PhotonicReLaX(6, 3, 4, 2, 2, generator=_g(), **kw)
        b = PhotonicReLaX(6, 3, 4, 2, 2, **kw)
        sa, sb = a.state_dict(), b.state_dict()
        assert sorted(sa) == sorted(sb)
        assert all(sa[k].shape == sb[k].shape for k in sa)
        assert any("coupler_error" in k for k in sa)
        b.load_state_dict(sa)
        a.eval(), b.eval()
        x = torch.randn(5, 6, generator=_g(2))
        assert torch.allclose(a(x), b(x), rtol=1e-5, atol=1e-6)
        lm = ReLaXLanguageModel(7, 4, 2, 1, bank="svd", generator=_g())
        ReLaXLanguageModel(7, 4, 2, 1, bank="svd").load_state_dict(lm.state_dict())
        # a profile without coupler errors: no coupler buffer on either side
        prof = {**pn.devices.load_profile("si_thermo_optic_mzi").values}
        prof["coupler_imbalance_sigma"] = 0.0
        c = PhotonicReLaX(6, 3, 4, 1, 1, profile=prof, generator=_g(), **kw)
        d = PhotonicReLaX(6, 3, 4, 1, 1, profile=prof, **kw)
        assert c.relax.bank[0].coupler_error is None and d.relax.bank[0].coupler_error is None
        d.load_state_dict(c.state_dict())

    def test_ideal_svd_bank(self):
        m = PhotonicReLaX(
            6,
            3,
            4,
            2,
            1,
            bank="svd",
            errors=False,
            switch=False,
            nonlinearity="abs",
            generator=_g(),
        )
        assert m(torch.randn(2, 6, generator=_g(1))).shape == (2, 3)
        assert not m.relax.bank[0].mesh_in.has_errors


class TestOptions:
    def test_keywords_and_the_options_object_build_the_same_model(self):
        kw = dict(schedule="block", share="layer", leak=0.25, errors=False, phase_noise=0.02)
        a = PhotonicReLaX(5, 3, 4, 2, 2, generator=_g(), **kw)
        b = PhotonicReLaX(5, 3, 4, 2, 2, generator=_g(), options=PhotonicOptions(**kw))
        c = PhotonicReLaX(
            5,
            3,
            4,
            2,
            2,
            generator=_g(),
            options=PhotonicOptions(share="layer"),
            **{k: v for k, v in kw.items() if k != "share"},
        )  # an options object and keywords on top of it
        for m in (b, c):
            assert repr(m) == repr(a)
            assert all(torch.equal(p, q) for p, q in zip(a.parameters(), m.parameters()))
        assert a.relax.schedule == (0, 0, 1, 1) and a.relax.leak == 0.25
        assert a.relax.bank[0].phase_noise_std == 0.02 and a.relax.bank[0].coupler_error is None
        d = DigitalReLaX(4, 2, 3, 2, 2, options=ReuseOptions(recompute=2))
        assert d.relax.recompute_every == 2
        assert DiffractiveReLaX(8, 2, 1, 2, leak=0.5).relax.leak == 0.5

    def test_unknown_keywords_and_deprecated_checkpoint(self):
        with pytest.raises(TypeError, match=r"unknown keyword\(s\) \['errors'\]; its ReuseOptions"):
            DigitalReLaX(4, 2, 3, 2, 2, errors=False)
        with pytest.raises(TypeError, match="must be a PhotonicOptions"):
            PhotonicReLaX(4, 2, 3, 2, 2, options=ReuseOptions())
        for make in (
            lambda **kw: DigitalReLaX(4, 2, 3, 2, 2, **kw),
            lambda **kw: PhotonicReLaX(4, 2, 3, 2, 2, **kw),
            lambda **kw: DiffractiveReLaX(8, 2, 1, 2, **kw),
            lambda **kw: ReLaXLanguageModel(5, 3, 2, 1, **kw),
        ):
            with pytest.warns(DeprecationWarning, match="use recompute="):
                m = make(checkpoint=True)
            assert m.relax.recompute_every == 1

    def test_deprecated_nonlinearity_names_give_the_same_model(self):
        x = torch.randn(3, 5, generator=_g(1))
        for old, new in (("modulate", "eo"), ("coherent", "sa")):
            with pytest.warns(DeprecationWarning, match=f"it is {new!r}"):
                a = PhotonicReLaX(5, 3, 4, 2, 2, nonlinearity=old, generator=_g())
            b = PhotonicReLaX(5, 3, 4, 2, 2, nonlinearity=new, generator=_g())
            assert a.relax.activations[0].mode == new
            a.eval(), b.eval()
            assert torch.equal(a.relax.gain, b.relax.gain)
            torch.manual_seed(0)  # the switch noise comes from the model's own generators
            assert torch.equal(a(x), b(x))


class TestDiffractive:
    def test_lt_1_is_the_unrolled_d2nn_and_folding_reuses_the_masks(self):
        m = DiffractiveReLaX(16, 3, 2, 2, init="uniform", generator=_g(), dtype=torch.complex128)
        images = torch.rand(2, 8, 8, generator=_g(1), dtype=torch.float64)
        u = pn.encoding.image_to_field(images, (16, 16), (8, 8), dtype=torch.complex128)
        u = m.propagator(u)
        for k in m.relax.schedule:  # 0, 1, 0, 1: mask then the fold back
            u = m.propagator(m.masks[k](u))
        e = m.detector.energies(u)
        ref = m.log_temperature.exp() * e / e.sum(-1, keepdim=True)
        assert _close(m(images), ref)
        assert m.distance == pytest.approx(16 * 4e-4**2 / 7.5e-4)

    def test_loss_and_switch_of_an_slm_profile(self):
        m = DiffractiveReLaX(16, 3, 1, 3, loss_db=1.0, profile="holoeye_pluto2")
        assert m.relax.switch_loss_db == 1.5 and m.relax.pass_noise == pytest.approx(10**-1.5)
        m(torch.rand(2, 8, 8)).sum().backward()
        assert m.masks[0].raw.grad is not None

    def test_bad_input(self):
        with pytest.raises(ValueError, match="does not fit"):
            DiffractiveReLaX(8, 3, 1, 1, input_size=9)
        with pytest.raises(ValueError, match=r"\(B, H, W\)"):
            DiffractiveReLaX(8, 3, 1, 1)(torch.rand(8, 8))


class TestLanguageModel:
    def test_shapes_and_the_elman_rnn(self):
        tokens = torch.randint(0, 7, (3, 5), generator=_g(1))
        a = ReLaXLanguageModel(7, 6, 1, 1, generator=_g(), dtype=torch.float64)
        b = ReLaXLanguageModel(7, 6, 1, 1, mode="over_time", generator=_g(), dtype=torch.float64)
        assert a(tokens).shape == (3, 5, 7)
        assert torch.equal(a(tokens), b(tokens))
        e, h = a.embed(tokens), torch.zeros(3, 6, dtype=torch.float64)
        outs = []
        for t in range(5):  # h_{t+1} = tanh(W h_t + b + E x_t)
            h = torch.tanh(a.relax.bank[0](h) + e[:, t])
            outs.append(h)
        assert _close(a(tokens), a.readout(torch.stack(outs, 1)), 1e-14)

    def test_over_time_cycles_the_bank_over_characters(self):
        m = ReLaXLanguageModel(5, 4, 3, 1, mode="over_time", generator=_g(), dtype=torch.float64)
        tokens = torch.randint(0, 5, (2, 7), generator=_g(1))
        e, h, outs = m.embed(tokens), torch.zeros(2, 4, dtype=torch.float64), []
        for t in range(7):
            h = torch.tanh(m.relax.bank[t % 3](h) + e[:, t])
            outs.append(h)
        assert _close(m(tokens), m.readout(torch.stack(outs, 1)), 1e-14)

    def test_per_char_runs_the_schedule_per_character(self):
        m = ReLaXLanguageModel(5, 4, 2, 2, generator=_g(), dtype=torch.float64)
        tokens = torch.randint(0, 5, (2, 3), generator=_g(1))
        e, h, outs = m.embed(tokens), torch.zeros(2, 4, dtype=torch.float64), []
        for t in range(3):
            for k in (0, 1, 0, 1):
                h = torch.tanh(m.relax.bank[k](h) + e[:, t])
            outs.append(h)
        assert _close(m(tokens), m.readout(torch.stack(outs, 1)), 1e-14)

    def test_photonic_bank_and_gradient_records(self):
        m = ReLaXLanguageModel(6, 4, 2, 1, bank="mzi", generator=_g())
        tokens = torch.randint(0, 6, (2, 4), generator=_g(1))
        with m.relax.recording() as rec:
            out = m(tokens)
        assert out.shape == (2, 4, 6)
        torch.nn.functional.cross_entropy(out.reshape(-1, 6), tokens.reshape(-1)).backward()
        norms = rec.grad_norms()
        assert norms["weight"].shape == (4, 2) and torch.isfinite(norms["weight"]).all()

    def test_oeo_keeps_the_recurrent_state_bounded(self):
        # a fresh carrier: |h| <= 1 after every pass, however long the text; with the
        # phase-keeping "eo" activation and the per-pass amplifier the state grows
        tokens = torch.randint(0, 6, (2, 48), generator=_g(1))
        oeo = ReLaXLanguageModel(6, 8, 2, 2, bank="mzi", activation="oeo", generator=_g())
        assert oeo.relax.activations[0].mode == "oeo"
        with torch.no_grad():
            e = oeo.embed(tokens)
            h = torch.zeros(2, 8, dtype=oeo.state_dtype)
            for t in range(48):
                h = oeo.relax(e[:, t], h)
                assert float(h.abs().max()) <= 1 + 1e-6
        # the amplifier undoes the mesh and the switch only (the output is not ~ z)
        tr = sum(float((m.matrix().detach().abs() ** 2).sum()) / 8 for m in oeo.relax.bank) / 2
        assert float(oeo.relax.gain[0].detach()) == pytest.approx((tr * 10**-0.2) ** -0.5, rel=2e-2)

    def test_activation_gain_sets_the_drive(self):
        # eo/oeo: T(g |z|^2 - 1/2) with the drive gain g (default 0.2); the modulator
        # at the default gain and at g = 0.01 differ only through g, so with the same
        # seed the bank is the same and the pass output is sqrt(T(g P - 1/2)) for each g
        for g in (None, 0.01):
            m = ReLaXLanguageModel(
                6, 8, 1, 1, bank="mzi", activation="oeo", activation_gain=g, generator=_g()
            )
            act, drive = m.relax.activations[0], 0.2 if g is None else g
            assert float(act.log_gain.detach().exp()) == pytest.approx(drive, rel=1e-6)
            z = torch.tensor([0.0, 1.0, 2.0], dtype=torch.complex64)
            want = torch.cos(torch.pi * (drive * z.abs() ** 2 - 0.5) / 2) ** 2
            assert torch.allclose(act(z).real, want.sqrt(), atol=1e-6)
        with pytest.raises(ValueError, match="the digital bank has none"):
            ReLaXLanguageModel(6, 8, 1, 1, activation_gain=0.1)
        with pytest.raises(ValueError, match="gain of the 'abs' re-emitter"):
            PhotonicReLaX(4, 3, 4, 1, 1, nonlinearity="abs", activation_gain=0.1)
        with pytest.raises(ValueError, match="gain must be a finite number > 0"):  # not 1
            PhotonicReLaX(4, 3, 4, 1, 1, nonlinearity="oeo", activation_gain=0.0)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="l_t must be 1"):
            ReLaXLanguageModel(5, 4, 2, 2, mode="over_time")
        with pytest.raises(TypeError, match="integer token ids"):
            ReLaXLanguageModel(5, 4, 1, 1)(torch.rand(2, 3))


class TestRunKind:
    def _cfg(self, **model):
        return resolve_config({"model": {"kind": "relax", **model}, "data": {"train_limit": 8}})

    def test_budget_sets_the_width(self):
        cfg = self._cfg(budget=2000, l_w=4, l_t=2)
        net = build_model(cfg, _g())[-1]
        assert isinstance(net, DigitalReLaX) and net.width == bank_width(2000, 4, "digital")
        assert net.relax.effective_depth == 8
        cfg = self._cfg(bank={"kind": "mzi"}, width=4, l_w=2, l_t=1, schedule="0,1,1")
        net = build_model(cfg, _g())[-1]
        assert isinstance(net, PhotonicReLaX) and net.relax.schedule == (0, 1, 1)
        d = build_model(self._cfg(bank={"kind": "diffractive"}, width=12, l_w=1, l_t=2), _g())
        assert isinstance(d, DiffractiveReLaX) and d(torch.rand(2, 28, 28)).shape == (2, 10)

    def test_depth_sets_the_repeats(self):
        for l_w in (1, 2, 4):
            net = build_model(self._cfg(width=3, l_w=l_w, depth=4), _g())[-1]
            assert net.relax.effective_depth == 4 and net.relax.l_t == 4 // l_w
        with pytest.raises(ValueError, match="not a multiple of model.l_w"):
            self._cfg(l_w=3, depth=4)

    def test_checks_name_the_key(self):
        # a bank's activations are the choices of its variant of [model.bank]
        with pytest.raises(ValueError, match=r"'model.bank.activation' must be one of \['tanh'"):
            self._cfg(bank={"activation": "eo"})
        with pytest.raises(ValueError, match="classifies images"):
            self._cfg(bank={"kind": "diffractive"}, input="text")
        with pytest.raises(ValueError, match="set model.l_t = 1"):
            self._cfg(input="text", mode="over_time", l_t=2)
        with pytest.raises(ValueError, match="outside the bank"):
            self._cfg(schedule="0,2")
        with pytest.raises(ValueError, match="model.schedule"):
            self._cfg(schedule="zigzag")
        # the digital bank has no gain to set: not a key of its variant
        with pytest.raises(ValueError, match=r"unknown config key 'model.bank.activation_gain'"):
            self._cfg(bank={"activation_gain": 0.1})
        with pytest.raises(ValueError, match="'abs' has none"):
            self._cfg(bank={"kind": "mzi", "activation": "abs", "activation_gain": 0.1})
        bank = {"kind": "mzi", "activation_gain": 0.05}
        net = build_model(self._cfg(bank=bank, width=4), _g())[-1]
        gain = net.relax.activations[0].log_gain.detach().exp()
        assert float(gain) == pytest.approx(0.05, rel=1e-6)

    def test_old_key_checkpoint_reads_as_recompute(self, tmp_path):
        from photonn.runs import load_config
        from photonn.runs.config import dump_config

        with pytest.warns(DeprecationWarning, match="model.checkpoint is deprecated"):
            cfg = self._cfg(checkpoint=True)
        assert cfg["model"]["recompute"] is True and "checkpoint" not in cfg["model"]
        assert build_model(cfg, _g())[-1].relax.recompute_every == 1
        with pytest.raises(ValueError, match="are one key"):
            self._cfg(checkpoint=True, recompute=True)
        # a run directory written before the rename: its config.toml says checkpoint
        text = dump_config(self._cfg(recompute=True))
        assert "recompute = true" in text
        (tmp_path / "config.toml").write_text(text.replace("recompute = true", "checkpoint = true"))
        with pytest.warns(DeprecationWarning):
            old = load_config(tmp_path / "config.toml", stored=True)
        assert old == self._cfg(recompute=True)

    def test_photonic_run_reloads_its_checkpoints(self, tmp_path):
        # photonn eval rebuilds the model from the stored config (no generator) and loads
        # checkpoint.h5 / best.h5 of the errored, switched MZI bank: the same test loss
        from photonn.runs import evaluate_run, train_run

        cfg = resolve_config(
            {
                "model": {
                    "kind": "relax",
                    "bank": {"kind": "mzi", "phase_noise": 0.0},
                    "width": 6,
                    "l_w": 2,
                    "l_t": 2,
                    "image_size": 7,
                },
                "data": {"train_limit": 64, "test_limit": 32, "validation": 16},
                "epochs": 1,
                "progress": False,
                "pictures": False,
                "keep_best": "val_accuracy",
            }
        )
        trainer = train_run(cfg, tmp_path / "run")
        res = trainer.results
        for which in ("final", "best"):
            out = evaluate_run(tmp_path / "run", which=which)
            # the switch crosstalk is noise drawn per forward: equal to its size, not bits
            assert out["loss"] == pytest.approx(res[which]["test_loss"], rel=2e-2), which

    def test_train_run(self, tmp_path):
        from photonn.runs import train_run

        cfg = resolve_config(
            {
                "model": {"kind": "relax", "width": 8, "l_w": 2, "l_t": 2, "image_size": 7},
                "data": {"train_limit": 64, "test_limit": 32, "validation": 16},
                "epochs": 1,
                "progress": False,
                "pictures": False,
            }
        )
        trainer = train_run(cfg, tmp_path / "run")
        assert trainer.results["final"]["test_accuracy"] is not None
        assert (tmp_path / "run" / "best.h5").is_file()


def test_text_dataset_trains_a_language_model(data_dir, tmp_path):
    from photonn.runs import train_run

    cfg = resolve_config(
        {
            "model": {"kind": "relax", "input": "text", "width": 8, "l_w": 1, "l_t": 1},
            "data": {
                "dataset": "shakespeare",
                "data_dir": str(data_dir),
                "train_limit": 24,
                "test_limit": 8,
                "validation": 8,
            },
            "keep_best": "val_loss",
            "epochs": 1,
            "progress": False,
            "pictures": False,
        }
    )
    trainer = train_run(cfg, tmp_path / "lm")
    res = trainer.results["final"]
    assert res["test_accuracy"] is None and 3.0 < res["test_loss"] < 5.0  # ~ln 84 = 4.43 nats
    copy.deepcopy(trainer.model)  # picklable state (noise generators are plain generators)


def test_bank_options_are_declared_with_the_model_and_the_run_derives_from_them():
    """Every [model.bank] variant of a run is the options section of the bank's declared
    options (photonn.models.relax.BANK_OPTIONS): its keys are the declared fields' keys."""
    import dataclasses

    from photonn.models.relax import BANK_OPTIONS, DiffractiveBankOptions, DigitalBankOptions
    from photonn.runs.models import RELAX_BANKS
    from photonn.runs.schema import file_key

    assert set(RELAX_BANKS.by_kind) == set(BANK_OPTIONS)
    for kind, section in RELAX_BANKS.by_kind.items():
        options = BANK_OPTIONS[kind]
        assert section.options is options, kind
        declared = [
            file_key(f.name, f.metadata["spec"])
            for f in dataclasses.fields(options)
            if "spec" in f.metadata
        ]
        keys = [f.name for f in dataclasses.fields(section)]
        assert keys[-len(declared) :] == declared, kind
        assert set(keys) - set(declared) <= {"kind", "activation"}, kind
    o = DiffractiveBankOptions(activation="sa", switch=False, distance=0.02, loss_db=1.5)
    assert o.model_keywords() == dict(
        pitch=4e-4, wavelength=7.5e-4, distance=0.02, nonlinearity="sa", loss_db=1.5, profile=None
    )
    assert DiffractiveBankOptions().model_keywords()["profile"] == "holoeye_pluto2"
    assert DiffractiveBankOptions().model_keywords()["nonlinearity"] is None
    with pytest.raises(ValueError, match="loss_db"):
        DiffractiveBankOptions(loss_db=-1.0)
    with pytest.raises(ValueError, match="activation"):
        DigitalBankOptions(activation="sa")

"""Time domain against the frequency domain and against a ring's photon lifetime."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from photonn.circuits import Circuit, Photodetector, TimeDomain, symbols_to_envelope

C0 = 299_792_458.0
NG = 4.2


def _wg(length, loss=0.0):
    return {"component": "straight", "settings": {"length": length, "loss_db_per_m": loss}}


def allpass(k, L, loss, feed=20e-6):
    return {
        "instances": {
            "dc": {"component": "coupler", "settings": {"coupling": k}},
            "ring": _wg(L, loss),
            "feed": _wg(feed),
        },
        "connections": {"dc,o3": "ring,o1", "ring,o2": "dc,o2", "feed,o2": "dc,o1"},
        "ports": {"in": "feed,o1", "through": "dc,o4"},
    }


def network():
    """Two add-drop rings (half rings as delay lines), an MZI with a heater, a feed."""
    inst = {
        "feed": _wg(15e-6),
        "a1": {"component": "coupler", "settings": {"coupling": 0.3}},
        "a2": {"component": "coupler", "settings": {"coupling": 0.2}},
        "ah1": _wg(20e-6, 200.0), "ah2": _wg(20e-6, 200.0),
        "b1": {"component": "coupler", "settings": {"coupling": 0.25}},
        "b2": {"component": "coupler", "settings": {"coupling": 0.25}},
        "bh1": _wg(25e-6, 200.0), "bh2": _wg(25e-6, 200.0),
        "m1": {"component": "coupler"}, "m2": {"component": "coupler"},
        "arm_b": _wg(30e-6), "arm_t": _wg(45e-6),
        "ps": {"component": "phase_shifter", "settings": {"phase": 0.4}},
    }  # fmt: skip
    conn = {
        "feed,o2": "a1,o1",
        "a1,o3": "ah1,o1", "ah1,o2": "a2,o2", "a2,o3": "ah2,o1", "ah2,o2": "a1,o2",
        "a1,o4": "b1,o1",
        "b1,o3": "bh1,o1", "bh1,o2": "b2,o2", "b2,o3": "bh2,o1", "bh2,o2": "b1,o2",
        "b1,o4": "m1,o1", "a2,o4": "m1,o2",
        "m1,o4": "arm_b,o1", "arm_b,o2": "m2,o1", "m1,o3": "ps,o1", "ps,o2": "arm_t,o1",
        "arm_t,o2": "m2,o2",
    }  # fmt: skip
    ports = {"in": "feed,o1", "add_a": "a2,o1", "add_b": "b2,o1", "drop_b": "b2,o4",
             "out1": "m2,o3", "out2": "m2,o4"}  # fmt: skip
    return {"instances": inst, "connections": conn, "ports": ports}


def test_steady_state_equals_the_frequency_domain_at_the_carrier():
    """A constant drive settles on S(carrier). The transient left after n steps is
    below (largest round-trip gain)^(n / longest round trip in steps) times a bound of
    the intracavity enhancement; 3000 steps leave < 1e-9 here."""
    c = Circuit(network())
    lam = 1.5507e-6
    td = TimeDomain(c, lam, delay_tolerance=0.03)
    S = c.s_matrix(lam)[0]
    g = torch.Generator().manual_seed(0)
    drive = torch.randn(3, 6, dtype=torch.complex128, generator=g)  # 3 streams
    x = drive[:, None, :].expand(3, 3000, 6)
    y = td(x)
    assert (y[:, -1] - drive @ S.T).abs().max() < 1e-9
    # linearity over the batch of streams
    assert (y[0] + 2 * y[1] - td(x[0] + 2 * x[1])).abs().max() < 1e-12


@pytest.mark.parametrize("k, loss", [(0.05, 500.0), (0.1, 0.0)])
def test_ring_impulse_response_decays_with_the_photon_lifetime(k, loss):
    """A one-step pulse leaves the through port as r, then once per round trip, with a
    power ratio (r a)^2 between round trips: photon lifetime
    tau = -T_rt / (2 ln(r a)), T_rt = ng L / c (the time step makes T_rt exactly
    10 steps, so the rounding of delays is zero)."""
    L = 60e-6
    T_rt = NG * L / C0
    c = Circuit(allpass(k, L, loss, feed=T_rt / 10 * C0 / NG))
    td = TimeDomain(c, 1.55e-6, dt=T_rt / 10)
    assert td.steps == {"ring": 10, "feed": 1}
    x = torch.zeros(1, 400, 2, dtype=torch.complex128)
    x[0, 0, 0] = 1
    y = td(x)[0, :, 1]
    r, a = math.sqrt(1 - k), 10 ** (-loss * L / 20)
    assert abs(abs(y[1]) - r) < 1e-12  # direct path after the feed's one step
    peaks = (y[1 + 10 * np.arange(1, 30)].abs() ** 2).numpy()
    others = torch.cat([y[:1], y[2:11], y[12:21]]).abs().max()
    assert others < 1e-15  # nothing between round trips
    t = 10 * np.arange(1, 30) * td.dt
    slope = np.polyfit(t, np.log(peaks), 1)[0]
    tau = -T_rt / (2 * math.log(r * a))
    assert abs(-1 / slope - tau) < 1e-9 * tau
    # and the lifetime agrees with the frequency-domain linewidth, tau = lambda^2 /
    # (2 pi c FWHM), to the Lorentzian approximation of the Airy dip (1 % at r a >= 0.97)
    if loss > 0:
        coarse = torch.linspace(1.545e-6, 1.555e-6, 20001, dtype=torch.float64)
        res = float(coarse[int((c.s_matrix(coarse)[:, 1, 0].abs()).argmin())])
        wl = torch.linspace(res - 0.5e-9, res + 0.5e-9, 10001, dtype=torch.float64)
        through = c.s_matrix(wl)[:, 1, 0].abs() ** 2
        dip = int(through.argmin())
        half = (1 + float(through[dip])) / 2
        lo = dip - int(torch.nonzero(through[:dip].flip(0) > half)[0])
        hi = dip + int(torch.nonzero(through[dip:] > half)[0])
        fwhm = float(wl[hi] - wl[lo])
        tau_f = float(wl[dip]) ** 2 / (2 * math.pi * C0 * fwhm)
        assert abs(tau_f / tau - 1) < 0.01


def test_bit_stream_through_a_ring_is_differentiable_and_detected():
    c = Circuit(allpass(0.1, 60e-6, 300.0), trainable=["dc.coupling"])
    td = TimeDomain(c, 1.5505e-6)
    g = torch.Generator().manual_seed(1)
    bits = torch.randint(0, 2, (4, 32), generator=g).to(torch.complex128)  # 4 OOK streams
    x = torch.stack([symbols_to_envelope(bits, 8), torch.zeros(4, 256)], -1)
    det = Photodetector(td.dt, responsivity=0.8, dark_current=1e-9, bandwidth=50e9)
    current = det(td(x))
    assert current.shape == (4, 256, 2)
    # the detector starts at rest: the dark current of the dark port (no reflection
    # at 'in') rises as the first-order step response
    n = torch.arange(256, dtype=torch.float64)
    assert (current[:, :, 0] - 1e-9 * (1 - (1 - det.alpha) ** (n + 1))).abs().max() < 1e-21
    current[..., 1].mean().backward()
    assert c.parameter("dc", "coupling").grad.abs() > 0


def test_gradcheck_time_domain():
    c = Circuit(allpass(0.1, 60e-6, 300.0), trainable=["dc.coupling"])
    td = TimeDomain(c, 1.5505e-6)
    x = torch.zeros(1, 40, 2, dtype=torch.complex128)
    x[0, :5, 0] = 1

    def f(k):
        return torch.func.functional_call(td, {"circuit.params.i0_coupling": k}, (x,))

    k = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (k,), eps=1e-7)


def test_detector_bandwidth_step_response():
    dt, f3 = 1e-12, 20e9
    det = Photodetector(dt, responsivity=1.0, bandwidth=f3)
    x = torch.ones(1, 200, 1, dtype=torch.complex128)
    i = det(x)[0, :, 0].numpy()
    alpha = 1 - math.exp(-2 * math.pi * f3 * dt)
    n = np.arange(200)
    assert np.abs(i - (1 - (1 - alpha) ** (n + 1))).max() < 1e-12
    with pytest.raises(ValueError, match="too coarse for a detector bandwidth"):
        Photodetector(1e-10, bandwidth=20e9)


def test_time_domain_refusals_name_instance_and_fix():
    c = Circuit(allpass(0.1, 60e-6, 0.0))
    with pytest.raises(ValueError, match=r"too coarse for instance 'ring'.*use dt <="):
        TimeDomain(c, 1.55e-6, dt=2e-13)
    net = {"instances": {"r": {"component": "ring_allpass",
                               "settings": {"coupling": 0.1, "length": 50e-6}}},
           "connections": {}, "ports": {"a": "r,o1", "b": "r,o2"}}  # fmt: skip
    with pytest.raises(ValueError, match=r"instance 'r' \('ring_allpass'\).*'coupler' and"):
        TimeDomain(Circuit(net), 1.55e-6)

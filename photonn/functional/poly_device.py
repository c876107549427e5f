"""Transfer curves of optical nonlinear devices, from their datasheet parameters.

These are the physical response curves that polynomial activations are
fitted to (``photonn.activations.fit_polynomial``). SI units throughout:
volts, watts, W/m^2, ohms, A/W. Every function is elementwise and
differentiable in its input and in every tensor-valued parameter.
"""

from __future__ import annotations

import math

import torch

from .._checks import finite_float, positive_float, tensor


def _tensor(x, name: str) -> torch.Tensor:
    tensor(x, name)
    if x.is_complex():
        raise TypeError(f"{name} must be real (a voltage, power or intensity), got {x.dtype}")
    return x


def _db_to_ratio(value_db, name: str) -> float:
    return 10.0 ** (finite_float(value_db, name) / 10.0)


def eo_modulator(
    voltage: torch.Tensor,
    v_pi: float,
    v_bias: float = 0.0,
    *,
    insertion_loss_db: float = 0.0,
    extinction_ratio_db: float | None = None,
) -> torch.Tensor:
    """Intensity transmission of a Mach-Zehnder electro-optic modulator.

    ``T(V) = T_max [ (1 - e) cos^2(pi (V + V_bias) / (2 V_pi)) + e ]`` with
    ``T_max = 10^(-IL/10)`` and ``e = 10^(-ER/10)`` (``e = 0`` for an ideal
    extinction ratio). ``voltage`` and ``v_bias`` [V], ``v_pi`` [V] the
    half-wave voltage. Full transmission at ``V + V_bias = 0``, null at ``V_pi``.
    """
    v = _tensor(voltage, "voltage")
    vpi = positive_float(v_pi, "v_pi")
    vb = finite_float(v_bias, "v_bias")
    t_max = 1.0 / _db_to_ratio(insertion_loss_db, "insertion_loss_db")
    eps = 0.0 if extinction_ratio_db is None else 1.0 / _db_to_ratio(extinction_ratio_db, "er")
    if extinction_ratio_db is not None and extinction_ratio_db <= 0:
        raise ValueError(f"extinction_ratio_db must be > 0 dB, got {extinction_ratio_db}")
    phase = (math.pi / (2.0 * vpi)) * (v + vb)
    return t_max * ((1.0 - eps) * torch.cos(phase) ** 2 + eps)


def saturable_absorber(
    intensity: torch.Tensor,
    saturation_intensity: float,
    modulation_depth: float,
    nonsaturable_loss: float = 0.0,
) -> torch.Tensor:
    """Transmitted intensity [W/m^2] of a fast saturable absorber.

    ``T(I) = 1 - a_ns - dT / (1 + I / I_sat)`` and ``I_out = T(I) I``, with the
    modulation depth ``dT`` and the non-saturable loss ``a_ns`` as fractions
    (datasheets of SESAMs and graphene absorbers quote both, and ``I_sat`` or a
    saturation fluence). Low intensities see ``1 - a_ns - dT``, high ones
    ``1 - a_ns``. ``intensity`` must be >= 0.
    """
    i = _tensor(intensity, "intensity")
    i_sat = positive_float(saturation_intensity, "saturation_intensity")
    depth = finite_float(modulation_depth, "modulation_depth")
    loss = finite_float(nonsaturable_loss, "nonsaturable_loss")
    if not (0.0 <= depth and 0.0 <= loss and depth + loss <= 1.0):
        raise ValueError(
            "modulation_depth and nonsaturable_loss are fractions with depth + loss <= 1, "
            f"got {depth} and {loss}"
        )
    return i * (1.0 - loss - depth / (1.0 + i / i_sat))


def soa_gain(
    power: torch.Tensor, small_signal_gain_db: float, saturation_power: float, iterations: int = 60
) -> torch.Tensor:
    """Gain ``G`` (linear) of a saturated semiconductor optical amplifier.

    Steady state of the travelling-wave rate equation (Agrawal & Olsson 1989):
    ``G = G0 exp(-(G - 1) P_in / P_sat)``, with the small-signal gain ``G0``
    [dB on input] and the saturation power ``P_sat`` [W]; the 3 dB output
    saturation power of datasheets is ``P_sat,out = P_sat G0 ln 2 / (G0 - 2)``
    (see :func:`soa_saturation_power`). ``power`` [W] >= 0 is the input power.
    Solved by Newton's method in ``ln G`` (monotone convergence from ``G0``);
    the gradient is the implicit-function one, exact at the solution.
    The output power is ``soa_gain(P) * P``.
    """
    p_in = _tensor(power, "power")
    g0 = _db_to_ratio(small_signal_gain_db, "small_signal_gain_db")
    if g0 < 1.0:
        raise ValueError(f"small_signal_gain_db must be >= 0 dB, got {small_signal_gain_db}")
    p_sat = positive_float(saturation_power, "saturation_power")
    p = p_in / p_sat
    log_g0 = math.log(g0)

    def residual(u, p):
        return u - log_g0 + torch.expm1(u) * p

    with torch.no_grad():
        pd = p.detach().clamp_min(0.0)
        u = torch.full_like(pd, log_g0)
        for _ in range(iterations):
            step = residual(u, pd) / (1.0 + pd * torch.exp(u))
            u = u - step
            if bool((step.abs() <= 1e-15 * (1.0 + u.abs())).all()):
                break
        slope = 1.0 + pd * torch.exp(u)
    # one Newton step with the slope held fixed carries the implicit-function gradient
    u = u - residual(u, p) / slope
    return torch.exp(u)


def soa_saturation_power(small_signal_gain_db: float, output_saturation_power: float) -> float:
    """``P_sat`` [W] of :func:`soa_gain` from a datasheet's 3 dB output saturation power [W]."""
    g0 = _db_to_ratio(small_signal_gain_db, "small_signal_gain_db")
    if g0 <= 2.0:
        raise ValueError("a 3 dB output saturation power needs a small-signal gain above 3 dB")
    return (
        positive_float(output_saturation_power, "output_saturation_power")
        * (g0 - 2.0)
        / (g0 * math.log(2.0))
    )


def oe_converter(
    power: torch.Tensor,
    responsivity: float,
    transimpedance: float,
    v_pi: float,
    v_bias: float = 0.0,
    tap: float = 0.1,
) -> torch.Tensor:
    """Output power [W] of a photodetector-driven modulator (optical-electrical-optical).

    A fraction ``tap`` of the input power ``power`` [W] goes to a photodiode of
    ``responsivity`` [A/W] whose current a transimpedance amplifier of gain
    ``transimpedance`` [V/A = ohm] turns into the drive voltage of an
    electro-optic modulator (``v_pi``, ``v_bias`` [V]) that carries the
    remaining ``1 - tap`` of the light (Williamson et al. 2020):
    ``P_out = (1 - tap) P cos^2(pi (R Z tap P + V_bias) / (2 V_pi))``.
    """
    p = _tensor(power, "power")
    r = positive_float(responsivity, "responsivity")
    z = positive_float(transimpedance, "transimpedance")
    vpi = positive_float(v_pi, "v_pi")
    vb = finite_float(v_bias, "v_bias")
    a = finite_float(tap, "tap")
    if not 0.0 < a < 1.0:
        raise ValueError(f"tap must be a fraction in (0, 1), got {a}")
    voltage = (r * z * a) * p + vb
    return (1.0 - a) * p * torch.cos((math.pi / (2.0 * vpi)) * voltage) ** 2

"""Time-domain simulation of a circuit: complex envelopes on a carrier, delay lines.

Model (docs/circuits.md#time-domain). Fields are ``Re[A(t) exp(-i w_c t)]`` with slowly
varying envelopes ``A(t)`` sampled every ``dt``. Each waveguide (``straight``,
``bend``) is a delay line: the envelope entering one end leaves the other
``round(ng L / (c dt))`` steps later, multiplied by the waveguide's transmission at
the carrier (``exp(+i beta(w_c) L)`` and its loss). Every other instance acts
instantly with its S-matrix at the carrier. At each step the instantaneous network
(everything but the delay lines) is one linear map from the waves entering it to the
waves leaving it, computed once per call by the same port elimination as
:class:`~photonn.circuits.Circuit`. For a constant input the outputs therefore settle
exactly on the frequency-domain ``S(carrier)``; the group delays are right to the
rounding of ``ng L / c`` to whole steps (refused above ``delay_tolerance``). Since
every wave leaving a line entered it at least the shortest delay earlier, the
simulation advances that many steps at a time (one gather per group of equal delays
and one matrix product per block).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .circuit import Circuit, _eliminate
from .models import MODELS

__all__ = ["Photodetector", "TimeDomain", "lowpass", "symbols_to_envelope"]

C0 = 299_792_458.0
_DELAY_MODELS = {"straight", "bend"}
_REFUSED = {"ring_allpass", "ring_add_drop", "mzi"}


def _length(model_name: str, vals: dict) -> float:
    if model_name == "straight":
        return float(vals["length"])
    return float(vals["radius"]) * float(vals["angle_deg"]) * math.pi / 180


class TimeDomain(nn.Module):
    """A :class:`Circuit` driven by time-varying envelopes at a carrier wavelength.

    Args:
        circuit: the circuit (flat: no sub-circuits; rings and MZIs written as
            ``coupler`` and ``straight`` instances, whose delays the simulation needs).
        carrier_wavelength: [m].
        dt: time step [s]; default: the largest step, at most ``1 / (2 bandwidth)``
            and at most the shortest waveguide delay, at which every waveguide delay
            is a whole number of steps within ``delay_tolerance``.
        bandwidth: highest frequency [Hz] of the input envelopes (sets ``dt <=
            1 / (2 bandwidth)``).
        delay_tolerance: largest relative error of a waveguide delay rounded to steps.

    Shapes: ``forward(x)`` maps input envelopes ``(..., n_steps, n_ports)`` (complex,
    sqrt(W)) at :attr:`ports` to output envelopes of the same shape; the circuit starts
    dark.
    """

    def __init__(
        self,
        circuit: Circuit,
        carrier_wavelength: float,
        *,
        dt: float | None = None,
        bandwidth: float | None = None,
        delay_tolerance: float = 0.02,
    ):
        super().__init__()
        if not isinstance(circuit, Circuit):
            raise TypeError(f"circuit must be a photonn.circuits.Circuit, got {type(circuit)}")
        self.circuit = circuit
        self.carrier_wavelength = float(carrier_wavelength)
        if not (self.carrier_wavelength > 0 and math.isfinite(self.carrier_wavelength)):
            raise ValueError(f"carrier_wavelength must be positive [m], got {carrier_wavelength}")
        lines = []  # (instance index, delay [s])
        for k, (name, model, vals) in enumerate(circuit._instances):
            if isinstance(model, Circuit):
                raise ValueError(
                    f"instance {name!r} is a sub-circuit; the time domain needs a flat "
                    "netlist (write its instances into the top netlist)"
                )
            if model.name in _REFUSED and MODELS.get(model.name) is model:
                raise ValueError(
                    f"instance {name!r} ({model.name!r}) is a closed-form frequency model "
                    "with internal delays; for the time domain build it from 'coupler' and "
                    "'straight' instances"
                )
            if model.name in _DELAY_MODELS and MODELS.get(model.name) is model:
                v = {key: circuit._value(x) for key, x in vals.items()}
                length = _length(model.name, v)
                if length > 0:
                    lines.append((k, float(v["ng"]) * length / C0))
        self._lines = lines
        taus = [t for _, t in lines]
        if dt is None:
            dt = min(taus) if taus else (1 / (2 * bandwidth) if bandwidth else None)
            if dt is None:
                raise ValueError("a circuit without waveguides needs dt= or bandwidth=")
            if bandwidth:
                dt = min(dt, 1 / (2 * bandwidth))
            base = dt
            for m in range(1, 1025):
                dt = base / m
                if all(abs(round(t / dt) - t / dt) <= delay_tolerance * t / dt for t in taus):
                    break
        self.dt = float(dt)
        if not (self.dt > 0 and math.isfinite(self.dt)):
            raise ValueError(f"dt must be positive [s], got {dt}")
        if bandwidth is not None and self.dt > 1 / (2 * bandwidth) * (1 + 1e-12):
            raise ValueError(
                f"dt = {self.dt:.4g} s cannot sample envelopes of bandwidth {bandwidth:.4g} Hz; "
                f"use dt <= {1 / (2 * bandwidth):.4g} s"
            )
        steps = []
        for k, tau in lines:
            n = round(tau / self.dt)
            err = abs(n * self.dt - tau) / tau
            if n < 1 or err > delay_tolerance:
                name = circuit._instances[k][0]
                raise ValueError(
                    f"time step dt = {self.dt:.4g} s is too coarse for instance {name!r}: its "
                    f"group delay {tau:.4g} s is {tau / self.dt:.3f} steps, rounded to {n} "
                    f"(error {100 * err:.1f}% > delay_tolerance {100 * delay_tolerance:.1f}%); "
                    f"use dt <= {tau * delay_tolerance:.3g} s or a delay of whole steps"
                )
            steps.append(n)
        self.steps = dict(zip((circuit._instances[k][0] for k, _ in lines), steps))
        self._wire(steps)

    def _wire(self, steps) -> None:
        c = self.circuit
        line_of = {}  # global port -> (line index, end 0/1)
        for j, (k, _) in enumerate(self._lines):
            name = c._instances[k][0]
            g0 = c._start[name]
            line_of[g0], line_of[g0 + 1] = (j, 0), (j, 1)
        self._n_lines = len(self._lines)
        self._delay = torch.tensor(steps, dtype=torch.long)
        partner = {}
        for a, b in c._pairs:
            partner[a], partner[b] = b, a
        ext_pos = {g: i for i, g in enumerate(c._ext)}
        # instantaneous network: its "open" ports are the circuit's external ports on
        # instant instances, and instant ports facing a line end
        open_ports, inst_pairs = [], []
        for a, b in c._pairs:
            if a in line_of or b in line_of:
                continue
            inst_pairs.append((a, b))
        # drive of each line end (where the wave entering the line comes from) and
        # destination of each line output: ("ext", i), ("net", open index), ("line", idx)
        src, dst = [None] * (2 * self._n_lines), [None] * (2 * self._n_lines)
        for g, (j, e) in line_of.items():
            q = partner.get(g)
            idx = 2 * j + e
            if g in ext_pos:
                src[idx] = dst[idx] = ("ext", ext_pos[g])
            elif q is None:  # dangling end terminated
                src[idx] = dst[idx] = ("none", 0)
            elif q in line_of:
                jq, eq = line_of[q]
                src[idx] = dst[idx] = ("line", 2 * jq + eq)
            else:
                open_ports.append(q)
                src[idx] = dst[idx] = ("net", len(open_ports) - 1)
        self._ext_net = [g for g in c._ext if g not in line_of]
        self._open = open_ports
        self._inst_pairs = inst_pairs
        self._src, self._dst = src, dst
        self._line_ext = {i for i, g in enumerate(c._ext) if g in line_of}

    def _network(self):
        """(G, t): G maps waves entering the instantaneous network ``[ext_net, open]`` to
        the waves leaving it; t ``(n_lines,)`` the lines' transmissions at the carrier."""
        c = self.circuit
        wl = torch.tensor([self.carrier_wavelength], dtype=torch.float64)
        mats = c._instance_matrices(wl, True)
        line_idx = {k for k, _ in self._lines}
        t = torch.stack([mats[k][0, 1, 0] for k, _ in self._lines]) if self._lines else None
        keep_inst = [k for k in range(len(mats)) if k not in line_idx]
        # global -> local index over the kept instances
        local, S = {}, None
        for k in keep_inst:
            name = c._instances[k][0]
            g0 = c._start[name]
            for j in range(mats[k].shape[-1]):
                local[g0 + j] = len(local)
            m = mats[k]
            S = m if S is None else torch.cat(
                [torch.cat([S, S.new_zeros(1, S.shape[-2], m.shape[-1])], -1),
                 torch.cat([m.new_zeros(1, m.shape[-2], S.shape[-1]), m], -1)], -2
            )  # fmt: skip
        ports = self._ext_net + self._open
        if S is None:
            return torch.zeros(0, 0, dtype=torch.complex128), t
        keep = [local[g] for g in ports]
        pairs = [(local[a], local[b]) for a, b in self._inst_pairs]
        dropped = {local[g] for g in c._dropped if g in local}
        used = set(keep) | {i for p in pairs for i in p} | dropped
        if len(used) != S.shape[-1]:  # defensive: every port has a role
            raise RuntimeError("internal wiring error in the time-domain network")
        if pairs:
            G = _eliminate(S, keep, pairs, wl, "the instantaneous network")
        else:
            kt = torch.tensor(keep, dtype=torch.long)
            G = S[..., kt[:, None], kt]
        return G[0], t

    @property
    def ports(self) -> list[str]:
        return self.circuit.ports

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_complex():
            raise TypeError("x must be complex envelopes (..., n_steps, n_ports) [sqrt(W)]")
        n_ports = len(self.circuit.ports)
        if x.ndim < 2 or x.shape[-1] != n_ports:
            raise ValueError(f"x must end in (n_steps, {n_ports}), got {tuple(x.shape)}")
        x = x.to(torch.complex128)
        G, t = self._network()
        n_steps = x.shape[-2]
        batch = x.shape[:-2]
        dev = x.device
        ext_pos = {g: i for i, g in enumerate(self.circuit._ext)}
        net_ext = torch.tensor([ext_pos[g] for g in self._ext_net], dtype=torch.long, device=dev)
        n_net = len(self._ext_net) + len(self._open)
        nL = 2 * self._n_lines
        # line ends: index 2 j + e; a wave entering end e of line j leaves end 1 - e,
        # ``delay`` steps later; the ends are gathered in groups of equal delay
        groups = {}
        for i in range(nL):
            groups.setdefault(int(self._delay[i // 2]), []).append(i)
        gathers = []  # (delay, the ends leaving, the ends they entered, their transmissions)
        for d, ends in sorted(groups.items()):
            e = torch.tensor(ends, dtype=torch.long, device=dev)
            gathers.append((d, e, e + 1 - 2 * (e % 2), t.repeat_interleave(2)[e]))
        order = torch.cat([g[1] for g in gathers]) if nL else None
        unorder = torch.argsort(order) if nL else None
        open_from_line = [0] * len(self._open)
        for i, s in enumerate(self._dst):
            if s[0] == "net":
                open_from_line[s[1]] = i
        open_from_line = torch.tensor(open_from_line, dtype=torch.long, device=dev)
        # where the wave entering each line end comes from, in [x, b, line_out, 0]
        pool_at = {"ext": 0, "net": n_ports + len(self._ext_net), "line": n_ports + n_net}
        src = [n_ports + n_net + nL if k == "none" else pool_at[k] + j for k, j in self._src]
        src = torch.tensor(src, dtype=torch.long, device=dev)
        # where each external output comes from, in [b, line_out]
        y_at = [0] * n_ports
        for i, p in enumerate(net_ext.tolist()):
            y_at[p] = i
        for i, s in enumerate(self._dst):
            if s[0] == "ext":
                y_at[s[1]] = n_net + i
        y_at = torch.tensor(y_at, dtype=torch.long, device=dev)
        Gt = G.transpose(-1, -2)
        # Every wave leaving a line entered it at least ``block`` steps earlier, so
        # ``block`` steps are advanced at once: gathered from the history, one matrix
        # product through the instantaneous network, written back.
        block = min(d for d, *_ in gathers) if nL else max(n_steps, 1)
        hist = x.new_zeros((*batch, n_steps, nL)) if nL else None  # waves entering lines
        outs = []
        for n0 in range(0, n_steps, block):
            n1 = min(n0 + block, n_steps)
            c = n1 - n0
            xc = x[..., n0:n1, :]
            if nL:
                parts = []
                for d, e, ent, tr in gathers:
                    lo, hi = n0 - d, n1 - d  # hi <= n0: entered in an earlier block
                    if hi <= 0:
                        parts.append(x.new_zeros((*batch, c, len(e))))
                        continue
                    got = hist[..., max(lo, 0) : hi, :][..., ent] * tr
                    if lo < 0:
                        got = torch.cat([x.new_zeros((*batch, -lo, len(e))), got], -2)
                    parts.append(got)
                line_out = (torch.cat(parts, -1) if len(parts) > 1 else parts[0])[..., unorder]
            else:
                line_out = x.new_zeros((*batch, c, 0))
            if n_net:
                a = torch.cat([xc[..., net_ext], line_out[..., open_from_line]], -1)
                b = a @ Gt
            else:
                b = x.new_zeros((*batch, c, 0))
            if nL:
                zero = x.new_zeros((*batch, c, 1))
                hist[..., n0:n1, :] = torch.cat([xc, b, line_out, zero], -1)[..., src]
            outs.append(torch.cat([b, line_out], -1)[..., y_at])
        return torch.cat(outs, -2)

    def extra_repr(self) -> str:
        lam = self.carrier_wavelength
        return f"carrier_wavelength={lam:.6g}, dt={self.dt:.4g}, steps={self.steps}"


def lowpass(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """First-order low-pass along the last axis ``(..., n_steps)``:
    ``y[n] = (1 - alpha) y[n-1] + alpha x[n]`` from rest, as an FFT convolution with
    ``alpha (1 - alpha)^k`` (differentiable, no loop)."""
    n = x.shape[-1]
    k = torch.arange(n, dtype=torch.float64, device=x.device)
    h = (alpha * (1 - alpha) ** k).to(x.dtype)
    m = 2 * n
    y = torch.fft.irfft(torch.fft.rfft(x, m) * torch.fft.rfft(h, m), m)[..., :n]
    return y


class Photodetector(nn.Module):
    """Photodiode with a finite bandwidth: ``i = lowpass(R |A|^2 + I_dark)``.

    Args:
        responsivity: [A/W]; dark_current: [A]; bandwidth: 3 dB frequency [Hz] of its
            first-order response (``None``: instantaneous); dt: the time step [s].

    Shapes: complex envelopes ``(..., n_steps, n)`` [sqrt(W)] -> currents ``(..., n_steps,
    n)`` [A].
    """

    def __init__(self, dt: float, responsivity=1.0, dark_current=0.0, bandwidth=None):
        super().__init__()
        self.dt = float(dt)
        self.responsivity = float(responsivity)
        self.dark_current = float(dark_current)
        self.bandwidth = bandwidth
        if bandwidth is not None:
            if bandwidth * self.dt > 0.25:
                raise ValueError(
                    f"dt = {self.dt:.4g} s is too coarse for a detector bandwidth of "
                    f"{bandwidth:.4g} Hz; use dt <= {0.25 / bandwidth:.4g} s"
                )
            self.alpha = 1 - math.exp(-2 * math.pi * bandwidth * self.dt)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = self.responsivity * x.abs() ** 2 + self.dark_current
        if self.bandwidth is None:
            return i
        return lowpass(i.transpose(-1, -2), self.alpha).transpose(-1, -2)


def symbols_to_envelope(symbols: torch.Tensor, samples_per_symbol: int) -> torch.Tensor:
    """Hold each symbol (``(..., n_symbols)``, e.g. OOK ``{0, 1}`` or PAM-4 levels)
    for ``samples_per_symbol`` steps: ``(..., n_symbols * samples_per_symbol)``."""
    return symbols.repeat_interleave(int(samples_per_symbol), dim=-1)

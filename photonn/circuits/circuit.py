"""``Circuit``: a netlist as an ``nn.Module``, evaluated exactly by eliminating internal ports.

Algorithm (docs/circuits.md#evaluation). With the outgoing waves ``b = S a`` of all
instance ports, and every internal port fed by the port it is connected to
(``a_I = C b_I``, ``C`` the pairing permutation), the external S-matrix is

    S_ext = S_EE + S_EI C (I - S_II C)^-1 S_IE

``method="dense"`` solves this once for all internal ports (block-diagonal ``S`` of
every instance, a batched solve over wavelengths); ``method="sparse"`` orders the
unknowns (the waves entering the connected ports) by their dependency graph, from the
structural non-zeros of the instances' S-matrices: its strongly connected components
(the loops: rings, reflections) are solved each at its own size, and everything else
is composed in topological order with no solve at all (a feed-forward mesh needs
none); ``method="cascade"`` adds the instances one at a time in breadth-first order
and eliminates each connection as soon as both of its ends are present, so the solves
stay the size of the connections made at that step and the matrix the size of the
open ports. ``"auto"`` takes ``dense`` up to 128 internal ports and ``sparse`` above.
All three are exact; every solve is done in complex128, and solves of 128 or more
unknowns run on one thread (batched LU solves on two threads return wrong answers
from about 152 unknowns on some CPUs).
"""

from __future__ import annotations

from collections import deque

import torch
from torch import nn

from .._checks import complex_dtype
from ..functional.linalg import mkl_safe, safe_solve
from .models import MODELS, REQUIRED, Model
from .netlist import Netlist, NetlistError, read_netlist

__all__ = ["Circuit", "SingularCircuitError"]

# The system matrix is I - S_II C with a passive S (norm <= 1), so its own norm is at
# most 2 and the size of its inverse measures how close it is to singular: a 1-norm of
# the inverse above this loses more than ~1e-6 relative accuracy in complex128
# (eps = 2.2e-16) and the circuit is called singular there. (A resonance of Q ~ 1e9
# reaches ~1e9; a closed loop with no coupling out, ~1/eps.)
COND_LIMIT = 1e-6 / torch.finfo(torch.float64).eps
# the dense elimination solves one system of all internal ports; past this size the
# sparse one (loops solved at their own size, the rest composed) is cheaper
DENSE_UP_TO = 128


class SingularCircuitError(ArithmeticError):
    """The port-elimination system is (numerically) singular at some wavelength."""


def _solve(A: torch.Tensor, B: torch.Tensor, wavelengths: torch.Tensor, what: str):
    """``A^-1 B`` batched over wavelengths, refusing singular systems."""
    X = safe_solve(A, B)  # batched solves and their backward on one CPU thread (MKL fault)
    with torch.no_grad():
        _refuse_singular(A.detach(), torch.isfinite(X).all(-1).all(-1), wavelengths, what)
    return X


def _refuse_singular(A: torch.Tensor, finite: torch.Tensor, wavelengths, what) -> None:
    """Raise :class:`SingularCircuitError` where ``|A^-1|_1`` exceeds ``COND_LIMIT`` or
    the solution (``finite``, shaped like ``A.shape[:-2]``) is not finite. ``A`` is
    ``(n_wl, n, n)`` or ``(n_wl, n_blocks, n, n)``; ``what`` names the system, or each
    block (a list)."""
    with torch.no_grad(), mkl_safe():
        cond = torch.linalg.cond(A, p=1) / torch.linalg.matrix_norm(A, ord=1)
    bad = ~torch.isfinite(cond) | (cond > COND_LIMIT) | ~finite
    if not bool(bad.any()):
        return
    # a batch of systems per wavelength: the first bad one at the first bad wavelength
    bad2 = bad.reshape(bad.shape[0], -1)
    i = int(bad2.any(-1).nonzero()[0, 0])
    j = int(bad2[i].nonzero()[0, 0])
    if not isinstance(what, str):
        what = what[j]
    n_bad = int(bad2.any(-1).sum())
    c = float(cond.reshape(cond.shape[0], -1)[i, j])
    wl = float(wavelengths.reshape(-1)[i]) if wavelengths.numel() > i else float("nan")
    raise SingularCircuitError(
        f"the circuit is singular at wavelength {wl:.9e} m ({n_bad} of "
        f"{bad2.shape[0]} wavelengths; |(I - S C)^-1| = {c:.3g} > "
        f"{COND_LIMIT:.3g}) while connecting {what}: a closed lossless loop with no "
        "coupling out resonates there; add loss or coupling, or avoid that wavelength"
    )


def _block_diag(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched block diagonal of ``(..., p, p)`` and ``(..., q, q)``."""
    p, q = a.shape[-1], b.shape[-1]
    batch = a.shape[:-2]
    za = a.new_zeros(*batch, p, q)
    zb = a.new_zeros(*batch, q, p)
    return torch.cat([torch.cat([a, za], -1), torch.cat([zb, b], -1)], -2)


def _eliminate(S, keep, pairs, wavelengths, what):
    """Connect port pairs ``pairs`` (index pairs into S) and return S over ``keep``."""
    J = [i for p in pairs for i in p]
    partner = {}
    for a, b in pairs:
        partner[a], partner[b] = b, a
    pos = {j: k for k, j in enumerate(J)}
    perm = torch.tensor([pos[partner[j]] for j in J], device=S.device)
    keep_t = torch.tensor(keep, dtype=torch.long, device=S.device)
    J_t = torch.tensor(J, dtype=torch.long, device=S.device)
    S_kk = S[..., keep_t[:, None], keep_t]
    S_kj = S[..., keep_t[:, None], J_t]
    S_jk = S[..., J_t[:, None], keep_t]
    S_jj = S[..., J_t[:, None], J_t]
    eye = torch.eye(len(J), dtype=S.dtype, device=S.device)
    A = eye - S_jj[..., perm]
    X = _solve(A, S_jk, wavelengths, what)
    return S_kk + S_kj[..., perm] @ X


class Circuit(nn.Module):
    """A photonic circuit from an instances / connections / ports netlist.

    Args:
        netlist: a dict, a JSON string, or a ``.json`` / ``.yaml`` path
            (:func:`~photonn.circuits.read_netlist`).
        models: extra or replacing component models: name -> :class:`Model`, a
            ``Circuit`` (hierarchy: the sub-circuit's external ports are the
            component's ports) or a netlist dict (made a ``Circuit`` with the same
            ``models``). Built-ins: :data:`~photonn.circuits.MODELS`.
        trainable: settings to make ``nn.Parameter`` s, as ``"instance.setting"``
            strings or ``(instance, setting)`` pairs. A setting given as an
            ``nn.Parameter`` in the netlist is trained too; plain numbers are fixed.
        dangling: ``"error"`` (default): a port neither connected nor external is an
            error; ``"terminate"``: such ports end in a matched load (no reflection).
        method: ``"auto"``, ``"dense"``, ``"sparse"`` or ``"cascade"`` (module
            docstring).
        dtype: complex dtype of the returned S-matrices (computed in float64 /
            complex128 and cast once); default complex128.

    Shapes: :meth:`s_matrix` maps wavelengths ``(n_wl,)`` [m] to ``(n_wl, n_ports,
    n_ports)`` with ``S[:, out, in]`` over :attr:`ports`; :meth:`forward` maps input
    amplitudes ``(..., n_wl, n_ports)`` to output amplitudes of the same shape.
    """

    def __init__(
        self,
        netlist,
        *,
        models: dict | None = None,
        trainable=(),
        dangling: str = "error",
        method: str = "auto",
        dtype=torch.complex128,
    ):
        super().__init__()
        if dangling not in ("error", "terminate"):
            raise ValueError(f"dangling must be 'error' or 'terminate', got {dangling!r}")
        if method not in ("auto", "dense", "sparse", "cascade"):
            raise ValueError(
                f"method must be 'auto', 'dense', 'sparse' or 'cascade', got {method!r}"
            )
        self.dtype = complex_dtype(dtype)
        self.method = method
        net = netlist if isinstance(netlist, Netlist) else read_netlist(netlist)
        lib = dict(MODELS)
        self.subcircuits = nn.ModuleDict()
        for name, m in (models or {}).items():
            if isinstance(m, dict):
                others = {k: v for k, v in models.items() if k != name}
                m = Circuit(m, models=others, dangling=dangling, dtype=torch.complex128)
            if not isinstance(m, (Model, Circuit)):
                raise TypeError(
                    f"models[{name!r}] must be a photonn.circuits.Model, a Circuit or a "
                    f"netlist dict, got {type(m).__name__}"
                )
            lib[name] = m
        self.params = nn.ParameterDict()
        self._instances: list[tuple[str, object, dict]] = []  # (name, model, settings)
        trainable = {self._split(t) for t in trainable}
        for idx, (name, (comp, settings)) in enumerate(net.instances.items()):
            if comp not in lib:
                raise NetlistError(
                    f"instance {name!r} uses unknown component {comp!r}; built-in and given "
                    f"components are {sorted(lib)} (add yours with models={{{comp!r}: ...}})"
                )
            model = lib[comp]
            if isinstance(model, Circuit):
                key = f"i{idx}"
                self.subcircuits[key] = model
                if settings:
                    raise NetlistError(
                        f"instance {name!r}: sub-circuit {comp!r} takes no settings (got "
                        f"{sorted(settings)}); set them in its own netlist"
                    )
                self._instances.append((name, model, {}))
                continue
            vals = self._settings(idx, name, model, settings, trainable)
            self._instances.append((name, model, vals))
        unknown = trainable - {(n, s) for n, _, v in self._instances for s in v}
        if unknown:
            raise NetlistError(f"trainable names settings that no instance has: {sorted(unknown)}")
        self._wire(net, dangling)

    # ---- construction -----------------------------------------------------------------
    @staticmethod
    def _split(t) -> tuple[str, str]:
        if isinstance(t, str):
            inst, _, s = t.rpartition(".")
            if not inst:
                raise ValueError(f"trainable entry {t!r} must read 'instance.setting'")
            return inst, s
        inst, s = t
        return str(inst), str(s)

    def _settings(self, idx, name, model: Model, settings, trainable) -> dict:
        allowed = set(model.defaults) | set(model.ignored)
        extra = sorted(set(settings) - allowed)
        if extra:
            raise NetlistError(
                f"instance {name!r} ({model.name!r}) has no setting(s) {extra}; its settings "
                f"are {sorted(model.defaults)}"
            )
        vals = {}
        for k, default in model.defaults.items():
            v = settings.get(k, default)
            if v is REQUIRED:
                unit = model.units.get(k)
                raise NetlistError(
                    f"instance {name!r} ({model.name!r}) needs setting {k!r}"
                    + (f" [{unit}]" if unit else "")
                )
            if isinstance(v, nn.Parameter) or (name, k) in trainable:
                if not isinstance(v, nn.Parameter):
                    if isinstance(v, bool) or not isinstance(v, (int, float, torch.Tensor)):
                        raise NetlistError(
                            f"instance {name!r}: setting {k!r} = {v!r} is not a number and "
                            "cannot be trainable"
                        )
                    v = nn.Parameter(torch.as_tensor(v, dtype=torch.float64).clone())
                self.params[f"i{idx}_{k}"] = v
                v = ("param", f"i{idx}_{k}")
            elif isinstance(v, torch.Tensor):
                self.register_buffer(f"_b{idx}_{k}", v.detach().clone(), persistent=False)
                v = ("buffer", f"_b{idx}_{k}")
            elif isinstance(v, bool):
                raise NetlistError(f"instance {name!r}: setting {k!r} = {v!r} must be a number")
            elif isinstance(v, int):
                v = float(v)
            vals[k] = v
        return vals

    def _wire(self, net: Netlist, dangling: str) -> None:
        inst_ports: dict[str, tuple[str, ...]] = {}
        for name, model, _ in self._instances:
            inst_ports[name] = tuple(model.ports)
        offset, start = 0, {}
        for name, ports in inst_ports.items():
            start[name] = offset
            offset += len(ports)
        self._n_total = offset

        def gid(ref, where):
            inst, port = ref
            if inst not in inst_ports:
                raise NetlistError(
                    f"{where} names instance {inst!r}, which the netlist does not define"
                )
            if port not in inst_ports[inst]:
                raise NetlistError(
                    f"{where} names port {port!r} of instance {inst!r}, which has ports "
                    f"{list(inst_ports[inst])}"
                )
            return start[inst] + inst_ports[inst].index(port)

        used: dict[int, str] = {}

        def use(g, ref, where):
            if g in used:
                raise NetlistError(
                    f"port {ref[1]!r} of instance {ref[0]!r} is connected twice ({used[g]} and "
                    f"{where}); a port takes one connection: add a splitter or coupler"
                )
            used[g] = where

        pairs = []
        for a, b in net.connections:
            where = f"connection {a[0]},{a[1]} - {b[0]},{b[1]}"
            ga, gb = gid(a, where), gid(b, where)
            if ga == gb:
                raise NetlistError(f"{where} connects a port to itself")
            use(ga, a, where)
            use(gb, b, where)
            pairs.append((ga, gb))
        ext = []
        for name, ref in net.ports.items():
            where = f"external port {name!r}"
            g = gid(ref, where)
            use(g, ref, where)
            ext.append(g)
        dropped = []
        for name, ports in inst_ports.items():
            for k, p in enumerate(ports):
                g = start[name] + k
                if g not in used:
                    if dangling == "error":
                        raise NetlistError(
                            f"port {p!r} of instance {name!r} is neither connected nor an "
                            "external port; connect it, name it in 'ports', end it in a "
                            "'terminator', or pass dangling='terminate'"
                        )
                    dropped.append(g)
        self._ports = list(net.ports)
        self._ext = ext
        self._pairs = pairs
        self._dropped = set(dropped)
        self._start = start
        self._instance_ports = inst_ports
        n_int = 2 * len(pairs)
        if self.method == "auto":
            self._method = "dense" if n_int <= DENSE_UP_TO else "sparse"
        else:
            self._method = self.method

    # ---- access ---------------------------------------------------------------------------
    @property
    def ports(self) -> list[str]:
        """External port names, in the order of the S-matrix axes."""
        return list(self._ports)

    @property
    def instances(self) -> list[str]:
        return [n for n, _, _ in self._instances]

    def parameter(self, instance: str, setting: str) -> nn.Parameter:
        """The trainable parameter of ``instance``'s ``setting``."""
        for _idx, (name, _, vals) in enumerate(self._instances):
            if name == instance:
                v = vals.get(setting)
                if isinstance(v, tuple) and v[0] == "param":
                    return self.params[v[1]]
                raise KeyError(f"setting {setting!r} of instance {instance!r} is not trainable")
        raise KeyError(f"no instance {instance!r}")

    def _value(self, v):
        if isinstance(v, tuple) and len(v) == 2 and v[0] in ("param", "buffer"):
            return self.params[v[1]] if v[0] == "param" else getattr(self, v[1])
        return v

    # ---- evaluation -------------------------------------------------------------------------
    def _instance_matrices(self, wl: torch.Tensor, check: bool) -> list[torch.Tensor]:
        """Each instance's ``(n_wl, n, n)`` complex128 S-matrix, evaluated per model group."""
        out: list = [None] * len(self._instances)
        groups: dict = {}
        for idx, (_name, model, vals) in enumerate(self._instances):
            if isinstance(model, Circuit):
                out[idx] = model.s_matrix(wl, check_wavelengths=check).to(torch.complex128)
                continue
            key = (
                id(model),
                tuple(
                    (k, v if isinstance(v, (str, type(None))) else "#")
                    for k, v in sorted(vals.items())
                ),
            )
            groups.setdefault(key, []).append(idx)
        for idxs in groups.values():
            model = self._instances[idxs[0]][1]
            keys = list(self._instances[idxs[0]][2])
            stacked = {}
            for k in keys:
                vs = [self._value(self._instances[i][2][k]) for i in idxs]
                if isinstance(vs[0], (str, type(None))):
                    stacked[k] = vs[0]
                elif all(isinstance(v, float) for v in vs):
                    stacked[k] = torch.tensor(vs, dtype=torch.float64, device=wl.device)[:, None]
                else:
                    stacked[k] = torch.stack(
                        [torch.as_tensor(v, dtype=torch.float64, device=wl.device) for v in vs]
                    ).reshape(len(idxs), 1)
            for k in model.ignored:
                stacked.pop(k, None)
            if model.prepare is not None:
                stacked = model.prepare(stacked)
            if check and model.wavelength_range is not None:
                self._check_range(model, idxs, stacked, wl)
            S = model.fn(wl[None, :], **stacked)
            S = S.to(torch.complex128).expand(len(idxs), wl.shape[0], *S.shape[-2:])
            for j, i in enumerate(idxs):
                out[i] = S[j]
        return out

    def _check_range(self, model, idxs, stacked, wl):
        with torch.no_grad():
            lo, hi = model.wavelength_range(
                {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in stacked.items()}
            )
            lo = torch.as_tensor(lo, dtype=torch.float64).reshape(-1, 1)
            hi = torch.as_tensor(hi, dtype=torch.float64).reshape(-1, 1)
            bad = (wl[None, :] < lo) | (wl[None, :] > hi)
            if bool(bad.any()):
                j, w = (int(x) for x in bad.nonzero()[0])
                j_lo = float(lo[j if lo.shape[0] > 1 else 0, 0])
                j_hi = float(hi[j if hi.shape[0] > 1 else 0, 0])
                name = self._instances[idxs[j]][0]
                raise ValueError(
                    f"wavelength {float(wl[w]):.6e} m is outside the range "
                    f"[{j_lo:.6e}, {j_hi:.6e}] m of instance {name!r} ({model.name!r}); "
                    "sweep inside it, move its wavelength0 closer, or pass "
                    "check_wavelengths=False"
                )

    def s_matrix(self, wavelengths, *, check_wavelengths: bool = True) -> torch.Tensor:
        """The external S-matrix ``(n_wl, n_ports, n_ports)``, ``S[:, out, in]`` over
        :attr:`ports`, at ``wavelengths`` ``(n_wl,)`` [m] (a float is one wavelength)."""
        wl = torch.as_tensor(wavelengths, dtype=torch.float64)
        if wl.ndim == 0:
            wl = wl[None]
        if wl.ndim != 1 or wl.numel() == 0:
            raise ValueError(f"wavelengths must be a 1-D sequence [m], got shape {tuple(wl.shape)}")
        if not bool(torch.isfinite(wl).all()) or bool((wl <= 0).any()):
            raise ValueError("wavelengths must be finite and positive [m]")
        mats = self._instance_matrices(wl, check_wavelengths)
        if self._method == "dense":
            S = self._dense(mats, wl)
        elif self._method == "sparse":
            S = self._sparse(mats, wl)
        else:
            S = self._cascade(mats, wl)
        return S.to(self.dtype)

    def _dense(self, mats, wl):
        S = mats[0]
        for m in mats[1:]:
            S = _block_diag(S, m)
        if not self._pairs:
            return S[..., torch.tensor(self._ext)[:, None], torch.tensor(self._ext)]
        return _eliminate(S, self._ext, self._pairs, wl, f"{len(self._pairs)} connections")

    def _order(self):
        """Instances in breadth-first order over the connections (netlist order within)."""
        n_inst = len(self._instances)
        owner = {}
        for k, (name, _, _) in enumerate(self._instances):
            for j in range(len(self._instance_ports[name])):
                owner[self._start[name] + j] = k
        adj: list[list[int]] = [[] for _ in range(n_inst)]
        for a, b in self._pairs:
            adj[owner[a]].append(owner[b])
            adj[owner[b]].append(owner[a])
        order, seen = [], [False] * n_inst
        for root in range(n_inst):
            if seen[root]:
                continue
            seen[root] = True
            q = deque([root])
            while q:
                k = q.popleft()
                order.append(k)
                for nb in adj[k]:
                    if not seen[nb]:
                        seen[nb] = True
                        q.append(nb)
        return order

    def _cascade(self, mats, wl):
        """Add instances one at a time; the open ports live in the slots of one matrix
        ``S`` (freed slots are reused), and each step is one rank-``j`` update of it,
        ``j`` the number of connections the new instance makes."""
        partner = {}
        for a, b in self._pairs:
            partner[a], partner[b] = b, a
        slot_of: dict[int, int] = {}  # open global port -> slot
        free: list[int] = []
        S = mats[0].new_zeros(wl.shape[0], 0, 0)
        for k in self._order():
            name = self._instances[k][0]
            g0 = self._start[name]
            ports = [g0 + j for j in range(len(self._instance_ports[name]))]
            T = mats[k]
            # connections inside the instance first
            own = []
            for i, g in enumerate(ports):
                if g in partner and partner[g] in ports and ports.index(partner[g]) > i:
                    own.append((i, ports.index(partner[g])))
            live = [i for i, g in enumerate(ports) if g not in self._dropped]
            if own:
                in_own = {i for p in own for i in p}
                keep = [i for i in live if i not in in_own]
                T = _eliminate(T, keep, own, wl, f"instance {name!r} to itself")
                ports = [ports[i] for i in keep]
            elif len(live) < len(ports):
                lt = torch.tensor(live)
                T = T[..., lt[:, None], lt]
                ports = [ports[i] for i in live]
            b_loc = [i for i, g in enumerate(ports) if partner.get(g) in slot_of]
            y_loc = [i for i, g in enumerate(ports) if partner.get(g) not in slot_of]
            a_slots = [slot_of.pop(partner[ports[i]]) for i in b_loc]
            free = a_slots + free
            need = len(y_loc) - len(free)
            if need > 0:
                P = S.shape[-1]
                S = torch.nn.functional.pad(S, (0, need, 0, need))
                free = free + list(range(P, P + need))
            y_slots, free = free[: len(y_loc)], free[len(y_loc) :]
            yt = torch.tensor(y_loc, dtype=torch.long)
            T_yy = T[..., yt[:, None], yt]
            if b_loc:
                bt = torch.tensor(b_loc, dtype=torch.long)
                at = torch.tensor(a_slots, dtype=torch.long)
                T_bb = T[..., bt[:, None], bt]
                T_by = T[..., bt[:, None], yt]
                T_yb = T[..., yt[:, None], bt]
                S_aa = S[..., at[:, None], at]
                S_ax = S[..., at, :]
                S_xa = S[..., :, at]
                eye = torch.eye(len(b_loc), dtype=S.dtype, device=S.device)
                rhs = torch.cat([T_bb @ S_ax, T_by], -1)
                Y = _solve(eye - T_bb @ S_aa, rhs, wl, f"instance {name!r}")
                Y1, Y2 = Y[..., : S.shape[-1]], Y[..., S.shape[-1] :]
                S = torch.baddbmm(S, S_xa, Y1) if S.ndim == 3 else S + S_xa @ Y1
                S_yx = T_yb @ (S_ax + S_aa @ Y1)
                S_xy = S_xa @ Y2
                S_yy = T_yy + T_yb @ S_aa @ Y2
            else:
                S = S.clone()
                S_yx = S.new_zeros(S.shape[0], len(y_loc), S.shape[-1])
                S_xy = S.new_zeros(S.shape[0], S.shape[-1], len(y_loc))
                S_yy = T_yy
            ys = torch.tensor(y_slots, dtype=torch.long)
            if len(y_slots):
                S[..., ys, :] = S_yx
                S[..., :, ys] = S_xy
                S[..., ys[:, None], ys] = S_yy
            freed = [sl for sl in a_slots if sl in set(free)]  # older free slots are zero
            if freed:
                ft = torch.tensor(freed, dtype=torch.long)
                S[..., ft, :] = 0
                S[..., :, ft] = 0
            for i, sl in zip(y_loc, y_slots):
                slot_of[ports[i]] = sl
        idx = torch.tensor([slot_of[g] for g in self._ext], dtype=torch.long)
        return S[..., idx[:, None], idx]

    # ---- the sparse (block-triangular) elimination ------------------------------------------
    def _pattern(self, k: int, mat: torch.Tensor, wl: torch.Tensor) -> torch.Tensor:
        """Where instance ``k``'s S-matrix can be non-zero, ``(n, n)`` bool: non-zero at
        some wavelength now, or, for an instance with trainable settings, at perturbed
        settings too (an entry that is zero at the current value may not be zero in
        its derivative; the perturbed pattern is computed once per instance). A
        sub-circuit with parameters is taken as full."""
        with torch.no_grad():
            pat = (mat != 0).any(0)
            _name, model, vals = self._instances[k]
            if isinstance(model, Circuit):
                if any(p.requires_grad for p in model.parameters()):
                    pat = torch.ones_like(pat)
                return pat
            if not any(isinstance(v, tuple) and v[0] == "param" for v in vals.values()):
                return pat
            cache = self.__dict__.setdefault("_generic_patterns", {})
            if k not in cache:
                cache[k] = self._generic_pattern(model, vals, wl, pat.shape)
            return pat | cache[k].to(pat.device)

    def _generic_pattern(self, model, vals, wl, shape) -> torch.Tensor:
        """The non-zeros of ``model`` at its numeric settings scaled by 1.0731 (0 moved
        to 0.0173): a generic point, where an entry is zero only if it always is."""
        try:
            s = {}
            for key, v in vals.items():
                v = self._value(v)
                if isinstance(v, (str, type(None))):
                    s[key] = v
                else:
                    v = torch.as_tensor(v, dtype=torch.float64).detach()
                    s[key] = (v * 1.0731 + 0.0173 * (v == 0)).reshape(1, 1)
            for key in model.ignored:
                s.pop(key, None)
            if model.prepare is not None:
                s = model.prepare(s)
            return model.fn(wl[None, :1], **s).reshape(shape) != 0  # NaN counts as non-zero
        except Exception:  # a model that refuses the perturbed settings: assume full
            return torch.ones(shape, dtype=torch.bool)

    def _sparse(self, mats, wl):
        """Unknowns: the wave entering each connected port, ``x_j = S[p, :] a`` with ``p``
        the port ``j`` is connected to. Their dependency graph (an edge ``k -> j`` where
        ``S[p, k]`` is structurally non-zero) is split into strongly connected
        components (Tarjan) and these into levels of a topological order; a level is one
        vectorised update from earlier levels, and only a component with a loop (a ring,
        a reflection) needs a solve, of its own size. A feed-forward netlist (a mesh)
        needs none. Weakly connected parts of the graph are done separately, each over
        only the external inputs that reach it. The plan (index tensors) depends only on
        the structure and is kept for the next call with the same structure."""
        n_wl, dev = wl.shape[0], mats[0].device
        pats = [self._pattern(k, m, wl) for k, m in enumerate(mats)]
        key = (str(dev), tuple(bytes(p.flatten().tolist()) for p in pats))
        cached = getattr(self, "_sparse_cache", None)
        if cached is None or cached[0] != key:
            self._sparse_cache = (key, self._sparse_plan([p.tolist() for p in pats], dev))
        direct, parts = self._sparse_cache[1]
        flat = torch.cat([m.reshape(n_wl, -1) for m in mats], -1)
        n_e = len(self._ext)
        S = flat.new_zeros(n_wl, n_e, n_e)
        if direct is not None:
            oi, ci, fi = direct
            S = S.index_put((torch.arange(n_wl, device=dev)[:, None], oi, ci), flat[:, fi],
                            accumulate=True)  # fmt: skip
        pending: dict[int, list] = {}
        for n_rows, cols, levels, out in parts:
            X = flat.new_empty(n_wl, n_rows, cols.shape[0])
            start = 0
            for n_l, srcs, edges, loops in levels:
                val = X.new_zeros(n_wl, n_l, cols.shape[0])
                if srcs is not None:
                    s_dst, s_col, s_c = srcs
                    R = X.new_zeros(n_l, cols.shape[0], n_wl)
                    R = R.index_put((s_dst, s_col), flat[:, s_c].T, accumulate=True)
                    val = val + R.permute(2, 0, 1)
                if edges is not None:
                    e_dst, e_src, e_c = edges
                    val = val.index_add(1, e_dst, flat[:, e_c, None] * X[:, e_src, :])
                for n_b, size, (b_i, r_i, c_i, f_i), at, what in loops:
                    A = X.new_zeros(n_b, size, size, n_wl)
                    A = A.index_put((b_i, r_i, c_i), -flat[:, f_i].T, accumulate=True)
                    A = A.permute(3, 0, 1, 2) + torch.eye(size, dtype=A.dtype, device=dev)
                    rhs = val[:, at, :].reshape(n_wl, n_b, size, cols.shape[0])
                    x = safe_solve(A, rhs)
                    # singularity is judged once for all loops of a size, at the end
                    pending.setdefault(size, []).append(
                        (A.detach(), torch.isfinite(x.detach()).all(-1).all(-1), what)
                    )
                    val = val.index_copy(1, at, x.reshape(n_wl, n_b * size, cols.shape[0]))
                X[:, start : start + n_l, :] = val
                start += n_l
            if out is not None:
                o_i, k_i, f_i = out
                block = X.new_zeros(n_wl, n_e, cols.shape[0])
                block = block.index_add(1, o_i, flat[:, f_i, None] * X[:, k_i, :])
                S = S.index_add(2, cols, block)
        for items in pending.values():
            whats = [what for a, _, what in items for _ in range(a.shape[1])]
            A_all = torch.cat([a for a, _, _ in items], 1)
            _refuse_singular(A_all, torch.cat([f for _, f, _ in items], 1), wl, whats)
        return S

    def _sparse_plan(self, pats, dev):
        """Index tensors of :meth:`_sparse` for the instance patterns ``pats``."""

        def lt(v):
            return torch.tensor(v, dtype=torch.long, device=dev)

        partner = {}
        for a, b in self._pairs:
            partner[a], partner[b] = b, a
        ext_col = {g: i for i, g in enumerate(self._ext)}
        owner, offset, flat_at = {}, {}, 0
        for k, (name, _, _) in enumerate(self._instances):
            g0, n = self._start[name], len(self._instance_ports[name])
            offset[k] = flat_at
            flat_at += n * n
            for j in range(n):
                owner[g0 + j] = (k, j)

        def row(g):  # the non-zero (port, flat index) of S[g, :] over g's instance
            k, j = owner[g]
            g0 = self._start[self._instances[k][0]]
            n = len(pats[k])
            return [(g0 + i, offset[k] + j * n + i) for i in range(n) if pats[k][j][i]]

        nodes = sorted(partner)
        ins: dict[int, list] = {j: [] for j in nodes}  # j -> [(k, flat index)], k internal
        src: dict[int, list] = {j: [] for j in nodes}  # j -> [(column, flat index)]
        for j in nodes:
            for g, c in row(partner[j]):
                if g in partner:
                    ins[j].append((g, c))
                elif g in ext_col:
                    src[j].append((ext_col[g], c))
        parent: dict = {}  # weakly connected parts: union-find over nodes and columns

        def find(u):
            while parent.setdefault(u, u) != u:
                parent[u] = parent[parent[u]]
                u = parent[u]
            return u

        for j in nodes:
            for k, _ in ins[j]:
                parent[find(k)] = find(j)
            for col, _ in src[j]:
                parent[find(("e", col))] = find(j)
        out_rows = [(i, row(g)) for i, g in enumerate(self._ext)]
        direct = [(i, ext_col[g], c) for i, r in out_rows for g, c in r if g in ext_col]
        direct = tuple(lt(v) for v in zip(*direct)) if direct else None
        members: dict = {}
        for j in nodes:
            members.setdefault(find(j), []).append(j)
        cols_of: dict = {}
        for col in range(len(self._ext)):
            cols_of.setdefault(find(("e", col)), []).append(col)
        parts = []
        for r, part_nodes in members.items():
            # a part no input reaches has zero waves, but its loops are still checked
            # for singularity (an ill-posed loop is refused, as by the dense solve)
            cols = cols_of.get(r, [])
            parts.append(self._sparse_part_plan(part_nodes, cols, ins, src, out_rows, lt))
        return direct, parts

    def _sparse_part_plan(self, nodes, cols, ins, src, out_rows, lt):
        col_pos = {c: i for i, c in enumerate(cols)}
        # strongly connected components, iterative Tarjan; they come out in reverse
        # topological order of the edges k -> j
        succ: dict[int, list] = {j: [] for j in nodes}
        for j in nodes:
            for k, _ in ins[j]:
                succ[k].append(j)
        index, low, on, stack, comps = {}, {}, set(), [], []
        for root in nodes:
            if root in index:
                continue
            index[root] = low[root] = len(index)
            stack.append(root)
            on.add(root)
            work = [(root, 0)]
            while work:
                v, i = work[-1]
                if i < len(succ[v]):
                    work[-1] = (v, i + 1)
                    w = succ[v][i]
                    if w not in index:
                        index[w] = low[w] = len(index)
                        stack.append(w)
                        on.add(w)
                        work.append((w, 0))
                    elif w in on:
                        low[v] = min(low[v], index[w])
                    continue
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    comps.append(comp)
        comps.reverse()  # topological order
        comp_of = {j: c for c, comp in enumerate(comps) for j in comp}
        level = [0] * len(comps)
        for c, comp in enumerate(comps):
            for j in comp:
                for k, _ in ins[j]:
                    if comp_of[k] != c:
                        level[c] = max(level[c], level[comp_of[k]] + 1)
        by_level: dict[int, list] = {}
        for c, lv in enumerate(level):
            by_level.setdefault(lv, []).append(c)
        # rows of X in level order, so that every level is one contiguous block
        order = [j for lv in sorted(by_level) for c in by_level[lv] for j in comps[c]]
        rowof = {j: r for r, j in enumerate(order)}
        levels = []
        for lv in sorted(by_level):
            level_nodes = [j for c in by_level[lv] for j in comps[c]]
            local = {j: i for i, j in enumerate(level_nodes)}
            edges, srcs = ([], [], []), ([], [], [])
            for j in level_nodes:
                for k, c in ins[j]:
                    if comp_of[k] != comp_of[j]:
                        for lst, v in zip(edges, (local[j], rowof[k], c)):
                            lst.append(v)
                for col, c in src[j]:
                    for lst, v in zip(srcs, (local[j], col_pos[col], c)):
                        lst.append(v)
            by_size: dict[int, list] = {}
            for c in by_level[lv]:
                comp = comps[c]
                if len(comp) > 1 or any(comp_of[k] == c for k, _ in ins[comp[0]]):
                    by_size.setdefault(len(comp), []).append(c)
            loops = []
            for size, group in by_size.items():
                idx = ([], [], [], [])
                for gi, c in enumerate(group):
                    pos = {j: i for i, j in enumerate(comps[c])}
                    for j in comps[c]:
                        for k, f in ins[j]:
                            if comp_of[k] == c:
                                for lst, v in zip(idx, (gi, pos[j], pos[k], f)):
                                    lst.append(v)
                at = lt([local[j] for c in group for j in comps[c]])
                names = sorted({self._instances[self._owner_of(j)][0] for c in group
                                for j in comps[c]})  # fmt: skip
                what = f"the loop through instance(s) {', '.join(map(repr, names[:6]))}" + (
                    f" and {len(names) - 6} more instances" if len(names) > 6 else "")  # fmt: skip
                loops.append((len(group), size, tuple(lt(v) for v in idx), at, what))
            levels.append((
                len(level_nodes),
                tuple(lt(v) for v in srcs) if srcs[0] else None,
                tuple(lt(v) for v in edges) if edges[0] else None,
                loops,
            ))  # fmt: skip
        out = ([], [], [])
        for i, r in out_rows:
            for g, c in r:
                if g in rowof:
                    for lst, v in zip(out, (i, rowof[g], c)):
                        lst.append(v)
        out = tuple(lt(v) for v in out) if out[0] else None
        return len(order), lt(cols), levels, out

    def _owner_of(self, g: int) -> int:
        if not hasattr(self, "_owner_cache"):
            self._owner_cache = {}
            for k, (name, _, _) in enumerate(self._instances):
                for j in range(len(self._instance_ports[name])):
                    self._owner_cache[self._start[name] + j] = k
        return self._owner_cache[g]

    def forward(self, x: torch.Tensor, wavelengths) -> torch.Tensor:
        """Output amplitudes ``(..., n_wl, n_ports)`` for input amplitudes of that shape."""
        S = self.s_matrix(wavelengths)
        if not isinstance(x, torch.Tensor) or not x.is_complex():
            raise TypeError("x must be a complex tensor (..., n_wl, n_ports)")
        if x.shape[-2:] != S.shape[:2]:
            raise ValueError(
                f"x must end in (n_wl, n_ports) = {tuple(S.shape[:2])}, got {tuple(x.shape)}"
            )
        return torch.einsum("woi,...wi->...wo", S, x.to(S.dtype))

    def extra_repr(self) -> str:
        return (
            f"instances={len(self._instances)}, ports={self._ports}, "
            f"connections={len(self._pairs)}, method={self._method!r}"
        )

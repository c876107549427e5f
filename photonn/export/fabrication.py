"""Fabrication export: a diffractive network's phase masks as printed or etched relief.

``export(model, out_dir, fabrication=MATERIAL)`` turns each phase mask of a
:class:`~photonn.models.D2NN` into a relief of the material (a device profile of
kind ``"material"``) on a base plate, through
:func:`photonn.functional.fabrication.phase_to_height`, and writes per layer::

    fabrication/<layer>.stl    binary STL, millimetres: the base plate and one column per
                               pixel, a closed, consistently oriented surface
    fabrication/<layer>.png    16-bit height map: relief height = value * height_scale_m
    fabrication/<layer>.toml   the layer's spec: material, index, pixel pitch, base, levels,
                               resolution, height scale, the distances to its neighbours

beside ``manifest.toml`` (a ``fabrication`` record per layer), ``bundle.h5``
(``fabrication/<layer>/height``, ``phase``, ``amplitude``) and the profile copy.
The heights are those of the PNG grid (value times scale), so the STL, the PNG and
the bundle hold the same relief; :func:`~photonn.export.load` rebuilds the network
with each mask replaced by the relief's transmission (phase and absorption).

STL geometry: ``x = column * pitch_x``, ``y = (rows - row) * pitch_y`` (seen from +z the
relief looks like the PNG, row 0 at the top), ``z = 0`` the bottom of the base plate,
``z = base + height`` the top of a pixel. Every side wall is split at the heights that
meet at its corners, so no vertex lies inside another triangle's edge. Where two
pixels touch only at a corner and rise above both of their other neighbours (a
checkerboard), the two columns share that vertical edge: four triangles meet there,
as the geometry demands (the solid is closed; slicers print it as drawn).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..devices import DeviceProfile, resolve_profile
from ..functional.fabrication import height_transmission, phase_to_height, two_pi_height
from .assign import find_elements

__all__ = [
    "DEFAULT_BASE_M",
    "FabricatedLayer",
    "FabricatedMask",
    "plan_fabrication",
    "relief_mesh",
    "write_stl",
    "fabricated_model",
    "relief_elements",
    "relief_layers",
    "write_relief",
    "read_relief",
]

#: default base-plate thickness [m]
DEFAULT_BASE_M = 1e-3

CONVENTION = (
    "relief of height h [m] on a base plate of thickness base, in a medium of index n_medium: "
    "t = exp(-2 pi kappa (base + h) / lambda) exp(+i 2 pi (n - n_medium) h / lambda) relative to "
    "the bare base plate (its phase dropped); phase wrapped into [0, 2 pi m), m whole 2 pi steps "
    "within max_height (1 without); levels: phase rounded to 2 pi k / levels; heights = PNG "
    "value * height_scale_m; STL in mm, x = column * pitch, y = (rows - row) * pitch, z = 0 the "
    "bottom of the base; Fresnel reflection losses not modelled"
)


@dataclass
class FabricatedLayer:
    """One diffractive layer as relief (:func:`plan_fabrication`).

    ``height`` [m] ``(ny, nx)`` float64 (relief above the base), ``value`` its 16-bit
    height-map counts (``height = value * height_scale``), ``phase`` [rad] and
    ``amplitude`` the transmission it realises, ``target`` the model's phase.
    """

    element: str
    material: DeviceProfile
    material_key: str
    wavelength: float
    pitch: tuple[float, float]
    n: float
    kappa: float
    n_medium: float
    base: float
    levels: int | None
    resolution: float | None
    max_height: float | None
    two_pi_height: float
    height_scale: float
    value: torch.Tensor
    height: torch.Tensor
    target: torch.Tensor
    phase: torch.Tensor
    amplitude: torch.Tensor
    distances: tuple[float, float]

    @property
    def report(self) -> dict:
        """Phase error (on the circle) [rad], amplitude range, tallest relief [m]."""
        err = torch.remainder(self.phase - self.target + math.pi, 2 * math.pi) - math.pi
        return {
            "phase_rms_rad": float(err.pow(2).mean().sqrt()),
            "phase_max_abs_rad": float(err.abs().max()),
            "amplitude_min": float(self.amplitude.min()),
            "amplitude_max": float(self.amplitude.max()),
            "max_height_m": float(self.height.max()),
        }


class FabricatedMask(nn.Module):
    """A fixed mask: the transmission ``amplitude * exp(i phase)`` of a printed layer.

    Stands in for a :class:`~photonn.freespace.PhaseMask` of a rebuilt network;
    ``phase()`` and ``transmission()`` as the mask's.
    """

    def __init__(self, phase: torch.Tensor, amplitude: torch.Tensor, dtype=torch.complex64):
        super().__init__()
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        self.register_buffer("phase_rad", phase.to(real))
        self.register_buffer("amplitude", amplitude.to(real))
        self.dtype = dtype

    def phase(self) -> torch.Tensor:
        return self.phase_rad

    def transmission(self) -> torch.Tensor:
        return torch.polar(self.amplitude, self.phase_rad).to(self.dtype)

    def forward(self, field: torch.Tensor) -> torch.Tensor:
        return field * self.transmission()


def _distances(model: nn.Module, element: str) -> tuple[float, float]:
    """(distance before, distance after) [m] of the layer ``element`` of a D2NN."""
    parent, _, index = element.rpartition(".masks.")
    if not _:
        parent, index = "", element.rpartition(".")[2]
    d2nn = model.get_submodule(parent) if parent else model
    i = int(index)
    ds = [d2nn.input_distance] + [d2nn.distance] * (d2nn.num_layers - 1) + [d2nn.output_distance]
    return float(ds[i]), float(ds[i + 1])


def _check_trained_relief(e, material, n, kappa, n_medium, base, max_height_m) -> None:
    """Warn when a mask trained as relief (``D2NN(material=...)``) is exported as another."""
    r = getattr(e.module, "relief", None)
    if r is None:
        return
    trained = (r.n, r.kappa, r.n_medium, r.base)
    here = (float(n), float(kappa), float(n_medium), float(base))
    if any(not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(trained, here)):
        warnings.warn(
            f"layer {e.name} was trained as relief with n = {r.n:.6g}, kappa = {r.kappa:.6g}, "
            f"n_medium = {r.n_medium:.6g} on a {r.base * 1e3:.6g} mm base; the export makes it "
            f"in {material!r} (n = {float(n):.6g}, kappa = {float(kappa):.6g}, n_medium = "
            f"{float(n_medium):.6g}) on a {float(base) * 1e3:.6g} mm base, so its transmission "
            "differs from the trained one; export with the training's material and base_m",
            stacklevel=3,
        )
    elif max_height_m is not None:
        warnings.warn(
            f"layer {e.name} was trained as relief of one 2 pi step; max_height_m = "
            f"{max_height_m!r} makes thicker (more absorbing) pixels than in training",
            stacklevel=3,
        )


def _fabricate(
    e, prof, distances, *, levels, base, max_height_m, resolution_m, n_medium
) -> FabricatedLayer:
    """One phase mask (an export ``Element``) as relief of the material ``prof``."""
    key = prof.name
    n, kappa = prof.index(e.wavelength)
    h2pi = two_pi_height(e.wavelength, n, n_medium)
    _check_trained_relief(e, prof.name, n, kappa, n_medium, base, max_height_m)
    with torch.no_grad():
        target = e.module.phase().detach().to(torch.float64).cpu()
    h = phase_to_height(
        target,
        e.wavelength,
        n,
        n_medium,
        max_height=max_height_m,
        levels=levels,
        resolution=resolution_m,
    )
    steps = 1 if max_height_m is None else max(1, math.floor(max_height_m / h2pi * (1 + 1e-12)))
    if resolution_m is not None:
        scale = float(resolution_m)
    elif levels is not None:
        scale = h2pi / levels
    else:
        scale = steps * h2pi / 65535
    value = torch.round(h / scale)
    if float(value.max()) > 65535:
        raise ValueError(
            f"layer {e.name}: the relief ({float(h.max()) * 1e6:.6g} um) needs more than "
            f"65535 steps of {scale * 1e9:.6g} nm for the 16-bit height map; use a coarser "
            "resolution_m or a smaller max_height_m"
        )
    value = value.to(torch.int64)
    height = value.to(torch.float64) * scale
    t = height_transmission(height, e.wavelength, n, kappa, n_medium, base=base)
    return FabricatedLayer(
        element=e.name,
        material=prof,
        material_key=key,
        wavelength=float(e.wavelength),
        pitch=(float(e.pitch[0]), float(e.pitch[1])),
        n=float(n),
        kappa=float(kappa),
        n_medium=float(n_medium),
        base=base,
        levels=levels,
        resolution=None if resolution_m is None else float(resolution_m),
        max_height=None if max_height_m is None else float(max_height_m),
        two_pi_height=h2pi,
        height_scale=scale,
        value=value,
        height=height,
        target=target,
        phase=torch.angle(t),
        amplitude=t.abs(),
        distances=distances,
    )


def plan_fabrication(
    model: nn.Module,
    material,
    *,
    levels: int | None = None,
    base_m: float = DEFAULT_BASE_M,
    max_height_m: float | None = None,
    resolution_m: float | None = None,
    n_medium: float = 1.0,
):
    """The fabrication plan of ``model`` (an :class:`~photonn.export.ExportPlan` whose
    ``fabricated`` lists one :class:`FabricatedLayer` per phase mask).

    Args:
        model: a :class:`~photonn.models.D2NN` (or a ``Sequential`` holding one).
        material: a ``"material"`` profile (name, ``.toml`` path or profile), e.g.
            ``"vero_black_plus_rgd875"``.
        levels: etch levels per 2 pi step (None: continuous, the 16-bit height map).
        base_m: base-plate thickness [m] (> 0).
        max_height_m: the thickest relief [m] (default one 2 pi step).
        resolution_m: the printer's vertical resolution [m] (heights are multiples).
        n_medium: refractive index of the medium around the layers (air: 1).
    """
    from .plan import ExportPlan
    from .spec import describe

    prof = resolve_profile(material, kind="material")
    base = float(base_m)
    if not math.isfinite(base) or base <= 0:
        raise ValueError(
            f"base_m must be a thickness > 0 [m] (the plate that holds the pixels), got {base_m!r}"
        )
    elements = find_elements(model)
    other = [e.name for e in elements if e.kind != "slm"]
    if other:
        raise ValueError(
            f"fabrication= makes printed or etched phase masks; {other} are MZI elements: "
            "export them with device=PROFILE"
        )
    plan = ExportPlan(model=model, spec=describe(model))
    plan.devices = {prof.name: prof}
    for e in elements:
        plan.fabricated.append(
            _fabricate(
                e,
                prof,
                _distances(model, e.name),
                levels=levels,
                base=base,
                max_height_m=max_height_m,
                resolution_m=resolution_m,
                n_medium=n_medium,
            )
        )
    return plan


def fabricated_model(model: nn.Module, layers: dict) -> nn.Module:
    """``model`` with each mask ``element`` replaced by a :class:`FabricatedMask` of its
    ``(phase, amplitude)`` in ``layers``; in eval mode."""
    for name, (phase, amplitude) in layers.items():
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        old = getattr(parent, attr) if not attr.isdigit() else parent[int(attr)]
        mask = FabricatedMask(phase, amplitude, dtype=old.dtype)
        mask.to(old.raw.device)
        if attr.isdigit():
            parent[int(attr)] = mask
        else:
            setattr(parent, attr, mask)
    return model.eval()


# -- the STL ---------------------------------------------------------------------------------
def relief_mesh(height, pitch, base: float) -> np.ndarray:
    """Triangles ``(T, 3, 3)`` [m], float64, of a base plate with one column per pixel.

    ``height`` ``(ny, nx)`` [m] >= 0, ``pitch`` ``(dy, dx)`` [m], ``base`` [m] > 0.
    Counter-clockwise seen from outside (normals point out); see the module docstring
    for the coordinates. The enclosed volume is ``dy dx sum(base + height)``.
    """
    h = np.asarray(height, dtype=np.float64)
    ny, nx = h.shape
    dy, dx = float(pitch[0]), float(pitch[1])
    Z = np.zeros((ny + 2, nx + 2))
    Z[1:-1, 1:-1] = base + h
    xs = np.arange(nx + 1) * dx
    ys = (ny - np.arange(ny + 1)) * dy
    tris: list[np.ndarray] = []
    want: list[np.ndarray] = []  # the outward normal direction of each triangle

    # top and bottom faces, two triangles per pixel
    i, j = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    i, j = i.ravel(), j.ravel()
    for z, nz in ((Z[1:-1, 1:-1].ravel(), 1.0), (np.zeros(ny * nx), -1.0)):
        p00 = np.stack([xs[j], ys[i], z], -1)
        p01 = np.stack([xs[j + 1], ys[i], z], -1)
        p11 = np.stack([xs[j + 1], ys[i + 1], z], -1)
        p10 = np.stack([xs[j], ys[i + 1], z], -1)
        t = np.concatenate([np.stack([p00, p10, p11], 1), np.stack([p00, p11, p01], 1)])
        tris.append(t)
        want.append(np.broadcast_to([0.0, 0.0, nz], (len(t), 3)))

    # the heights meeting at each corner (r, c), r in 0..ny, c in 0..nx
    corner = np.stack([Z[:-1, :-1], Z[:-1, 1:], Z[1:, :-1], Z[1:, 1:]], -1)  # (ny + 1, nx + 1, 4)

    def chain(r, c, lo, hi):
        v = np.unique(corner[r, c])
        return v[(v >= lo) & (v <= hi)]

    walls, wall_normals = [], []

    def wall(P, Q, lo, hi, normal):
        # P, Q: (x, y) of the corners; zipper between the two vertical chains
        a, b = chain(*P[0], lo, hi), chain(*Q[0], lo, hi)
        (px, py), (qx, qy) = P[1], Q[1]
        ia = ib = 0
        while ia < len(a) - 1 or ib < len(b) - 1:
            if ia < len(a) - 1 and (ib == len(b) - 1 or a[ia + 1] <= b[ib + 1]):
                walls.append([[px, py, a[ia]], [qx, qy, b[ib]], [px, py, a[ia + 1]]])
                ia += 1
            else:
                walls.append([[px, py, a[ia]], [qx, qy, b[ib]], [qx, qy, b[ib + 1]]])
                ib += 1
            wall_normals.append(normal)

    # walls between horizontally adjacent cells (padded (r, c) and (r, c + 1)): the
    # vertical line x = xs[c] from corner (r - 1, c) to (r, c)
    diff = Z[1:-1, :-1] != Z[1:-1, 1:]
    for r0, c in zip(*np.nonzero(diff)):
        za, zb = Z[r0 + 1, c], Z[r0 + 1, c + 1]
        lo, hi = min(za, zb), max(za, zb)
        normal = (1.0, 0.0, 0.0) if za > zb else (-1.0, 0.0, 0.0)
        P = ((r0, c), (xs[c], ys[r0]))
        Q = ((r0 + 1, c), (xs[c], ys[r0 + 1]))
        wall(P, Q, lo, hi, normal)
    # walls between vertically adjacent cells (padded (r, c) and (r + 1, c)): the line
    # y = ys[r] from corner (r, c - 1) to (r, c)
    diff = Z[:-1, 1:-1] != Z[1:, 1:-1]
    for r, c0 in zip(*np.nonzero(diff)):
        za, zb = Z[r, c0 + 1], Z[r + 1, c0 + 1]  # za: the row above (larger y)
        lo, hi = min(za, zb), max(za, zb)
        normal = (0.0, -1.0, 0.0) if za > zb else (0.0, 1.0, 0.0)
        P = ((r, c0), (xs[c0], ys[r]))
        Q = ((r, c0 + 1), (xs[c0 + 1], ys[r]))
        wall(P, Q, lo, hi, normal)
    if walls:
        tris.append(np.asarray(walls, dtype=np.float64))
        want.append(np.asarray(wall_normals, dtype=np.float64))
    T = np.concatenate(tris)
    N = np.concatenate(want)
    n = np.cross(T[:, 1] - T[:, 0], T[:, 2] - T[:, 0])
    flip = (n * N).sum(-1) < 0
    T[flip] = T[flip][:, [0, 2, 1]]
    return T


def write_stl(path, triangles: np.ndarray, header: str = "photonn relief, mm") -> Path:
    """Write ``triangles`` ``(T, 3, 3)`` [m] as a binary STL in millimetres, with unit
    facet normals (atomically)."""
    from .._io import atomic_path

    tri_mm = np.asarray(triangles, dtype=np.float64) * 1e3
    n = np.cross(tri_mm[:, 1] - tri_mm[:, 0], tri_mm[:, 2] - tri_mm[:, 0])
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    rec = np.zeros(
        len(tri_mm),
        dtype=[("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attr", "<u2")],
    )
    rec["normal"] = n
    rec["vertices"] = tri_mm
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(header.encode("ascii")[:80].ljust(80, b" "))
        fh.write(np.uint32(len(rec)).tobytes())
        fh.write(rec.tobytes())
    return path


# -- files, manifest, bundle -----------------------------------------------------------------
def _stem(element: str) -> str:
    return f"fabrication/{element}"


def layer_spec(L: FabricatedLayer) -> dict:
    """The spec of one layer (its TOML file and its manifest record, without files)."""
    ny, nx = L.height.shape
    spec = {
        "element": L.element,
        "material": L.material_key,
        "wavelength_m": L.wavelength,
        "refractive_index": L.n,
        "extinction_coefficient": L.kappa,
        "n_medium": L.n_medium,
        "pixels": [ny, nx],
        "pixel_pitch_m": list(L.pitch),
        "size_m": [ny * L.pitch[0], nx * L.pitch[1]],
        "base_m": L.base,
        "two_pi_height_m": L.two_pi_height,
        "height_scale_m": L.height_scale,
        "distance_before_m": L.distances[0],
        "distance_after_m": L.distances[1],
        "stl_units": "mm",
    }
    if L.levels is not None:
        spec["levels"] = L.levels
    if L.resolution is not None:
        spec["resolution_m"] = L.resolution
    if L.max_height is not None:
        spec["max_height_m"] = L.max_height
    return spec


def write_fabrication(plan, files) -> list[dict]:
    """Write every layer's STL, PNG and spec through ``files`` (the writer of
    :mod:`photonn.export.write`); the manifest's ``fabrication`` records."""
    from . import _toml
    from .images import write_gray_png

    records = []
    for L in plan.fabricated:
        stem = _stem(L.element)
        spec = layer_spec(L)
        mesh = relief_mesh(L.height.numpy(), L.pitch, L.base)
        written = {
            "stl": files.add(write_stl(files._path(f"{stem}.stl"), mesh)),
            "png": files.image(f"{stem}.png", write_gray_png, L.value.numpy(), 16),
            "spec": files.text(f"{stem}.toml", _toml.dumps(spec)),
        }
        rec = dict(spec)
        rec["files"] = written
        rec["report"] = {**L.report, "triangles": int(len(mesh))}
        records.append(rec)
    return records


def fabrication_tree(plan) -> dict:
    """The bundle's ``fabrication`` group."""
    from .bundle import Array

    return {
        L.element: {
            "height": Array(L.height, unit="m", description="relief above the base plate"),
            "target": Array(L.target, unit="rad", description="the model's phase per pixel"),
            "phase": Array(L.phase, unit="rad", description="phase the relief realises"),
            "amplitude": Array(L.amplitude, description="field amplitude transmitted"),
        }
        for L in plan.fabricated
    }


def layers_from_bundle(tree: dict, m: dict) -> dict:
    """element -> (phase, amplitude) of every fabricated layer in a bundle tree."""
    return {
        rec["element"]: (
            tree["fabrication"][rec["element"]]["phase"],
            tree["fabrication"][rec["element"]]["amplitude"],
        )
        for rec in m.get("fabrication", [])
    }


def layers_from_files(root: Path, m: dict) -> dict:
    """element -> (phase, amplitude) from each layer's height map and spec (no bundle)."""
    from .images import read_gray_image

    out = {}
    for rec in m.get("fabrication", []):
        value = read_gray_image(root / rec["files"]["png"]).astype(np.int64)
        if list(value.shape) != list(rec["pixels"]):
            raise ValueError(
                f"{rec['files']['png']} is {value.shape} pixels, the manifest says {rec['pixels']}"
            )
        height = torch.from_numpy(value).to(torch.float64) * rec["height_scale_m"]
        t = height_transmission(
            height,
            rec["wavelength_m"],
            rec["refractive_index"],
            rec["extinction_coefficient"],
            rec["n_medium"],
            base=rec["base_m"],
        )
        out[rec["element"]] = (torch.angle(t), t.abs())
    return out


# -- relief of any model's phase masks (e.g. the Fourier-plane masks of a 4f network) ------
RELIEF_INDEX = "relief.toml"


def relief_elements(model: nn.Module) -> list:
    """Every :class:`~photonn.freespace.PhaseMask` of ``model`` as an export element, with
    the wavelength of its nearest enclosing module that has one (a D2NN, a
    :class:`~photonn.freespace.FourierFilter4f`, ...), and the distances to the
    neighbouring planes: ``(f, f)`` in a 4f layer, the layer spacings in a D2NN."""
    from ..freespace.fourier_filter import FourierFilter4f
    from ..freespace.masks import PhaseMask
    from ..models.d2nn import D2NN
    from .assign import Element

    modules = dict(model.named_modules())
    out = []
    for name, mod in modules.items():
        if not isinstance(mod, PhaseMask):
            continue
        parts = name.split(".")
        owner = None
        for k in range(len(parts) - 1, -1, -1):
            cand = modules["".join(p + "." for p in parts[:k]).rstrip(".")]
            if getattr(cand, "wavelength", None) is not None:
                owner = cand
                break
        if owner is None:
            raise ValueError(
                f"phase mask {name!r} has no enclosing module with a wavelength; build it "
                "inside a FourierFilter4f, a D2NN or a network that has .wavelength"
            )
        if isinstance(owner, FourierFilter4f):
            distances = (owner.focal_length, owner.focal_length)
        elif isinstance(owner, D2NN):
            distances = _distances(model, name)
        else:
            distances = (float("nan"), float("nan"))
        e = Element(name, "slm", mod, wavelength=float(owner.wavelength))
        e.pitch = tuple(mod.grid.spacing)
        out.append((e, distances))
    if not out:
        raise ValueError(f"{type(model).__name__} has no PhaseMask to fabricate")
    return out


def relief_layers(
    model: nn.Module,
    material,
    *,
    levels: int | None = None,
    base_m: float = DEFAULT_BASE_M,
    max_height_m: float | None = None,
    resolution_m: float | None = None,
    n_medium: float = 1.0,
) -> list[FabricatedLayer]:
    """One :class:`FabricatedLayer` per phase mask of ``model`` (:func:`relief_elements`),
    with the arguments of :func:`plan_fabrication`."""
    prof = resolve_profile(material, kind="material")
    base = float(base_m)
    if not math.isfinite(base) or base <= 0:
        raise ValueError(
            f"base_m must be a thickness > 0 [m] (the plate that holds the pixels), got {base_m!r}"
        )
    return [
        _fabricate(
            e,
            prof,
            d,
            levels=levels,
            base=base,
            max_height_m=max_height_m,
            resolution_m=resolution_m,
            n_medium=n_medium,
        )
        for e, d in relief_elements(model)
    ]


def write_relief(model: nn.Module, out_dir, material, **options) -> Path:
    """Write every phase mask of ``model`` as relief: per mask ``<name>.stl``, ``<name>.png``
    (16-bit height map) and ``<name>.toml`` (its spec), as the fabrication export
    writes them, and ``relief.toml`` listing them. For networks the export does not
    describe (e.g. :class:`~photonn.models.Fourier4fNetwork`, whose Fourier-plane masks
    are the printed plates); :func:`read_relief` reads the files back.

    The directory is written whole or not at all (a temporary directory renamed).
    ``options``: as :func:`relief_layers`. Returns the directory.
    """
    import shutil
    import tempfile

    from . import _toml
    from .images import write_gray_png

    out = Path(out_dir)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new directory for the relief files")
    layers = relief_layers(model, material, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        index = []
        for L in layers:
            spec = layer_spec(L)
            files = {k: f"{L.element}.{k}" for k in ("stl", "png", "toml")}
            write_stl(tmp / files["stl"], relief_mesh(L.height.numpy(), L.pitch, L.base))
            write_gray_png(tmp / files["png"], L.value.numpy(), 16)
            (tmp / files["toml"]).write_text(_toml.dumps(spec))
            index.append({**spec, "files": files, "report": L.report})
        text = _toml.dumps({"convention": CONVENTION, "layer": index})
        (tmp / RELIEF_INDEX).write_text(text)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_relief(out_dir) -> dict:
    """element -> (phase, amplitude) of every layer :func:`write_relief` wrote, from its
    height map and spec (pass it to :func:`fabricated_model`)."""
    import tomllib

    root = Path(out_dir)
    index = tomllib.loads((root / RELIEF_INDEX).read_text(encoding="utf-8"))
    recs = [{**r, "files": {"png": r["files"]["png"]}} for r in index["layer"]]
    return layers_from_files(root, {"fabrication": recs})

"""Small models, profiles and an independent PNG/BMP decoder for the export tests.

The decoder uses only ``zlib`` and ``struct`` (the writer uses Pillow), so the
image tests compare the files against the intended gray levels through a reader
that shares no code with the writer.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from photonn import Grid
from photonn.devices import load_profile, profile_from_values
from photonn.models import D2NN, PhotonicMLP


def tiny_d2nn(n=16, pitch=8e-6, layers=2, seed=0):
    """A 2-layer visible D2NN with random phases (unbounded, some negative, some > 2 pi)."""
    g = torch.Generator().manual_seed(seed)
    model = D2NN(
        Grid(n, pitch),
        633e-9,
        layers,
        1e-3,
        num_classes=4,
        input_size=8,
        region_size=2 * pitch,
        learn_temperature=True,
        init="uniform",
        generator=g,
    )
    with torch.no_grad():
        for m in model.masks:
            m.raw.mul_(3).sub_(5)  # phases in [-5, 13.8) rad
        model.log_temperature.fill_(1.2345)
    return model.eval()


def tiny_mlp(sizes=(6, 4, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    model = PhotonicMLP(sizes, "abs", generator=g)
    with torch.no_grad():
        for layer in model.layers:
            layer.attenuation_theta.uniform_(-4, 4, generator=g)
            layer.scale.fill_(1.7)
            layer.mesh_in.theta.add_(torch.rand(layer.mesh_in.theta.shape, generator=g) * 7 - 3)
    return model.eval()


def small_slm(bits=8, resolution=(40, 48), pitch=8e-6, **extra):
    vals = {
        "pixel_pitch": pitch,
        "resolution": resolution,
        "gray_bits": bits,
        "fill_factor": 1.0,
        "max_phase": 2 * math.pi,
        "wavelength": 633e-9,
        **extra,
    }
    return profile_from_values(vals, "slm", name=f"slm{bits}")


def mzi_profile(**changes):
    vals = dict(load_profile("si_thermo_optic_mzi").values)
    vals.update(changes)
    return profile_from_values(vals, "mzi_platform", name="mzi_test")


def nonlinear_profile(tmp: Path, bits=8, gamma=1.6, stroke=2 * math.pi, name="nl_slm"):
    """An SLM profile whose look-up table is non-linear: phase = stroke (g / L)^gamma."""
    L = 2**bits
    phases = [stroke * (g / L) ** gamma for g in range(L)]
    (tmp / f"{name}_lut.csv").write_text(
        "gray,phase_rad\n" + "".join(f"{g},{p!r}\n" for g, p in enumerate(phases))
    )
    (tmp / f"{name}.toml").write_text(
        f'name = "{name}"\nkind = "slm"\ndescription = "test panel"\nprovenance = "test"\n'
        f"resolution = [40, 48]\npixel_pitch_um = 8.0\ngray_bits = {bits}\nfill_factor = 1.0\n"
        f'max_phase_rad = {stroke!r}\nwavelength_nm = 633.0\nlut = "{name}_lut.csv"\n'
        "lambda_min_nm = 500.0\nlambda_max_nm = 700.0\n"
    )
    return load_profile(tmp / f"{name}.toml")


# -- an independent image decoder -------------------------------------------------------
def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(path) -> np.ndarray:
    """Gray levels of a non-interlaced grayscale PNG (8 or 16 bits), by zlib + struct."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(ctype + body) & 0xFFFFFFFF == crc, f"bad CRC in {ctype!r}"
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
        pos += 12 + length
    w, h, depth, color, _, _, interlace = ihdr
    assert color == 0 and interlace == 0 and depth in (8, 16)
    bpp = depth // 8
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray()
    prev = bytearray(stride)
    for r in range(h):
        f = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1 : (r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                line[i] = (line[i] + _paeth(a, b, c)) & 0xFF
        out += line
        prev = line
    dt = ">u2" if depth == 16 else "u1"
    return np.frombuffer(bytes(out), dtype=dt).reshape(h, w).astype(np.int64), depth


def decode_bmp(path) -> np.ndarray:
    """Gray levels of an uncompressed 8-bit palette BMP (gray palette), by struct."""
    data = Path(path).read_bytes()
    assert data[:2] == b"BM"
    (offset,) = struct.unpack("<I", data[10:14])
    (hsize,) = struct.unpack("<I", data[14:18])
    w, h = struct.unpack("<ii", data[18:26])
    (bpp,) = struct.unpack("<H", data[28:30])
    (compression,) = struct.unpack("<I", data[30:34])
    assert bpp == 8 and compression == 0
    palette = np.frombuffer(data[14 + hsize : offset], dtype=np.uint8).reshape(-1, 4)[:, :3]
    assert (palette[:, 0] == palette[:, 1]).all() and (palette[:, 1] == palette[:, 2]).all()
    stride = (w + 3) // 4 * 4
    rows = [
        np.frombuffer(data[offset + r * stride : offset + r * stride + w], dtype=np.uint8)
        for r in range(abs(h))
    ]
    img = np.stack(rows[::-1] if h > 0 else rows)  # positive height: bottom-up
    return palette[img, 0].astype(np.int64)

"""Calibration files that labs keep, read into SI tensors.

* :func:`read_lut_csv`: the profile format ``gray,phase_rad`` (one row per gray level).
* :func:`read_meadowlark_lut`: Meadowlark-style ``.lut`` text, two columns per line,
  ``gray  count`` (the drive value, a voltage count of the panel's own DAC, sent
  for each input gray level). Combined with a measured phase-against-count curve
  (:func:`lut_from_meadowlark`) it gives the phase per gray level.
* :func:`read_wavefront_correction`: an 8-bit BMP or PNG correction image, value
  ``v`` meaning the phase ``2 pi v / two_pi_value`` (default ``two_pi_value = 256``:
  the 256 values span ``[0, 2 pi)``; set it to the gray value your vendor gives for
  ``2 pi``, e.g. 255).
* :meth:`HeaterCalibration.from_csv`: phase against electrical power per MZI channel
  (``channel,power_W,phase_rad``, read and checked by
  :func:`photonn.devices.read_heater_calibration`), ready to interpolate.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch

from .._checks import renamed
from ..devices import read_heater_calibration as read_heater_table
from ..devices import read_lut
from ..functional.heater import interp_monotone
from .images import read_gray_image

__all__ = [
    "read_lut_csv",
    "read_meadowlark_lut",
    "lut_from_meadowlark",
    "read_wavefront_correction",
    "HeaterCalibration",
    "as_heater_calibration",
    "read_heater_calibration",
]


def read_lut_csv(path, gray_bits: int | None = None, *, bit_depth: int | None = None):
    """Phase [rad] per gray level, float64 ``(2**gray_bits,)``, from a ``gray,phase_rad`` CSV
    (``bit_depth=``: the deprecated name of ``gray_bits``)."""
    gray_bits = renamed(
        gray_bits, bit_depth, new_name="gray_bits", old_name="bit_depth", owner="read_lut_csv"
    )
    return torch.tensor(read_lut(path, gray_bits), dtype=torch.float64)


def read_meadowlark_lut(path) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gray, count)`` int64 tensors of a two-column ``.lut`` file.

    Lines hold ``gray count`` separated by spaces, tabs or a comma; blank lines and
    lines starting with ``#`` or ``;`` are skipped. Gray levels must run
    ``0, 1, ..., n - 1`` with ``n`` a power of two; counts are integers >= 0.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"look-up table {path} not found")
    grays, counts = [], []
    for no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        parts = s.replace(",", " ").split()
        try:
            g, c = int(parts[0]), int(float(parts[1]))
        except (ValueError, IndexError):
            raise ValueError(f"{path}:{no}: {line!r} is not 'gray count'") from None
        if g != len(grays):
            raise ValueError(f"{path}:{no}: expected gray level {len(grays)}, got {g}")
        if c < 0:
            raise ValueError(f"{path}:{no}: count {c} must be >= 0")
        grays.append(g)
        counts.append(c)
    n = len(grays)
    if n < 2 or n & (n - 1):
        raise ValueError(f"{path}: {n} gray levels; a .lut lists 2**bits levels (e.g. 256)")
    return torch.tensor(grays, dtype=torch.int64), torch.tensor(counts, dtype=torch.int64)


def lut_from_meadowlark(path, count, phase) -> torch.Tensor:
    """Phase [rad] per gray level of a ``.lut``: the measured ``phase`` [rad] against the drive
    ``count`` (increasing points), interpolated at each gray level's count. float64 ``(n,)``."""
    _, counts = read_meadowlark_lut(path)
    xp = torch.as_tensor(count, dtype=torch.float64).reshape(-1)
    fp = torch.as_tensor(phase, dtype=torch.float64).reshape(-1)
    if xp.numel() != fp.numel() or xp.numel() < 2 or bool((torch.diff(xp) <= 0).any()):
        raise ValueError("count and phase must be >= 2 points with strictly increasing counts")
    return interp_monotone(counts.to(torch.float64), xp, fp)


def read_wavefront_correction(path, *, resolution=None, two_pi_value: float = 256) -> torch.Tensor:
    """Correction phase [rad] ``(rows, columns)`` float64 from an 8-bit BMP or PNG.

    Args:
        path: the image.
        resolution: ``(rows, columns)`` the image must have (the panel's), or None.
        two_pi_value: the pixel value that means ``2 pi``.
    """
    g = read_gray_image(path)
    if g.dtype.itemsize != 1:
        raise ValueError(f"{path}: a wavefront correction is an 8-bit image, got 16-bit values")
    if resolution is not None and tuple(g.shape) != tuple(resolution):
        raise ValueError(
            f"{path}: the correction image is {g.shape[0]} x {g.shape[1]} pixels but the panel "
            f"has {resolution[0]} x {resolution[1]}; use the correction file of this panel"
        )
    if not two_pi_value > 0:
        raise ValueError(f"two_pi_value must be > 0, got {two_pi_value!r}")
    return torch.from_numpy(g.astype("float64")) * (2 * math.pi / float(two_pi_value))


class HeaterCalibration:
    """Measured phase [rad] against electrical power [W], per controller channel.

    ``phase(channel, power)`` and ``power(channel, phase)`` interpolate the
    channel's points piecewise linearly (extended linearly beyond them). Channels
    without points fall back to the ideal law of the profile (the caller's choice).
    """

    def __init__(self, table: dict[int, tuple[list[float], list[float]]], source=None):
        """``table``: ``{channel: (power [W], phase [rad])}``, increasing points, as
        :func:`photonn.devices.read_heater_calibration` returns it; ``source``: where it
        came from (recorded in the manifest)."""
        self.table = {
            int(ch): (
                torch.tensor(p, dtype=torch.float64),
                torch.tensor(ph, dtype=torch.float64),
            )
            for ch, (p, ph) in table.items()
        }
        self.source = source

    @property
    def channels(self) -> list[int]:
        return sorted(self.table)

    def __contains__(self, channel) -> bool:
        return int(channel) in self.table

    def phase(self, channel: int, power: torch.Tensor) -> torch.Tensor:
        pw, ph = self.table[int(channel)]
        return interp_monotone(power, pw, ph)

    def power(self, channel: int, phase: torch.Tensor) -> torch.Tensor:
        pw, ph = self.table[int(channel)]
        return interp_monotone(phase, ph, pw)

    def phase_of(
        self, channel: torch.Tensor, power: torch.Tensor, ideal: torch.Tensor
    ) -> torch.Tensor:
        """Phase [rad] per entry: the measured curve of each calibrated ``channel`` at
        ``power`` [W], ``ideal`` for the others (all ``(n,)``)."""
        return self._per_channel(channel, power, ideal, self.phase)

    def power_of(
        self, channel: torch.Tensor, phase: torch.Tensor, ideal: torch.Tensor
    ) -> torch.Tensor:
        """Power [W] per entry: the measured curve of each calibrated ``channel`` at
        ``phase`` [rad], ``ideal`` for the others (all ``(n,)``)."""
        return self._per_channel(channel, phase, ideal, self.power)

    def _per_channel(self, channel, x, ideal, curve) -> torch.Tensor:
        out = ideal.clone()
        for n, ch in enumerate(channel.tolist()):
            if ch in self:
                out[n] = curve(ch, x[n : n + 1])[0]
        return out

    @classmethod
    def from_csv(cls, path) -> HeaterCalibration:
        """The calibration of a ``channel,power_W,phase_rad`` CSV
        (:func:`photonn.devices.read_heater_calibration` reads and checks it)."""
        return cls(read_heater_table(path), source=str(path))


def as_heater_calibration(value) -> HeaterCalibration | None:
    """``value`` as a :class:`HeaterCalibration`: None, a calibration, or a CSV path."""
    if value is None or isinstance(value, HeaterCalibration):
        return value
    return HeaterCalibration.from_csv(value)


def read_heater_calibration(path) -> HeaterCalibration:
    """Deprecated: use :meth:`HeaterCalibration.from_csv` (the same object), or
    :func:`photonn.devices.read_heater_calibration` for the plain table."""
    warnings.warn(
        "photonn.export.read_heater_calibration is deprecated: use "
        "photonn.export.HeaterCalibration.from_csv(path) (same result), or "
        "photonn.devices.read_heater_calibration(path) for the plain "
        "{channel: (power_W, phase_rad)} table",
        DeprecationWarning,
        stacklevel=2,
    )
    return HeaterCalibration.from_csv(path)

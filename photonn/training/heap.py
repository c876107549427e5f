"""Keep freed memory in the process heap, so that large tensors stop costing page faults.

glibc's ``malloc`` serves every request above its mmap threshold (at most 32 MB on
64-bit Linux, whatever ``M_MMAP_THRESHOLD`` says) with a fresh ``mmap`` and returns it
to the system on ``free``. PyTorch's CPU allocator has no cache, so a training step
whose tensors exceed 32 MB maps, faults in and unmaps each of them on every step.
Measured on a 2-core CPU, a 200 x 200 D2NN at batch 32 (400 x 400 padded spectra of
41 MB each, before :func:`photonn.functional.conv_fft` worked in cache-sized
chunks): 45 % of the training run's CPU time was system time; with
:func:`keep_freed_memory` it was 4 %. Chunking removed those 41 MB tensors, but any
large batch, grid or mesh brings them back.

:func:`keep_freed_memory` turns glibc's mmap path off (``M_MMAP_MAX = 0``) and stops
it trimming the heap (``M_TRIM_THRESHOLD``), so freed blocks are reused by the next
step. The cost: the process keeps its peak memory until it exits. It changes how the
whole process allocates, so it is never called on import; ``photonn train`` and the
experiments call it when the configuration's ``keep_freed_memory`` is true (default).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

__all__ = ["keep_freed_memory"]

# mallopt parameters, glibc <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_TRIM_THRESHOLD = 2**31 - 1  # bytes (the largest int): keep the top of the heap

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of unmapping it (process-wide).

    Returns:
        ``True`` when the setting is in effect (Linux with glibc), ``False`` where it
        does not apply (macOS, Windows, musl): there the call does nothing.

    Idempotent. Results do not change, only where the memory comes from.
    """
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success
    ok = mallopt(_M_MMAP_MAX, 0) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and ok
    _applied = ok
    return ok

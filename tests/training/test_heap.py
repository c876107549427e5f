"""keep_freed_memory: glibc reuses freed memory instead of mapping large tensors afresh.

The setting is process-wide, so each measurement runs in its own interpreter.
"""

import platform
import subprocess
import sys

import pytest

import photonn.training.heap as heap

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Minor page faults of one allocation of a 64 MB tensor, the median over the fourth to
# the eighth allocation in one process. Without the setting glibc maps every one afresh
# (16,384 faults of 4 KiB pages, or 32 of 2 MiB huge pages); with it, the heap grows
# during the first two and the freed block is reused from then on (measured: 16,376 /
# 16,384 / 0 / 0 faults). One clean-clone CI run saw a process in which even the fourth
# allocation faulted every page (16,384) with the setting on, where 220 repeats on the
# same machine saw none: the median over five allocations, and the better of two
# processes, keep such a one-off from failing the test; a setting that did nothing
# would still give 16,384 in both.
PROBE = """
import resource, statistics, sys, torch
from photonn.training import keep_freed_memory
if sys.argv[1] == "1":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    x = torch.ones(16 * 2**20)
    del x
counts = []
for _ in range(5):
    f0 = faults()
    x = torch.ones(16 * 2**20)
    counts.append(faults() - f0)
    del x
print(int(statistics.median(counts)))
"""


def _faults(enabled: bool) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "1" if enabled else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="keep_freed_memory acts on glibc only")
def test_reuses_freed_large_tensors():
    off = _faults(False)
    on = _faults(True)
    if on >= 64:  # a one-off process (see PROBE): a second one decides
        on = min(on, _faults(True))
    # 64 MB fresh is at least 32 faults (2 MiB pages), 16,384 with 4 KiB pages
    assert off >= 32
    assert on < min(off, 64), (off, on)


def test_not_glibc_is_a_noop(monkeypatch):
    monkeypatch.setattr(heap, "_applied", False)
    monkeypatch.setattr(heap.platform, "libc_ver", lambda: ("musl", "1.2"))
    assert heap.keep_freed_memory() is False

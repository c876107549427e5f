"""Replace a directory atomically: write it beside the target, fsync, rename into place.

A writer killed at any point leaves the old directory or the new one, plus at most a
hidden temporary sibling ``.NAME.tmp-PID-*`` that the next writer removes. An existing
directory is swapped out in one step by Linux ``renameat2(RENAME_EXCHANGE)`` (through
ctypes: the standard library has no call for it).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["replace_directory"]


def _fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(dirpath)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``); False if
    the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    r = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return r == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path) -> None:
    """Remove temporary siblings ``.NAME.tmp-PID-*`` left by killed writers."""
    for p in out.parent.glob(f".{out.name}.tmp-*"):
        try:
            pid = int(p.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def replace_directory(out: Path, write: Callable[[Path], None]) -> None:
    """Make ``out`` the directory that ``write(tmp)`` fills, atomically (see the module
    docstring); an existing ``out`` is replaced whole. The caller decides whether it may be."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        write(tmp)
        _fsync_tree(tmp)
        if out.exists():
            if _exchange(tmp, out):
                shutil.rmtree(tmp)  # now the old directory
            else:  # pragma: no cover - systems without renameat2
                old = out.parent / f".{out.name}.tmp-{os.getpid()}-old"
                os.rename(out, old)
                os.rename(tmp, out)
                shutil.rmtree(old)
        else:
            os.rename(tmp, out)
        _fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

"""The ``photonn`` command.

Sub-commands register themselves in :data:`COMMANDS` through ``_add_*``
functions below; each one is a thin shell over the library.
"""

from __future__ import annotations

import argparse
import sys


def _cmd_info(args) -> int:
    import platform

    import numpy
    import scipy
    import torch

    from ._version import __version__

    print(f"photonn {__version__}")
    print(f"python  {platform.python_version()} ({platform.platform()})")
    print(f"torch   {torch.__version__}  numpy {numpy.__version__}  scipy {scipy.__version__}")
    try:
        import h5py

        print(f"h5py    {h5py.__version__}")
    except ImportError:  # pragma: no cover
        print("h5py    missing")
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
    print(f"devices {', '.join(devices)}")
    print(f"threads {torch.get_num_threads()}")
    print(
        f"precision: default float {torch.get_default_dtype()}, optical modules complex64 "
        "(complex128 on request); transfer-function phases built in float64"
    )
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.out)


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    p = argparse.ArgumentParser(
        prog="photonn", description="Differentiable optical neural networks"
    )
    p.add_argument("--version", action="version", version=f"photonn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("info", help="versions, devices and precision")
    s.set_defaults(func=_cmd_info)
    s = sub.add_parser(
        "demo", help="propagation demo: focus a beam through a lens, write a picture"
    )
    s.add_argument("--out", default="photonn_demo.png", help="PNG to write (default: %(default)s)")
    s.set_defaults(func=_cmd_demo)
    for add in _EXTENSIONS:
        add(sub)
    return p


# Each entry takes the sub-parser collection and adds its commands.
_EXTENSIONS: list = []


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        print(f"photonn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

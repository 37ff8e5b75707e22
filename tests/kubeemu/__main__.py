"""`python -m tests.kubeemu --port PORT --kubeconfig-out FILE`: serve until killed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .controllers import NAMES
from .emulator import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kubeemu", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--kubeconfig-out", help="write a kubeconfig for this server here")
    parser.add_argument("--token", help="the admin bearer token (default: a random one)")
    parser.add_argument("--history-window", type=int, default=100_000,
                        help="changes kept for watches and paginated lists before 410 Expired")
    parser.add_argument("--bookmark-interval", type=float, default=5.0,
                        help="seconds between BOOKMARK events on watches that allow them")
    parser.add_argument("--controllers", default="",
                        help="comma-separated controllers to run, of: " + ",".join(NAMES))
    parser.add_argument("--data-dir", help="where PV folders, snapshot copies and Job logs go, "
                        "kept after exit (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    controllers = tuple(c for c in args.controllers.split(",") if c)
    emu = Emulator(port=args.port, history_window=args.history_window,
                   bookmark_interval=args.bookmark_interval, admin_token=args.token,
                   controllers=controllers,
                   controller_options=storage_options(controllers, args.data_dir)).start()
    if args.kubeconfig_out:
        emu.write_kubeconfig(args.kubeconfig_out)
    print(f"kubeemu serving on {emu.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


def storage_options(controllers: tuple[str, ...], data_dir: str | None) -> dict[str, dict]:
    """`--data-dir` is the root of every storage controller that runs."""
    if not data_dir:
        return {}
    return {name: {"root": data_dir} for name in ("volumes", "snapshots", "jobs")
            if name in controllers}


if __name__ == "__main__":
    sys.exit(main())

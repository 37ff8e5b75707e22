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
    args = parser.parse_args(argv)
    controllers = tuple(c for c in args.controllers.split(",") if c)
    emu = Emulator(port=args.port, history_window=args.history_window,
                   bookmark_interval=args.bookmark_interval, admin_token=args.token,
                   controllers=controllers).start()
    if args.kubeconfig_out:
        emu.write_kubeconfig(args.kubeconfig_out)
    print(f"kubeemu serving on {emu.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m tests.kubeemu --port PORT --kubeconfig-out FILE`: serve until killed.

`--nodes N` registers N Ready nodes first (shape from `--node-cpu`, `--node-memory`, `--node-pods`,
`--node-labels`, `--node-taints`); `--controllers ...,autoscaler` adds a node pool autoscaler
(`--pool-*`, `--provision-seconds`, `--not-ready-seconds`, `--scale-down-seconds`,
`--expendable-cutoff`); `--pull-seconds` / `--start-seconds` set the kubelet's timings.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from .controllers import NAMES
from .emulator import Emulator
from .nodes import parse_labels, parse_taints


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.kubeemu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--kubeconfig-out", help="write a kubeconfig for this server here")
    parser.add_argument("--token", help="the admin bearer token (default: a random one)")
    parser.add_argument("--history-window", type=int, default=100_000,
                        help="changes kept for watches and paginated lists before 410 Expired")
    parser.add_argument("--bookmark-interval", type=float, default=5.0,
                        help="seconds between BOOKMARK events on watches that allow them")
    parser.add_argument("--background", action="store_true",
                        help="return once serving, leaving the server running (prints its pid)")
    parser.add_argument("--namespace", default="",
                        help="create this namespace and make it the kubeconfig's default")
    parser.add_argument("--controllers", default="",
                        help="comma-separated controllers to run, of: " + ",".join(NAMES))
    nodes = parser.add_argument_group("nodes registered at start (Ready, loopback addresses)")
    nodes.add_argument("--nodes", type=int, default=0, help="how many (named node-1, node-2, ...)")
    nodes.add_argument("--node-cpu", default="8", help="cpu capacity (default 8)")
    nodes.add_argument("--node-memory", default="32Gi", help="memory capacity (default 32Gi)")
    nodes.add_argument("--node-pods", type=int, default=110, help="pod capacity (default 110)")
    nodes.add_argument("--node-labels", default="", help="extra labels, k=v,k2=v2")
    nodes.add_argument("--node-taints", default="", help="taints, k=v:NoSchedule,...")
    kubelet = parser.add_argument_group("kubelet (with --controllers ...,kubelet)")
    kubelet.add_argument("--pull-seconds", type=float, help="first pull of an image on a node")
    kubelet.add_argument("--start-seconds", type=float, help="a container's start")
    auto = parser.add_argument_group("node autoscaler (with --controllers ...,autoscaler); "
                                     "one pool, z2jh user nodes by default")
    auto.add_argument("--pool-name", default="user")
    auto.add_argument("--pool-min", type=int, default=0, help="nodes the pool keeps (default 0)")
    auto.add_argument("--pool-max", type=int, default=10, help="largest pool size (default 10)")
    auto.add_argument("--pool-cpu", default="4")
    auto.add_argument("--pool-memory", default="16Gi")
    auto.add_argument("--pool-pods", type=int, default=110)
    auto.add_argument("--pool-labels", default="hub.jupyter.org/node-purpose=user")
    auto.add_argument("--pool-taints", default="hub.jupyter.org/dedicated=user:NoSchedule")
    auto.add_argument("--provision-seconds", type=float, default=60.0,
                      help="from scale-up to the Node object (default 60)")
    auto.add_argument("--not-ready-seconds", type=float, default=30.0,
                      help="a new Node stays NotReady this long (default 30)")
    auto.add_argument("--scale-down-seconds", type=float, default=600.0,
                      help="an empty pool node is removed after this long (default 600)")
    auto.add_argument("--expendable-cutoff", type=int, default=-10,
                      help="pods of lower priority trigger no scale-up (default -10)")
    return parser


def options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Controller options from the command line (ValueError for a bad label or taint)."""
    out: dict[str, dict[str, Any]] = {}
    kubelet = {k: v for k, v in (("pull_seconds", args.pull_seconds),
                                 ("start_seconds", args.start_seconds)) if v is not None}
    if kubelet:
        out["kubelet"] = kubelet
    out["autoscaler"] = {
        "pools": [{"name": args.pool_name, "cpu": args.pool_cpu, "memory": args.pool_memory,
                   "pods": args.pool_pods, "min_size": args.pool_min, "max_size": args.pool_max,
                   "labels": parse_labels(args.pool_labels, "--pool-labels"),
                   "taints": parse_taints(args.pool_taints, "--pool-taints")}],
        "provision_seconds": args.provision_seconds,
        "not_ready_seconds": args.not_ready_seconds,
        "scale_down_seconds": args.scale_down_seconds,
        "expendable_cutoff": args.expendable_cutoff}
    return out


def _in_background(argv: list[str]) -> int:
    """Start this same command without --background as its own session; return once it serves
    (so a pasted session's next line finds it up)."""
    fd, log = tempfile.mkstemp(prefix="kubeemu-", suffix=".log")
    with os.fdopen(fd, "w") as errors:  # its stderr: controllers' tracebacks, if any
        child = subprocess.Popen([sys.executable, "-m", "tests.kubeemu",
                                  *[a for a in argv if a != "--background"]],
                                 stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                                 text=True, start_new_session=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    child.stdout.close()
    if "serving on" not in line:
        code = child.wait()
        sys.stderr.write(Path(log).read_text())
        return code
    print(f"{line.strip()} (pid {child.pid}, log {log}); stop it with: kill {child.pid}",
          flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.background:
        return _in_background(sys.argv[1:] if argv is None else argv)
    controllers = tuple(c for c in args.controllers.split(",") if c)
    try:
        made = options(args)
        shape = {"cpu": args.node_cpu, "memory": args.node_memory, "pods": args.node_pods,
                 "labels": parse_labels(args.node_labels), "taints": parse_taints(args.node_taints)}
    except ValueError as exc:
        parser.error(str(exc))
    unknown = [c for c in controllers if c not in NAMES]
    if unknown:
        parser.error(f"--controllers: no controller named {unknown[0]!r}; expected some of "
                     + ",".join(NAMES))
    emu = Emulator(port=args.port, history_window=args.history_window,
                   bookmark_interval=args.bookmark_interval, admin_token=args.token,
                   controllers=controllers,
                   controller_options={k: v for k, v in made.items() if k in controllers})
    if args.nodes:
        emu.add_nodes(args.nodes, **shape)
    if args.namespace:
        ns = emu.catalogue.find("", "v1", "namespaces")
        assert ns is not None
        if emu.store.get(ns.key, ("", args.namespace)) is None:
            emu.registry.create(ns, "", {"metadata": {"name": args.namespace}})
    emu.start()
    if args.kubeconfig_out:
        emu.write_kubeconfig(args.kubeconfig_out, args.namespace or "default")
    print(f"kubeemu serving on {emu.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

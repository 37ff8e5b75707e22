"""The stack's subcommands of `classops`: `render` and `deploy` (and later `check`, `status`).

`shared/cli.py` calls `add(commands, subcommand)` once; each command is `cmd_<name>(args) -> int`
with the CLI's exit codes (0 done, 1 the schedule is invalid or the deploy did not come out
right, 2 any other error).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.applying import Ports
from shared.executor import Executor
from shared.metrics import Metrics
from shared.ports.kube import Kube, connect
from shared.timetable import TimetableError, load

from .config import HubSettings
from .deploying import deploy
from .labels import PARTS
from .rendering import render, settings_of, to_yaml

Subcommand = Callable[..., argparse.ArgumentParser]


def add(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "render", "print the hub stack's manifests as one YAML stream "
                     "for kubectl apply --server-side --field-manager=classops -f -")
    _common(sub, ",".join(PARTS))
    sub.set_defaults(func=cmd_render)
    sub = subcommand(commands, "deploy", "plan, apply and wait for the hub stack "
                     "(server-side apply as field manager classops)")
    _common(sub, "hub")
    sub.add_argument("--prune", action="store_true",
                     help="delete what classops rendered before and renders no more "
                          "(never PVCs, Secrets or Namespaces)")
    sub.add_argument("--dry-run", action="store_true", help="print the plan only")
    sub.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                     help="how long to wait for every workload to be ready (default 600)")
    sub.add_argument("--no-wait", action="store_true", help="apply and return")
    sub.set_defaults(func=cmd_deploy)


def _common(sub: argparse.ArgumentParser, parts: str) -> None:
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE")
    sub.add_argument("--parts", default=parts, metavar="PARTS",
                     help=f"comma-separated, of {', '.join(PARTS)} (default: {parts})")


def _settings(args: argparse.Namespace) -> tuple[HubSettings, str] | None:
    try:
        timetable = load(args.schedule)
    except TimetableError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return None
    settings = settings_of(timetable)
    if getattr(args, "namespace", None):
        settings = dataclasses.replace(settings, namespace=args.namespace)
    with open(args.schedule, encoding="utf-8") as f:
        return settings, f.read()


def _parts(args: argparse.Namespace) -> list[str]:
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f"--parts: unknown {', '.join(unknown)}, expected {', '.join(PARTS)}")
    return parts


def cmd_render(args: argparse.Namespace) -> int:
    found = _settings(args)
    if found is None:
        return 1
    settings, text = found
    sys.stdout.write(to_yaml(render(settings, text, _parts(args))))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    found = _settings(args)
    if found is None:
        return 1
    settings, text = found
    api = getattr(args, "api_client", None) or connect(args.kubeconfig)
    kube = Kube(api)
    try:
        executor = Executor(Ports(kube), Metrics(), lambda: datetime.now(UTC))
        stamp = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
        outcome = deploy(kube, executor, settings, sys.stdout, _parts(args), text, args.prune,
                         args.dry_run, None if args.no_wait else args.timeout,
                         event_id=f"deploy@{stamp}")
    finally:
        kube.close()
    if outcome.not_ready:
        print(f"classops: not ready after {args.timeout:g} s: {', '.join(outcome.not_ready)}",
              file=sys.stderr)
    return 1 if outcome.failed or outcome.not_ready else 0

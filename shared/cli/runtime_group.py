"""The runtime's subcommands of `classops`: `serve` and `events`.

One command group of `shared.cli`, wired by `main` with one line. `serve` runs until SIGTERM;
`events [ID]` lists the inbox's entries, newest last, with each event's state and outcome
(`-o json` for all of it).
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from shared.cli import options
from shared.cli.options import Subcommand, UsageError
from shared.logs import configure
from shared.runtime.inbox.entries import Entry


def add(commands: Any, subcommand: Subcommand) -> None:
    serve = subcommand(commands, "serve", "run the webhook, the leader election, the watchers "
                                          "and the scheduler until SIGTERM")
    serve.add_argument("--functions", metavar="PACKAGE",
                       help="the package of handlers (default: $CLASSOPS_FUNCTIONS or functions)")
    serve.set_defaults(func=cmd_serve)
    events = subcommand(commands, "events", "list received events and their outcomes")
    events.add_argument("id", nargs="?", help="show only the event(s) with this id")
    events.add_argument("--state", choices=("pending", "done", "failed"))
    events.set_defaults(func=cmd_events)


def cmd_serve(args: argparse.Namespace) -> int:
    from shared.runtime.server import ServeError, Server

    settings = options.settings(args)
    configure(settings.log_level)
    registry = options.registry(args)
    try:
        server = Server.open(settings, registry, log=logging.getLogger("classops.serve"))
    except ServeError as err:
        raise UsageError(str(err)) from None
    return server.run()


def cmd_events(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from shared.ports.kube import Kube, connect, default_namespace
    from shared.runtime.inbox.store import Inbox

    settings = options.settings(args)
    namespace = settings.namespace or default_namespace(settings.kubeconfig)
    kube = Kube(connect(settings.kubeconfig))
    found = Inbox(kube, namespace, lambda: datetime.now(UTC)).entries(args.state or "")
    found = [e for e in found if not args.id or e.id == args.id]
    if args.output == "json":
        print(json.dumps([_as_dict(e) for e in found], indent=1))
        return 0
    rows = [("RECEIVED", "STATE", "TYPE", "ID", "SOURCE", "OUTCOME")]
    rows += [(e.received.strftime("%Y-%m-%d %H:%M:%S"), e.state, e.type, e.id, e.source,
              _summary(e)) for e in found]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print(("  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True))
               + "  " + row[5]).rstrip())
    return 0


def _as_dict(entry: Entry) -> dict[str, Any]:
    return {"id": entry.id, "source": entry.source, "type": entry.type,
            "received": entry.received.isoformat(), "state": entry.state,
            "attempts": entry.attempts, "outcome": entry.outcome}


def _summary(entry: Entry) -> str:
    handlers = entry.outcome.get("handlers") or []
    if not handlers:
        return entry.outcome.get("error", "") if entry.state != "pending" else ""
    actions = sum(len(h.get("actions") or []) + h.get("actions_omitted", 0) for h in handlers)
    statuses = ", ".join(f"{h['handler'].rsplit('.', 1)[-1]} {h['status']}" for h in handlers)
    return f"{statuses}; {actions} actions"

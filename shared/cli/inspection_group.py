"""The stack's read-only command group: `classops check` (before term: is the cluster ready for
classops?) and `classops status` (one screen on the running stack).

Clients come from the settings (`CLASSOPS_HUB_API_URL`, `CLASSOPS_HUB_TOKEN`,
`CLASSOPS_S3_BUCKET`, `CLASSOPS_S3_ENDPOINT`, boto3's credential chain) and the kubeconfig;
tests inject them as `args.api_client`, `args.s3`, `args.hub` and `args.now`.
Exit codes: check 0 when nothing failed (warnings allowed), 1 when something failed; status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.cli import options
from shared.cli.options import Subcommand
from shared.settings import Settings
from shared.stack.config import HubSettings
from shared.stack.manifests import settings_of
from shared.timetable import Timetable, TimetableError, load

if TYPE_CHECKING:  # the ports (kubernetes, boto3) load when a command runs, not with the CLI
    from shared.ports.hub import Hub
    from shared.ports.s3 import S3


def add(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "check", "before term: snapshot support, S3, the hub token, "
                     "classops's own permissions and an autoscaler; exit 1 if anything fails")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE")
    sub.set_defaults(func=cmd_check)
    sub = subcommand(commands, "status", "the hub stack on one screen: components, "
                     "placeholders, servers, PVCs, snapshots and the next actions")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE",
                     help="for the next actions (status works without it)")
    sub.set_defaults(func=cmd_status)


def _hub(args: argparse.Namespace, env: Settings) -> Hub | None:
    from shared.ports.hub import Hub

    if hasattr(args, "hub"):
        given: Hub | None = args.hub
        return given
    return Hub(env.hub_api_url, env.hub_token) if env.hub_api_url and env.hub_token else None


def _s3(args: argparse.Namespace, env: Settings) -> S3 | None:
    from shared.ports.s3 import S3
    from shared.ports.s3 import connect as connect_s3

    if hasattr(args, "s3"):
        given: S3 | None = args.s3
        return given
    return S3(connect_s3(env.s3_endpoint, env.s3_region), env.s3_bucket) if env.s3_bucket \
        else None


def _namespace(args: argparse.Namespace, settings: HubSettings | None) -> str:
    from shared.ports.kube import default_namespace

    return (getattr(args, "namespace", None) or (settings.namespace if settings else "")
            or default_namespace(options.settings(args).kubeconfig))


def cmd_check(args: argparse.Namespace) -> int:
    from shared.ports.kube import Kube, connect
    from shared.stack import probes, verdicts

    timetable = load(args.schedule)  # an invalid one is reported by main, exit 1
    settings = settings_of(timetable)
    settings = dataclasses.replace(settings, namespace=_namespace(args, settings))
    env = options.settings(args)
    kube = Kube(getattr(args, "api_client", None) or connect(options.settings(args).kubeconfig))
    try:
        found = verdicts.verdicts(probes.observe(
            probes.Systems(kube, _s3(args, env), _hub(args, env)), settings))
    finally:
        kube.close()
    print(verdicts.as_json(found) if args.output == "json" else verdicts.table(found))
    return 1 if verdicts.failed(found) else 0


def cmd_status(args: argparse.Namespace) -> int:
    from shared.ports.kube import Kube, connect
    from shared.stack import status

    timetable: Timetable | None = None
    with contextlib.suppress(TimetableError, OSError):  # without one: no next actions
        timetable = load(args.schedule)
    settings = settings_of(timetable) if timetable else None
    namespace = _namespace(args, settings)
    now: datetime = getattr(args, "now", None) or datetime.now(UTC)
    kube = Kube(getattr(args, "api_client", None) or connect(options.settings(args).kubeconfig))
    try:
        found = status.read(kube, namespace, now, _hub(args, options.settings(args)), timetable)
    finally:
        kube.close()
    print(json.dumps(status.as_dict(found), indent=1, default=str) if args.output == "json"
          else status.table(found))
    return 0

"""The backup subcommands of `classops`: `snapshot`, `prune`, `history`,
`uninstall-finalizers`.

`snapshot` and `prune` build the event the timetable would fire (`backup.due` with reason and
user, `retention.due` with the schedule's policy) and dispatch it through the registry, so the
CLI runs the very functions `serve` runs; the executor feeds the term ledger. Destructive ones
are dry runs unless `--confirm`: `prune` prints what it would delete (snapshots, and copies in
S3 when a bucket is configured), `uninstall-finalizers`
which PVCs it would release. Exit codes: 0 done, 1 something failed (a snapshot not ready, a
handler that failed), 2 a usage error. Tests inject `args.api_client`, `args.s3`, `args.now`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cloudevents.core.v1.event import CloudEvent

from shared.actions.executor import DryRunExecutor, Executor, Result
from shared.actions.model import DeleteCopy
from shared.backup import naming
from shared.backup.inventory import held
from shared.cli import options
from shared.cli.options import Subcommand
from shared.events import BACKUP_DUE, RETENTION_DUE, typed
from shared.ledger.recording import LedgerSink, open_ledger, timetable_of
from shared.ledger.records import Record
from shared.ledger.storage import Ledger
from shared.settings import Settings
from shared.timetable import Timetable, load

if TYPE_CHECKING:
    from shared.ports.kube import Kube
    from shared.runtime.connecting import Live

SNAPSHOTS = "snapshot.storage.k8s.io/v1"
SOURCE = "/classops/cli"


def add(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "snapshot", "snapshot every student's PVC now (or one "
                     "student's), wait until ready; exit 1 if any failed")
    sub.add_argument("--reason", default=naming.MANUAL,
                     help="the snapshots' reason label (default: manual)")
    sub.add_argument("--user", default="", help="only this hub user's PVCs (the raw name)")
    _common(sub)
    sub.set_defaults(func=cmd_snapshot)
    sub = subcommand(commands, "prune", "apply the retention policy to the students' "
                     "snapshots and copies in S3: print the plan; delete only with --confirm")
    sub.add_argument("--confirm", action="store_true", help="delete what the plan lists")
    _common(sub)
    sub.set_defaults(func=cmd_prune)
    sub = subcommand(commands, "history", "what classops holds for a student and since when: "
                     "snapshots now held, and the term ledger's records")
    sub.add_argument("user", help="the hub username (raw, e.g. alice@uni.edu)")
    _common(sub)
    sub.set_defaults(func=cmd_history)
    sub = subcommand(commands, "uninstall-finalizers", "remove classops's finalizer from "
                     "every user PVC (before removing classops); a dry run unless --confirm")
    sub.add_argument("--confirm", action="store_true", help="remove them")
    _common(sub)
    sub.set_defaults(func=cmd_uninstall_finalizers)


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--schedule", metavar="FILE", help="schedules.yaml (default: the "
                     "classops-schedule ConfigMap of the namespace)")
    sub.add_argument("--functions", metavar="PACKAGE",
                     help="the package of handlers (default: $CLASSOPS_FUNCTIONS or functions)")


@dataclass
class Session:
    settings: Settings
    kube: Kube
    live: Live
    namespace: str
    timetable: Timetable | None
    ledger: Ledger | None
    now: datetime

    def executor(self) -> Executor:
        from shared.metrics import Metrics

        sinks = [LedgerSink(self.ledger, lambda: datetime.now(UTC))] if self.ledger else []
        return Executor(self.live.ports, Metrics(), lambda: datetime.now(UTC), sinks=sinks,
                        workers=self.settings.snapshot_workers)

    def close(self) -> None:
        self.kube.close()


def _session(args: argparse.Namespace) -> Session:
    from shared.ports.kube import connect, default_namespace
    from shared.runtime.connecting import live

    settings = options.settings(args)
    namespace = settings.namespace or default_namespace(settings.kubeconfig)
    settings = dataclasses.replace(settings, namespace=namespace)
    api = getattr(args, "api_client", None) or connect(settings.kubeconfig)
    found = live(settings, lambda: datetime.now(UTC), api)
    if getattr(args, "s3", None) is not None:
        found.ports.s3 = args.s3
        found = dataclasses.replace(found, context=dataclasses.replace(found.context,
                                                                         s3=args.s3))
    kube = found.ports.kube
    timetable = load(args.schedule) if getattr(args, "schedule", None) else \
        timetable_of(kube, namespace, None)
    ledger = open_ledger(settings, kube, namespace, found.ports.s3, lambda: datetime.now(UTC),
                         timetable)
    now = getattr(args, "now", None) or datetime.now(UTC)
    return Session(settings, kube, found, namespace, timetable, ledger, now)


def _dispatch(args: argparse.Namespace, s: Session, event_type: str, data: dict[str, Any],
              run: Callable[[Any, str], list[Result]]) -> tuple[list[Result], list[str]]:
    """Dispatch the event through the registry; each handler's actions go to `run`."""
    from shared.handlers.dispatching import dispatch

    subject = f"{s.timetable.course}/{s.timetable.term.name}" if s.timetable else s.namespace
    stamp = s.now.astimezone(UTC).strftime("%Y%m%dt%H%M%S")
    event = typed(CloudEvent({"id": f"cli/{event_type.rsplit('.', 2)[-2]}@{stamp}",
                              "type": event_type, "source": SOURCE, "subject": subject,
                              "time": s.now, "datacontenttype": "application/json"}, data))
    context = dataclasses.replace(s.live.context, clock=lambda: s.now)
    results, problems = [], []
    for outcome in dispatch(event, context, options.registry(args)):
        if outcome.status != "ok":
            problems.append(f"{outcome.handler} {outcome.status}: {outcome.error}")
        results += run(outcome.actions, event.id)
    return results, problems


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True))
                      + "  " + r[-1]).rstrip() for r in rows)


def _user(r: Result) -> str:
    """The student an action is for: its username annotation, else its own `user` field."""
    return str(getattr(r.action, "annotations", {}).get(naming.USERNAME, "")
               or getattr(r.action, "user", ""))


def _results(results: Sequence[Result], output: str) -> None:
    if output == "json":
        print(json.dumps([{"target": r.action.target, "outcome": r.outcome, "detail": r.detail,
                           "user": _user(r)} for r in results], indent=1))
        return
    rows = [("OUTCOME", "USER", "TARGET", "DETAIL")]
    rows += [(r.outcome, _user(r), r.action.target, r.detail) for r in results]
    print(_table(rows))


def cmd_snapshot(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        executor = s.executor()
        results, problems = _dispatch(args, s, BACKUP_DUE, {
            "cron": "manual", "reason": args.reason, "user": args.user}, executor.execute)
    finally:
        s.close()
    _results(results, args.output)
    failed = [r for r in results if r.outcome == "failed"]
    for problem in problems:
        print(f"classops: {problem}", file=sys.stderr)
    print(f"{len(results) - len(failed)} of {len(results)} snapshots ready"
          + (f", {len(failed)} FAILED" if failed else ""), file=sys.stderr)
    return 1 if failed or problems else 0


def cmd_prune(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        keep = s.timetable.backup.retention if s.timetable and s.timetable.backup else None
        if keep is None:
            raise ValueError("the schedule has no backup.retention policy")
        data = {"keep_last": keep.keep_last, "keep_daily": keep.keep_daily,
                "keep_weekly": keep.keep_weekly, "keep_hourly": keep.keep_hourly,
                "keep_monthly": keep.keep_monthly}
        run = s.executor().execute if args.confirm else DryRunExecutor().execute
        results, problems = _dispatch(args, s, RETENTION_DUE, data, run)
        total = sum(1 for o in s.kube.list(SNAPSHOTS, "VolumeSnapshot", s.namespace,
                                           f"{naming.MANAGED_BY}=classops,{naming.REASON}"))
    finally:
        s.close()
    _results(results, args.output)
    copies = [r for r in results if isinstance(r.action, DeleteCopy)]
    deleted = sum(1 for r in results if r.outcome in ("changed", "planned")
                  and not isinstance(r.action, DeleteCopy))
    verb = "deleted" if args.confirm else "would delete"
    print(f"{verb} {deleted}, keeping {total - deleted if not args.confirm else total} "
          f"snapshots; {verb} {_copies(copies)}"
          + ("" if args.confirm else "; nothing deleted: --confirm deletes"), file=sys.stderr)
    for problem in problems:
        print(f"classops: {problem}", file=sys.stderr)
    failed = any(r.outcome == "failed" for r in results)
    return 1 if failed or problems else 0


def _copies(results: Sequence[Result]) -> str:
    """`3 copies in S3 (2 older copies, 1 failed copy's leftovers)`: what is deleted, by kind."""
    done = [r.action for r in results if r.outcome in ("changed", "planned")
            and isinstance(r.action, DeleteCopy)]
    words = {"copy": "older", "garbage": "without a manifest", "marker": "stray markers",
             "parts": "unfinished uploads"}
    kinds = ", ".join(f"{n} {words[k]}" for k in words
                      if (n := sum(1 for a in done if a.kind == k)))
    return f"{len(done)} copies in S3" + (f" ({kinds})" if kinds else "")


def cmd_history(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        now_held = sorted((h for o in s.kube.list(SNAPSHOTS, "VolumeSnapshot", s.namespace,
                                                  naming.user_selector(args.user))
                           if (h := held(o.raw)) is not None and h.user == args.user),
                          key=lambda h: h.at)
        records: list[Record] = []
        note = ""
        if s.ledger is None:
            note = "no course/term found (--schedule or the classops-schedule ConfigMap)"
        elif s.ledger.s3 is None:
            note = "no ledger history: CLASSOPS_S3_BUCKET is not set"
        else:
            records = list(s.ledger.records(args.user))
    finally:
        s.close()
    if args.output == "json":
        print(json.dumps({"user": args.user, "held": [
            {"name": h.name, "reason": h.reason, "at": h.at.isoformat(), "ready": h.ready,
             "server": h.server, "claim": h.claim} for h in now_held],
            "records": [r.as_dict() for r in records], "note": note}, indent=1))
        return 0
    first = now_held[0].at.isoformat(timespec="minutes") if now_held else "-"
    print(f"{args.user}: {len(now_held)} snapshots held now (oldest {first}); "
          f"{len(records)} ledger records this term")
    if now_held:
        print(_table([("SNAPSHOT", "SERVER", "REASON", "FOR", "READY")] + [
            (h.name, h.server or "-", h.reason, h.at.isoformat(timespec="minutes"),
             "yes" if h.ready else f"no {h.error}".strip()) for h in now_held]))
    if records:
        print()
        print(_table([("AT", "KIND", "OUTCOME", "TARGET", "DETAIL")] + [
            (r.at.isoformat(timespec="seconds"), r.kind, r.outcome, r.target, r.detail)
            for r in records]))
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_uninstall_finalizers(args: argparse.Namespace) -> int:
    from shared.actions.model import SetFinalizer

    s = _session(args)
    try:
        actions = [SetFinalizer(o.namespace, o.name, naming.FINALIZER, False, o.uid)
                   for o in s.kube.list("v1", "PersistentVolumeClaim", s.namespace,
                                        f"{naming.COMPONENT}={naming.STORAGE}")
                   if naming.FINALIZER in (o.metadata.get("finalizers") or [])]
        run = s.executor().execute if args.confirm else DryRunExecutor().execute
        results = run(actions, f"cli/uninstall-finalizers@{s.now:%Y%m%dt%H%M%S}")
    finally:
        s.close()
    _results(results, args.output)
    print(f"{'removed' if args.confirm else 'would remove'} {naming.FINALIZER} from "
          f"{len(results)} PVCs" + ("" if args.confirm else "; nothing changed: --confirm "
                                    "removes them"), file=sys.stderr)
    return 1 if any(r.outcome == "failed" for r in results) else 0

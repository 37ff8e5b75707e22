"""`classops warm --meeting NAME [--at TIME] [--dry-run]`: warm up by hand for an unplanned
session (a review before the exam, a lecture moved at short notice) of a meeting the schedule
knows, which gives its kind, audience, attendance and length.

It puts the session's warm-up (due `at - lead`) and cool-down (due `end + grace`) into the
inbox, as the calendar webhook would: the leader of `classops serve` runs them when due, deduped
by id, and `classops events` shows how they ended. It prints what the warm-up would hold,
decided now by the same handler (against the cluster when one is configured). `--dry-run`
prints only. Exit codes as the CLI's: 0 done, 1 the schedule is invalid, 2 a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudevents.core.v1.event import CloudEvent

from shared.actions.executor import DryRunExecutor
from shared.cli import observation, options
from shared.cli.options import Subcommand, UsageError
from shared.events import COOLDOWN, WARMUP, typed
from shared.timetable import Timetable, load
from shared.timetable.model import WHOLE_CLASS, Meeting, OneOff

SOURCE = "/classops/cli/warm"


def add(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "warm", "warm up by hand for an unplanned session of a meeting "
                     "(its warm-up and cool-down go to the inbox for classops serve)")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE")
    sub.add_argument("--meeting", required=True, metavar="NAME",
                     help="a meeting of the schedule: its kind, audience, attendance and length")
    sub.add_argument("--at", metavar="TIME", help="the session's start: YYYY-MM-DDTHH:MM or "
                     "HH:MM today, in the term's timezone (default: now)")
    sub.add_argument("--dry-run", action="store_true", help="print the decision only")
    sub.add_argument("--functions", metavar="PACKAGE",
                     help="the package of handlers (default: $CLASSOPS_FUNCTIONS or functions)")
    sub.add_argument("--no-cluster", action="store_true",
                     help="decide without reading the cluster (as `classops plan --no-cluster`)")
    sub.set_defaults(func=cmd_warm)


def session_data(timetable: Timetable, meeting: str, start: datetime) -> dict[str, Any]:
    """The warm-up's `data` for `meeting` starting at `start` (ValueError: no such meeting)."""
    found: list[Meeting | OneOff] = [*timetable.meetings, *timetable.one_offs]
    chosen = next((m for m in found if m.name == meeting), None)
    if chosen is None:
        names = ", ".join(m.name for m in found) or "(none)"
        raise ValueError(f"--meeting {meeting!r} is not a meeting of the schedule, expected "
                         f"one of {names}")
    length = (datetime.combine(start.date(), chosen.end) -
              datetime.combine(start.date(), chosen.start))
    default = 1.0 if chosen.kind == "exam" else timetable.knobs.attendance
    share = default if chosen.attendance is None else chosen.attendance
    audience = chosen.audience or WHOLE_CLASS
    expected = math.ceil(timetable.enrolment.audience_size(audience) * share - 1e-9)
    return {"meeting": meeting, "kind": chosen.kind, "audience": audience,
            "expected": expected, "start": start.isoformat(),
            "end": (start + length).isoformat(), "source": "cli"}


def start_of(text: str | None, timetable: Timetable, now: datetime) -> datetime:
    zone = timetable.term.timezone
    if not text:
        return now.astimezone(zone).replace(second=0, microsecond=0)
    try:
        if "T" in text or "-" in text:
            found = datetime.fromisoformat(text)
            return found.astimezone(zone) if found.tzinfo else found.replace(tzinfo=zone)
        hour, minute = (int(p) for p in text.split(":"))
        return now.astimezone(zone).replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise ValueError(f"--at {text!r} is not a time, expected YYYY-MM-DDTHH:MM or HH:MM"
                         ) from None


def events(data: dict[str, Any], warm_at: datetime, cool_at: datetime) -> list[CloudEvent]:
    stamp = data["start"]
    subject = f"{data['meeting']}/{datetime.fromisoformat(stamp):%Y-%m-%dT%H:%M}"
    return [CloudEvent({"id": f"{kind}/{data['meeting']}@{stamp}", "type": type_,
                        "source": SOURCE, "subject": subject, "time": at,
                        "datacontenttype": "application/json"}, dict(data))
            for kind, type_, at in (("warm", WARMUP, warm_at), ("cool", COOLDOWN, cool_at))]


def cmd_warm(args: argparse.Namespace) -> int:
    try:
        return _warm(args)
    except ValueError as err:  # a bad --meeting or --at: one line, exit 2
        raise UsageError(str(err)) from None


def _warm(args: argparse.Namespace) -> int:
    from shared.cli.timetable_group import _view
    from shared.handlers.dispatching import dispatch

    timetable = load(args.schedule)  # an invalid one is reported by main, exit 1
    now = getattr(args, "now", None) or datetime.now(UTC)
    start = start_of(args.at, timetable, now)
    data = session_data(timetable, args.meeting, start)
    if datetime.fromisoformat(data["end"]) <= now:
        raise ValueError(f"--at {start.isoformat(timespec='minutes')}: that session of "
                         f"{args.meeting} has ended, expected a later start")
    registry, settings = options.registry(args), options.settings(args)
    view: observation.View = _view(args, timetable, settings, len(registry))
    try:
        # The view's timetable carries the lead time the cluster measured (or the default).
        warm_at = max(start - view.timetable.knobs.lead_time, now.astimezone(start.tzinfo))
        cool_at = datetime.fromisoformat(data["end"]) + timetable.knobs.cooldown_grace
        warm, cool = events(data, warm_at, cool_at)
        quiet = logging.getLogger("classops.warm")
        decided = dispatch(typed(warm), view.context(warm_at, quiet), registry)
        for outcome in decided:
            if outcome.status != "ok":
                print(f"classops: warning: {outcome.handler} {outcome.status}: {outcome.error}",
                      file=sys.stderr)
            DryRunExecutor(sys.stdout).execute(outcome.actions, warm.get_id())
        if args.dry_run:
            print(f"dry run: nothing queued (warm-up due {warm_at.isoformat(timespec='minutes')}"
                  f", cool-down due {cool_at.isoformat(timespec='minutes')})")
            return 0
        return _queue(settings, [(warm, warm_at), (cool, cool_at)], now, args)
    finally:
        view.close()


def _queue(settings: Any, due: list[tuple[CloudEvent, datetime]], now: datetime,
           args: argparse.Namespace) -> int:
    from shared.ports.kube import Kube, connect, default_namespace
    from shared.runtime.inbox.store import Inbox

    namespace = settings.namespace or default_namespace(settings.kubeconfig)
    kube = Kube(getattr(args, "api_client", None) or connect(settings.kubeconfig))
    try:
        inbox = Inbox(kube, namespace, lambda: now)
        for event, at in due:
            entry = dataclasses.replace(inbox.entry(event), not_before=at
                                        if at > now + timedelta(seconds=1) else None)
            fresh = inbox.put(entry)
            print(f"{'queued' if fresh else 'already queued'}: {event.get_type()} "
                  f"{event.get_id()} due {at.isoformat(timespec='minutes')}")
    finally:
        kube.close()
    return 0

"""The timetable's command group of `classops`: `validate` and `plan`.

`plan` runs the registered functions of each firing (the `functions` package, loaded by name, or
`--functions PACKAGE`) through the dry-run executor, so each firing lists the actions it would
take; a handler that fails is a warning on stderr, not an exit code, so one broken function does
not hide the rest of the term. With a cluster (`--kubeconfig`, `$KUBECONFIG`,
`$CLASSOPS_KUBECONFIG` or a pod's ServiceAccount) the handlers read it and the live calendar
overlay is applied; else they get a "no cluster" context (`shared.cli.observation`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.actions.executor import DryRunExecutor
from shared.cli import observation, options
from shared.cli.options import Subcommand, UsageError
from shared.events import from_occurrence, typed
from shared.handlers.dispatching import dispatch
from shared.handlers.registry import Registry
from shared.ports.errors import ApiError
from shared.settings import Settings
from shared.timetable import Occurrence, Timetable, TimetableError, expand, load, sessions
from shared.timetable.rendering import as_dicts, as_ics, as_table

DEFAULT_SCHEDULE = "schedules.yaml"


def add(commands: Any, subcommand: Subcommand) -> None:
    _add_validate(commands, subcommand)
    _add_plan(commands, subcommand)


def _add_validate(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "validate", "check a schedule file and report every problem")
    sub.add_argument("--schedule", default=DEFAULT_SCHEDULE, metavar="FILE")
    sub.set_defaults(func=cmd_validate)


def _add_plan(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "plan", "list every firing of a window of the term, in order",
                      outputs=("table", "json", "ics", "png"))
    sub.add_argument("--schedule", default=DEFAULT_SCHEDULE, metavar="FILE")
    sub.add_argument("--out", metavar="FILE",
                     help="write the plan to FILE instead of stdout (for -o png: a .png file)")
    sub.add_argument("--from", dest="start", metavar="DATE",
                     help="first day, YYYY-MM-DD in the term's timezone (default: term start)")
    sub.add_argument("--to", dest="end", metavar="DATE",
                     help="last day, inclusive (default: the day after the term's end, "
                          "when term.end fires)")
    sub.add_argument("--functions", metavar="PACKAGE",
                     help="the package of handlers (default: $CLASSOPS_FUNCTIONS or functions)")
    sub.add_argument("--no-cluster", action="store_true",
                     help="assume a cluster even when one is configured (the class's size, "
                          "nobody running, default lead time, no live overlay)")
    sub.set_defaults(func=cmd_plan)


def cmd_validate(args: argparse.Namespace) -> int:
    """Check the file: a one-line summary and 0, or every problem (one per line) and 1."""
    try:
        timetable = load(args.schedule)
    except TimetableError as err:
        for problem in err.problems:
            print(problem)
        return 1
    t, term = timetable, timetable.term
    print(f"OK {args.schedule}: {t.course} {term.name} ({term.timezone.key}, {term.start} .. "
          f"{term.end}): {t.enrolment.size} students in {len(t.enrolment.sections)} sections, "
          f"{len(sessions(t))} meetings this term, {len(t.deadlines)} deadline series, "
          f"backup {t.backup.cron if t.backup else 'off'}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """The window's firings in time order, as a table, JSON, iCalendar or a PNG.

    With no cluster the plan assumes one: the class's full size, nobody running and the
    default lead time; with one, the handlers read it and the live calendar overlay applies.
    Each entry's `actions` are its handlers' decisions, dry-run (the calendar and the picture
    show the firings only, so they do not run the handlers).
    """
    if args.output == "png" and not args.out and sys.stdout.isatty():
        raise UsageError("-o png writes binary data: give --out FILE or redirect stdout")
    timetable = load(args.schedule)
    term = timetable.term
    first = _day(args.start, "--from") if args.start else term.start
    last = _day(args.end, "--to") if args.end else term.end + timedelta(days=1)
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    start = datetime.combine(first, time(0), term.timezone)
    end = datetime.combine(last + timedelta(days=1), time(0), term.timezone)
    registry, settings = options.registry(args), options.settings(args)
    view = _view(args, timetable, settings, len(registry))
    try:
        return _plan(args, view, registry, start, end, first, last)
    finally:
        view.close()


def _plan(args: argparse.Namespace, view: observation.View, registry: Registry,
          start: datetime, end: datetime, first: date, last: date) -> int:
    timetable, note = view.timetable, view.note
    term = timetable.term
    occurrences = expand(timetable, start, end)
    if args.output == "ics":
        stamp = datetime.now(UTC).replace(microsecond=0)  # the CLI may read the clock
        return _emit(args, as_ics(occurrences, stamp, f"classops {timetable.course}"))
    if args.output == "png":
        from shared.timetable.drawing import as_png  # matplotlib loads only for a picture

        return _emit(args, as_png(timetable, occurrences, first, last, note))
    actions = _dry_run(occurrences, registry, view.context)
    if args.output == "json":
        print(f"note: {note}", file=sys.stderr)
        entries = as_dicts(occurrences)
        for entry, found in zip(entries, actions, strict=True):
            entry["actions"] = found
        return _emit(args, json.dumps(entries, indent=1) + "\n")
    header = [f"{timetable.course} {term.name} ({term.timezone.key}), {first} .. {last}: "
              f"{len(occurrences)} firings", note]
    lines = as_table(occurrences, header).splitlines()
    first_row = len(header) + 1
    out = lines[:first_row]
    for row, found in zip(lines[first_row:], actions, strict=True):
        out.append(row)
        out.extend(f"    -> {a['describe']}" for a in found)
    return _emit(args, "\n".join(out) + "\n")


def _emit(args: argparse.Namespace, data: str | bytes) -> int:
    """Write a plan (text or binary) to `--out FILE`, or to stdout."""
    if args.out:
        with open(args.out, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
    elif isinstance(data, str):
        print(data, end="")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def _view(args: argparse.Namespace, timetable: Timetable, settings: Settings,
          handlers: int) -> observation.View:
    """A cluster when one is given or configured (not merely ~/.kube/config), else none."""
    configured = settings.kubeconfig or settings.cluster_configured
    if getattr(args, "no_cluster", False) or not configured:
        return observation.assumed(timetable, settings, handlers)
    try:
        return observation.observed(timetable, settings, handlers)
    except ApiError as err:
        raise UsageError(f"cannot read the cluster (--no-cluster plans without one): "
                         f"{err}") from None


def _dry_run(occurrences: Sequence[Occurrence], registry: Registry,
             contexts: observation.Contexts) -> list[list[dict[str, Any]]]:
    """Each firing's actions, decided by its handlers in the plan's context, as dicts."""
    executor, found = DryRunExecutor(), []
    quiet = logging.getLogger("classops.plan")  # failures are reported below, once, in plain words
    quiet.handlers[:], quiet.propagate = [logging.NullHandler()], False
    for occurrence in occurrences:
        event = typed(from_occurrence(occurrence))
        actions = []
        for outcome in dispatch(event, contexts(occurrence.at, quiet), registry):
            if outcome.status != "ok":
                print(f"classops: warning: {outcome.handler} {outcome.status} for {event.id}: "
                      f"{outcome.error}", file=sys.stderr)
            for result in executor.execute(outcome.actions, event.id):
                actions.append({**result.action.as_dict(), "handler": outcome.handler,
                                "describe": result.action.describe()})
        found.append(actions)
    return found


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date, expected YYYY-MM-DD") from None

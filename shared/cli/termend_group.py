"""After term, the command group: `classops teardown` (and `archive-term`, the `term.end`
event run by hand).

`teardown` prints its plan and changes nothing unless given `--confirm`: per user, delete (the
final archive is verified and the PVC was not mounted since its final snapshot), keep (protected)
or re-archive first (and why); then the placeholders to 0 and the hub stack. `--delete-namespace`
asks for the namespace too, and is refused (exit 2, nothing done) while anything unverified or
protected remains. `--links` adds presigned links to each verified archive (at most 7 days).
Clients come from the settings as for `check`; tests inject `args.api_client`, `args.s3`,
`args.hub`, `args.now` and `args.sleep`. Exit codes: 0 done (or planned), 1 something failed
(run again: it resumes), 2 refused or a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.cli import options
from shared.cli.options import Subcommand, UsageError
from shared.teardown import report
from shared.teardown.notes import WHERE
from shared.teardown.protection import protection_of
from shared.teardown.term_index import prefix_of

if TYPE_CHECKING:
    from shared.ports.hub import Hub
    from shared.ports.s3 import S3


def add(commands: Any, subcommand: Subcommand) -> None:
    sub = subcommand(commands, "teardown", "after term: delete each user's PVC and snapshots "
                     "whose final archive is verified, the placeholders and the hub stack; "
                     "prints the plan, acts only with --confirm")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE")
    sub.add_argument("--confirm", action="store_true", help="act on the plan (default: print it)")
    sub.add_argument("--delete-namespace", action="store_true",
                     help="delete the namespace too (refused while anything is kept or "
                          "unverified)")
    sub.add_argument("--links", action="store_true",
                     help="presigned links to each verified archive (teardown.link_days, at "
                          "most 7 days: the S3 SigV4 limit)")
    sub.add_argument("--no-rehash", action="store_true",
                     help="check archives by size and manifest only, not by reading them whole")
    sub.set_defaults(func=cmd_teardown)
    sub = subcommand(commands, "archive-term", "after term: close the hub, stop every server, "
                     "take the final snapshots (the hub database's with the hub at 0), verify "
                     "the final archives and write the term index; deletes nothing")
    sub.add_argument("--schedule", default="schedules.yaml", metavar="FILE")
    sub.set_defaults(func=cmd_archive_term)


def _hub(args: argparse.Namespace) -> Hub | None:
    from shared.ports.hub import Hub

    if hasattr(args, "hub"):
        given: Hub | None = args.hub
        return given
    env = options.settings(args)
    return Hub(env.hub_api_url, env.hub_token) if env.hub_api_url and env.hub_token else None


def _s3(args: argparse.Namespace) -> S3:
    from shared.ports.s3 import S3
    from shared.ports.s3 import connect as connect_s3

    if getattr(args, "s3", None) is not None:
        given: S3 = args.s3
        return given
    env = options.settings(args)
    if not env.s3_bucket:
        raise UsageError("CLASSOPS_S3_BUCKET is not set: the term index and the archives "
                         "live there")
    return S3(connect_s3(env.s3_endpoint, env.s3_region), env.s3_bucket)


def cmd_teardown(args: argparse.Namespace) -> int:
    from shared.actions.applying import Ports
    from shared.actions.executor import Executor
    from shared.metrics import Metrics
    from shared.ports.kube import Kube, connect, default_namespace
    from shared.stack.manifests import settings_of
    from shared.teardown.decisions import plan
    from shared.termend.survey import survey
    from shared.termend.tearing import carry_out
    from shared.timetable import load

    timetable = load(args.schedule)  # an invalid one is reported by main, exit 1
    env = options.settings(args)
    hub_settings = settings_of(timetable)
    namespace = (getattr(args, "namespace", None) or env.namespace or hub_settings.namespace
                 or default_namespace(env.kubeconfig))
    hub_settings = dataclasses.replace(hub_settings, namespace=namespace)
    protection = protection_of(timetable.extensions)
    prefix = prefix_of(timetable.course, timetable.term.name)
    now = getattr(args, "now", None) or (lambda: datetime.now(UTC))
    s3, hub = _s3(args), _hub(args)
    kube = Kube(getattr(args, "api_client", None) or connect(env.kubeconfig))

    def say(text: str) -> None:
        print(f"classops: {text}", file=sys.stderr)

    try:
        found = survey(kube, s3, hub, hub_settings, prefix, protection, not args.no_rehash, say)
        if found.index is None:
            say(f"no term index at s3://{s3.bucket}/{prefix}/index.json: nothing is verified "
                "(run classops archive-term first)")
            if args.confirm:  # nor is the stack removed: the hub is how students reach files
                return 2
        chosen = plan(found.states, namespace, found.stack, found.placeholders, found.hub_db,
                      found.hub_db_problem, args.delete_namespace, found.hub_db_snapshots,
                      found.hub_db_contents)
        if chosen.namespace_refused:
            say(chosen.namespace_refused)
            return 2
        failures: dict[tuple[str, str], str] = {}
        failed = False
        if args.confirm:
            sleep = getattr(args, "sleep", None)
            executor = Executor(Ports(kube, s3=s3), Metrics(), now,
                                sinks=_ledger(env, kube, namespace, s3, now, timetable),
                                **({"sleep": sleep} if sleep else {}))
            stamp = now().strftime("%Y%m%dt%H%M%S")
            outcome = carry_out(chosen, executor, s3, prefix, now, f"teardown@{stamp}", say)
            failures, failed = outcome.failures, outcome.failed
        expires = now() + timedelta(days=protection.link_days) if args.links else None
        lines = []
        for row in chosen.rows:
            line = report.line(row, args.confirm, failures.get(row.owner))
            if expires and line.verified and row.entry and row.entry.object:
                line = dataclasses.replace(line, link=s3.presign_get(
                    row.entry.object, timedelta(days=protection.link_days)))
            lines.append(line)
    finally:
        kube.close()
    stack = [("done" if args.confirm else "planned") + f": {a.describe()}"
             for a in chosen.stack]
    if args.output == "json":
        print(report.as_json(lines, chosen, expires, {"confirmed": args.confirm}))
    else:
        print(report.table(lines, chosen, expires, chosen.stack_kept))
        print("\n".join(stack))
        if not args.confirm:
            print("dry run: nothing changed; run again with --confirm to act on this plan")
    return 1 if failed else 0


def cmd_archive_term(args: argparse.Namespace) -> int:
    """The `term.end` event, dispatched through the registry as the timetable would fire it,
    its actions done in order (stopping at the first failure: a snapshot of a home still
    mounted is not a final one); then the final archives verified and the term index written."""
    from cloudevents.core.v1.event import CloudEvent

    from shared.actions.executor import Executor
    from shared.events import TERM_END
    from shared.events.building import typed
    from shared.handlers.dispatching import dispatch
    from shared.metrics import Metrics
    from shared.ports.kube import connect, default_namespace
    from shared.runtime.connecting import live
    from shared.stack.manifests import render, settings_of, to_yaml
    from shared.termend import indexing
    from shared.timetable import load

    timetable = load(args.schedule)  # an invalid one is reported by main, exit 1
    env = options.settings(args)
    namespace = (getattr(args, "namespace", None) or env.namespace
                 or settings_of(timetable).namespace or default_namespace(env.kubeconfig))
    env = dataclasses.replace(env, namespace=namespace)
    clock = getattr(args, "now", None) or (lambda: datetime.now(UTC))
    s3, hub = _s3(args), _hub(args)
    found = live(env, clock, getattr(args, "api_client", None) or connect(env.kubeconfig))
    ctx = dataclasses.replace(found.context, s3=s3)
    if hub is not None:  # else the live one, or a reader that refuses: the hub is needed
        ctx = dataclasses.replace(ctx, hub=hub)
    emitted: list[Any] = []  # follow-up events (the copies), dispatched here in turn
    ports = dataclasses.replace(found.ports, hub=hub or found.ports.hub, emit=emitted.append,
                                s3=s3)
    prefix = prefix_of(timetable.course, timetable.term.name)
    now = clock()
    event = typed(CloudEvent({
        "id": f"archive-term@{now.isoformat()}", "type": TERM_END, "source": "/classops/cli",
        "subject": timetable.course, "time": now, "datacontenttype": "application/json"},
        {"course": timetable.course, "term": timetable.term.name,
         "start": str(timetable.term.start), "end": str(timetable.term.end)}))

    def say(text: str) -> None:
        print(f"classops: {text}", file=sys.stderr)

    sleep = getattr(args, "sleep", None)
    executor = Executor(ports, Metrics(), clock,
                        sinks=_ledger(env, ports.kube, namespace, s3, clock, timetable),
                        **({"sleep": sleep} if sleep else {}))
    registry = options.registry(args)
    try:
        # then what it emitted: the copies of its final snapshots, if a function for them is
        # loaded (without one, the index says which users have no archive yet)
        if not _run_in_order(event, dispatch(event, ctx, registry), executor, say):
            return 1
        copies_ok = True  # a failed copy is a user the index marks unverified, not a stop
        copied: set[str] = set()  # owners whose copy of their final snapshot succeeded
        for follow in [typed(e) for e in emitted]:
            copies_ok &= _run_in_order(follow, dispatch(follow, ctx, registry), executor, say,
                                       stop=False, copied=copied)
        entries = [indexing.entry_for(s3, prefix, f, unchanged_ok=f.owner in copied)
                   for f in indexing.finals(ports.kube, namespace)]
        extras = {}
        for final in indexing.finals(ports.kube, namespace, hub_db=True):  # the newest only
            extras["hub-db"] = indexing.entry_for(s3, prefix, final,
                                                  unchanged_ok=final.owner in copied)
        with open(args.schedule, encoding="utf-8") as f:
            text = f.read()
        hub_settings = dataclasses.replace(settings_of(timetable), namespace=namespace)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        rendered = to_yaml(render(hub_settings, text)).encode()
        extras["manifests"] = indexing.archive_bytes(
            s3, f"{prefix}/_term/manifests-{stamp}.yaml", rendered, "_manifests")
        index = indexing.write_index(s3, prefix, timetable.course, timetable.term.name, entries,
                                     now, extras, say)
    finally:
        ports.kube.close()
    if args.output == "json":
        print(index.to_json().decode())
    else:
        for e in entries:
            state = "verified" if e.verified else f"NOT VERIFIED: {e.problem}"
            print(f"{e.user}{'/' + e.server if e.server else ''}  {e.snapshot}  {state}")
        lacking = [e.user for e in entries if e.verified and not e.note]
        if lacking:
            print(f"{len(lacking)} verified archive(s) lack {WHERE} (the copies worker adds it "
                  f"to final copies), first {lacking[0]}")
        print(f"{sum(e.verified for e in entries)} of {len(entries)} final archives verified; "
              f"the hub database: "
              + ("verified" if index.extras.get("hub-db", None) and
                 index.extras["hub-db"].verified else "not archived yet"))
    return 0 if copies_ok and entries and all(e.verified for e in entries) else 1


def _ledger(env: Any, kube: Any, namespace: str, s3: Any, clock: Any,
            timetable: Any) -> list[Any]:
    """The term ledger as the executor's sink (every outcome recorded), when one opens."""
    from shared.ledger.recording import LedgerSink, open_ledger

    ledger = open_ledger(env, kube, namespace, s3, clock, timetable)
    return [LedgerSink(ledger, clock)] if ledger is not None else []


def _copied(action: Any, result: Any) -> set[str]:
    """The owners (USER or USER/SERVER) whose copy succeeded: each student's own outcome when
    the Job reported it (one student's failure fails the batch; the others' copies stand),
    else the action's as a whole."""
    if result.parts:
        return {f"{p.user}/{p.server}" if p.server else p.user for p in result.parts
                if p.outcome != "failed"}
    if result.outcome == "failed":
        return set()
    return set(action.users or ((action.user,) if action.user else ()))


def _run_in_order(event: Any, outcomes: Any, executor: Any, say: Any,
                  stop: bool = True, copied: set[str] | None = None) -> bool:
    """Each handler's actions in order; with `stop`, stopping at the first failure (a
    snapshot of a home still mounted is not a final one). False if anything failed. The
    outcomes go to the ledger once the step is over."""
    from shared.actions.model import RunArchiveJob
    from shared.termend.tearing import flush

    ok, done = True, []
    for outcome in outcomes:
        if outcome.status != "ok":
            say(f"{outcome.handler}: {outcome.status}: {outcome.error}")
            ok = False
    if not ok and stop:
        return False
    for action in [a for o in outcomes for a in o.actions]:
        result = executor.one(action, event.id)
        done.append(result)
        if copied is not None and isinstance(action, RunArchiveJob):
            copied.update(_copied(action, result))
        say(f"{result.outcome}: {action.describe()}"
            + (f" ({result.detail})" if result.detail else ""))
        if result.outcome == "failed":
            ok = False
            if stop:
                say("stopped: nothing was deleted; fix the cause and run archive-term again")
                break
    flush(executor, done, event.id)
    return ok

"""`classops serve`: one process, every part of the runtime, on one threaded HTTP server.

    Server.open(settings, registry).start()   ...   .stop()      # or run() until SIGTERM

Every replica serves the webhook (`shared.runtime.webhook.app`) and takes part in the election
(`shared.runtime.leadership`). The leader's work (`LeaderWork`: the inbox drainer and its watch,
the watchers of the registered `@on_watch` handlers and their retries (`shared.runtime.retrying`),
a `Coalescer` per level-triggered handler (`shared.runtime.coalescing`), the scheduler) starts
when the Lease is won and stops, before anything else, when it is lost. The HTTP server is
waitress, threaded, in process (`shared.runtime.http`): a forking server would start an elector
and a scheduler per fork.

Start-up reads first, then wires: `read_footing` connects and reads what the server stands on
(the webhook token's Secret, the watch targets from the API server's discovery, the schedule's
file; `ServeError` when it cannot start), and `Server(settings, registry, footing)` only builds.

A schedule (`CLASSOPS_SCHEDULE`) adds the scheduler (`schedule.scheduler`) to the leader's work
and the calendar-overlay handler to the registry.

SIGTERM: readiness turns false, the HTTP server stops accepting and answers the requests in
flight (at most `shutdown_grace` seconds), then the leader's work stops and the Lease is released
(a follower leads at its next try), then the HTTP server closes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Gauge

from shared.actions.executor import DryRunExecutor, Executor
from shared.events import UnknownEventType, from_watch, typed
from shared.handlers.registry import EventHandler, Handler, Registry, WatchHandler
from shared.ledger.recording import LedgerSink, open_ledger
from shared.logs import bind
from shared.metrics import Metrics
from shared.ports.errors import ApiError
from shared.ports.kube import Kube, connect, default_namespace
from shared.ports.sdk import client
from shared.runtime.coalescing import Coalescer
from shared.runtime.connecting import live
from shared.runtime.http import HttpServer
from shared.runtime.inbox.draining import Drainer
from shared.runtime.inbox.entries import LABEL, STATE, without_data
from shared.runtime.inbox.store import PAGE as INBOX_PAGE
from shared.runtime.inbox.store import Inbox
from shared.runtime.leadership import Elector, Timings
from shared.runtime.retrying import Retries, Settled
from shared.runtime.running import NotLeading, Runner
from shared.runtime.schedule.keeper import register_calendar
from shared.runtime.schedule.scheduler import Scheduler
from shared.runtime.watching import Target, Watcher
from shared.runtime.webhook.app import Webhook, create_app
from shared.runtime.webhook.token import NoToken, WebhookToken
from shared.settings import Settings
from shared.stack import hub_section  # noqa: F401  (registers `hub:`, which a schedule may have)
from shared.teardown import protection  # noqa: F401  (registers `teardown:`, likewise)
from shared.timetable import Timetable, TimetableError
from shared.timetable import load as load_timetable


class ServeError(Exception):
    """classops serve cannot start (one line for the operator)."""


class Worker(Protocol):
    def start(self) -> Any: ...

    def stop(self) -> None: ...


class LeaderWork:
    """What only the leader runs, built afresh for each term of leadership (a stopped thread is
    never restarted); started in order, stopped in reverse."""

    def __init__(self, build: Callable[[], Sequence[Worker]], gauge: Gauge) -> None:
        self.build, self.gauge = build, gauge
        self.running: list[Worker] = []

    def start(self) -> None:
        self.gauge.set(1)
        self.running = list(self.build())
        for worker in self.running:
            worker.start()

    def stop(self) -> None:
        for worker in reversed(self.running):
            worker.stop()
        self.running = []
        self.gauge.set(0)


def _level(handler: Handler) -> bool:
    return isinstance(handler, WatchHandler) and handler.coalesce


def _alone(registry: Registry, handler: Handler) -> Registry:
    return registry.only(lambda h: h is handler)


def handled_types(registry: Registry) -> set[str]:
    return {h.type for h in registry if isinstance(h, EventHandler)}


def watch_targets(kube: Kube, registry: Registry, namespace: str) -> list[Target]:
    """One watch per (group, kind, selector) of the `@on_watch` handlers."""
    wanted = {(h.group, h.kind, h.label_selector) for h in registry.watches()}
    targets = []
    for group, kind, selector in sorted(wanted):
        version = kube.preferred_version(group)
        root = f"/apis/{version}" if "/" in version else f"/api/{version}"
        listed = kube.request("GET", root).get("resources", [])
        match = next((r for r in listed if r["kind"].lower() == kind and "/" not in r["name"]),
                     None)
        if match is None:
            raise ServeError(f"the server has no kind {kind!r} in {version}")
        targets.append(Target(version, match["kind"],
                              namespace if match["namespaced"] else "", selector))
    return targets


@dataclass(frozen=True)
class Footing:
    """What a `Server` stands on, read once at start by `read_footing`: the cluster's client
    (and the port on it, whose discovery found the targets), the namespace, the webhook's token
    (from its Secret, read again as it rotates, unless set), one watch target per kind the
    `@on_watch` handlers watch, and the schedule being run (`CLASSOPS_SCHEDULE`), if any."""

    api: client.ApiClient
    kube: Kube
    namespace: str
    token: Callable[[], str | None]
    targets: Sequence[Target]
    timetable: Timetable | None = None


def read_footing(settings: Settings, registry: Registry, api: client.ApiClient | None = None,
                 log: logging.Logger | None = None) -> Footing:
    """Connect and read what `serve` needs before it can wire anything; what stops it is one
    `ServeError` line for the operator (an invalid schedule, no webhook token, an API error)."""
    api = api or connect(settings.kubeconfig)
    namespace = settings.namespace or default_namespace(settings.kubeconfig)
    kube = Kube(api)
    timetable = _schedule(settings.schedule) if settings.schedule else None
    try:
        token = WebhookToken(settings, kube, namespace, log=log)
        targets = watch_targets(kube, registry, namespace)
    except NoToken as err:
        raise ServeError(str(err)) from None
    except ApiError as err:
        raise ServeError(f"cannot read from the cluster: {err}") from err
    return Footing(api, kube, namespace, token, targets, timetable)


def _schedule(path: str) -> Timetable:
    try:
        return load_timetable(path)
    except TimetableError as err:
        raise ServeError(f"{path} is invalid: " + "; ".join(map(str, err.problems))) from err


class Server:
    """Every part of `serve`, wired from what was read at start (`Footing`); building it reads
    nothing from the network. `Server.open` reads and builds."""

    def __init__(self, settings: Settings, registry: Registry, footing: Footing,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 extra_work: Sequence[Callable[[Server], Worker]] = (),
                 drain_tick: float = 5.0, log: logging.Logger | None = None) -> None:
        self.settings, self.registry, self.clock = settings, registry, clock
        self.log = bind(log or logging.getLogger("classops.serve"))
        self.api, self.kube, self.namespace = footing.api, footing.kube, footing.namespace
        self.drain_tick, self.targets = drain_tick, list(footing.targets)
        self.timetable = footing.timetable
        self.metrics = Metrics()
        self.identity = settings.identity or f"{socket.gethostname()}-{os.getpid()}"
        self.extra_work = list(extra_work)
        if self.timetable is not None:
            self._add_scheduler(self.timetable)
        self.inbox = Inbox(self.kube, self.namespace, clock)
        self.live = live(settings, clock, self.api, self.log.logger)
        if self.timetable is not None:  # the handlers size from the schedule being run
            self.live = dataclasses.replace(self.live, context=dataclasses.replace(
                self.live.context, timetable=self.timetable))
        self.ledger = LedgerSink(lambda: open_ledger(
            settings, self.kube, self.namespace, self.live.ports.s3, clock,
            counter=self.metrics.ledger_writes, log=self.log.logger), clock)
        sinks = [self.ledger]
        self.executor = (DryRunExecutor(sys.stdout, "json") if settings.dry_run else
                         Executor(self.live.ports, self.metrics, clock, instance=self.identity,
                                  sinks=sinks, workers=settings.snapshot_workers))
        self.elector = Elector(self.kube, self.namespace, settings.lease_name, self.identity,
                               Timings(settings.lease_duration, settings.renew_deadline,
                                       settings.retry_period),
                               on_started=lambda: self.work.start(),
                               on_stopped=lambda: self.work.stop(), wall=clock)

        def leading() -> bool:
            return self.elector.leading

        self.runner = Runner(registry.only(lambda h: not _level(h)), self.live.context,
                             self.executor, self.metrics, leading)
        # Each level-triggered watch handler runs on its own, once per burst (coalescing.py).
        self.levels = [(h, Runner(_alone(registry, h), self.live.context, self.executor,
                                  self.metrics, leading))
                       for h in registry.watches() if h.coalesce]
        self.settled = Settled()  # watch events settled, across terms of leadership
        self.work = LeaderWork(self._leader_workers, Gauge(
            "classops_leader", "1 while this replica leads", registry=self.metrics.registry))
        self._stopping = False
        app = create_app(Webhook(self.inbox, footing.token, handled_types(registry),
                                 self.metrics.registry, self._ready,
                                 allowed_origins=settings.webhook_allowed_origins,
                                 max_pending=settings.inbox_max_pending))
        self.http = HttpServer(app, settings.host, settings.port, threads=settings.http_threads,
                               connection_limit=settings.http_connection_limit,
                               channel_timeout=settings.http_channel_timeout)
        Gauge("classops_http_requests_in_flight", "HTTP requests being served",
              registry=self.metrics.registry).set_function(lambda: self.http.in_flight)

    @classmethod
    def open(cls, settings: Settings, registry: Registry,
             api: client.ApiClient | None = None,
             clock: Callable[[], datetime] = lambda: datetime.now(UTC),
             extra_work: Sequence[Callable[[Server], Worker]] = (),
             drain_tick: float = 5.0, log: logging.Logger | None = None) -> Server:
        """Read what the server stands on (`read_footing`: `ServeError` if it cannot start),
        then build it; `start()` it to serve."""
        log = log or logging.getLogger("classops.serve")
        return cls(settings, registry, read_footing(settings, registry, api, log), clock,
                   extra_work, drain_tick, log)

    def _add_scheduler(self, timetable: Timetable) -> None:
        register_calendar(self.registry)
        self.extra_work.append(lambda s: Scheduler(Kube(s.api), s.namespace, timetable,
                                                   s.inbox, s.clock))

    @property
    def port(self) -> int:
        return self.http.port

    def _ready(self) -> tuple[bool, str]:
        return (False, "stopping") if self._stopping else (True, "serving")

    def _leader_workers(self) -> list[Worker]:
        drainer = Drainer(self.inbox, self.runner, timedelta(seconds=self.settings.dedupe_ttl),
                          tick=self.drain_tick)
        pending = Target("v1", "ConfigMap", self.namespace, f"{LABEL}=event,{STATE}=pending")
        retries = Retries(self.runner.run, self.metrics.watch_events, self.settled,
                          log=self.log.logger)
        wakes = Watcher(Kube(self.api), pending, drainer.wake, trim=without_data,
                        page=INBOX_PAGE)  # it only wakes the drainer: it keeps no bodies
        levels = [(h, Coalescer(h.id, run.run, self.metrics.watch_events, log=self.log.logger))
                  for h, run in self.levels]
        workers: list[Worker] = [wakes, drainer, retries, *(c for _, c in levels)]
        workers += [self._watcher(t, retries, levels) for t in self.targets]
        return workers + [make(self) for make in self.extra_work]

    def _watcher(self, target: Target, retries: Retries,
                 levels: Sequence[tuple[WatchHandler, Coalescer]]) -> Watcher:
        plural = self.kube.resource(target.api_version, target.kind).plural

        def deliver(action: str, obj: dict[str, Any]) -> None:
            try:
                event = typed(from_watch(action, obj, plural, self.clock()))
                if self.runner.registry.handlers_for(event):
                    retries.deliver(event)
                for handler, coalescer in levels:
                    if handler.matches(event):
                        coalescer.offer(event)
            except NotLeading:
                return
            except (UnknownEventType, ValueError) as err:
                self.log.warning("watch event not handled: %s", err)

        return Watcher(Kube(self.api), target, deliver)

    def start(self) -> Server:
        self.http.start()
        self.elector.start()
        self.log.info("serving", extra={"port": self.port, "namespace": self.namespace,
                                        "identity": self.identity})
        return self

    def stop(self) -> None:
        self._stopping = True
        # Requests in flight are answered (their events are in the inbox) before the Lease goes.
        self.http.drain(self.settings.shutdown_grace)
        self.elector.stop(release=True)  # stops the leader's work first, then releases
        self.http.close()
        self.log.info("stopped")

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.start()
        stop.wait()
        self.stop()
        return 0

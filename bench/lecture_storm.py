"""A lecture's login storm, four ways: no warm-up, static placeholders held all day (what the
Helm chart offers), classops user-sized, classops node-sized (issue 14).

Run: .venv/bin/python -m bench.lecture_storm [--scenarios none static user node] [--seed 1]
     [--rate 30] [--students 240]

The cluster is the emulator's living one on its clock: a user pool scaled to 0 behind the
cluster-autoscaler model (nodes of 40 users: 20 CPU for 0.5-CPU users; 360 s to provision a node,
30 s NotReady, 120 s for a node's first pull of an image, 5 s to start a container), the hub
stack's placeholder StatefulSet and continuous image puller, and the course's JupyterHub with
KubeSpawner (`tests/servers/kubehub.py`): the students log in through its REST API on a seeded
arrival curve, 80 % within 5 minutes of the lecture's start (`tests/servers/storm.py`).
classops is `classops serve` in-process (`Server`: its watchers follow the students and record
lead-time samples, its drainer runs the events) with the bundled schedule; this script puts the
lecture's warm-up and cool-down into serve's inbox at their emulated times (serve's own scheduler
maps emulated to wall time at rate 1 only, and the clock runs faster here).

Measured per scenario: each student's wait (pod created to Ready, emulated seconds) and the
placeholder node-hours: the node share the placeholder pods held (their requests over a node's
allocatable, while bound), integrated over the emulated window (from 45 minutes before the
lecture to 10 minutes after its cool-down); outside that window classops holds nothing, while
static placeholders are held all day, so theirs is counted over 24 hours at the share they hold.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = {"none": "no warm-up", "static": "static, held all day",
             "user": "classops user-sized", "node": "classops node-sized"}
STUDENTS, USERS_PER_NODE = 240, 40
NODE = {"cpu": "20", "memory": "48Gi"}  # 40 users of 0.5 CPU and 1G each
PROVISION, NOT_READY, PULL, START = 360.0, 30.0, 120.0, 5.0
BEFORE, AFTER = timedelta(minutes=45), timedelta(minutes=10)
GOAL_SECONDS, GOAL_SHARE = 15.0, 0.95


@dataclass
class Outcome:
    scenario: str
    waits: list[float]  # per student, pod created to Ready, emulated seconds
    login_waits: list[float]
    placeholder_node_hours: float
    node_hours: float  # every user node, over the window
    failed: int = 0
    lead: str = ""
    samples: int = 0  # lead-time samples classops recorded
    follows: int = 0  # runs of the warm-up's watch-driven follow
    coalesced: int = 0  # watch events a newer one replaced before the follow ran
    wall: float = 0.0
    notes: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)  # why each student over the goal waited

    def within(self, seconds: float = GOAL_SECONDS) -> float:
        return sum(1 for w in self.waits if w <= seconds) / max(1, len(self.waits) + self.failed)

    def row(self) -> list[str]:
        q = _quantiles(self.waits)
        return [SCENARIOS[self.scenario], f"{q[0]:.0f}", f"{q[1]:.0f}", f"{q[2]:.0f}",
                f"{q[3]:.0f}", f"{100 * self.within():.0f} %",
                f"{self.placeholder_node_hours:.1f}", f"{self.node_hours:.1f}", self.lead]


def _quantiles(values: list[float]) -> tuple[float, float, float, float]:
    if not values:
        return (float("nan"),) * 4  # type: ignore[return-value]
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return at(0.5), at(0.9), at(0.95), ordered[-1]


# -- the cluster ----------------------------------------------------------------------------------
def _schedule_text(mode: str) -> str:
    text = (REPO / "schedules.yaml").read_text()
    if mode == "node":
        text += (f"\nwarmup:\n  mode: node\n  node: {{cpu: \"{NODE['cpu']}\", "
                 f"memory: {NODE['memory']}}}\n")
    return text


def _lecture(text: str, day: datetime) -> tuple[Any, list[Any]]:
    """The timetable and the first lecture's warm-up and cool-down on or after `day`."""
    from shared import warmup  # noqa: F401  (registers `warmup:`)
    from shared.stack import hub_section  # noqa: F401  (registers `hub:`)
    from shared.timetable import expand, loads

    timetable = loads(text, "schedules.yaml")
    found = [o for o in expand(timetable, day, day + timedelta(days=1))
             if o.data.get("meeting") == "lecture"]
    return timetable, sorted(found, key=lambda o: o.at)


def _items(emu: Any, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """The emulator's stored objects of a core kind, read in-process (no API request)."""
    res = emu.catalogue.find("", "v1", plural)
    return [obj for _, obj in emu.store.items(res.key, namespace)]


class Sampler(threading.Thread):
    """Integrates, on the emulated clock, the node share the placeholders hold (their CPU
    requests over a node's, while bound) and the user nodes that exist."""

    def __init__(self, emu: Any, namespace: str) -> None:
        super().__init__(daemon=True, name="sampler")
        self.emu, self.namespace = emu, namespace
        self.placeholder_seconds = self.node_seconds = self.peak_share = 0.0
        self._halt = threading.Event()

    def share(self) -> float:
        from shared.warmup.workload import quantity, requests_of

        cpu = quantity(NODE["cpu"])
        return sum(requests_of(p.get("spec") or {})[0] / cpu
                   for p in _items(self.emu, "pods", self.namespace)
                   if ((p.get("metadata") or {}).get("labels") or {}).get("component")
                   == "user-placeholder" and (p.get("spec") or {}).get("nodeName"))

    def run(self) -> None:
        last = self.emu.clock.now()
        while not self._halt.is_set():
            time.sleep(0.2)
            now = self.emu.clock.now()
            step = (now - last).total_seconds()
            if step <= 0:
                continue
            share = self.share()
            nodes = sum(1 for n in _items(self.emu, "nodes")
                        if ((n.get("metadata") or {}).get("labels") or {}).get(
                            "hub.jupyter.org/node-purpose") == "user")
            self.placeholder_seconds += share * step
            self.node_seconds += nodes * step
            self.peak_share = max(self.peak_share, share)
            last = now

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def wait_clock(emu: Any, at: datetime, timeout: float = 1800.0) -> None:
    """Wait (wall) until the running emulated clock reaches `at`."""
    deadline = time.monotonic() + timeout
    while emu.clock.now() < at:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the emulated clock did not reach {at}")
        time.sleep(0.02)


class Firings(threading.Thread):
    """Puts each occurrence into serve's inbox when the emulated clock reaches it."""

    def __init__(self, emu: Any, inbox: Any, occurrences: list[Any]) -> None:
        super().__init__(daemon=True, name="firings")
        self.emu, self.inbox, self.pending = emu, inbox, list(occurrences)
        self._halt = threading.Event()

    def run(self) -> None:
        from shared.events import from_occurrence

        while self.pending and not self._halt.is_set():
            if self.emu.clock.now() >= self.pending[0].at:
                self.inbox.put(from_occurrence(self.pending.pop(0)))
            time.sleep(0.02)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


@contextlib.contextmanager
def classops_serving(hub: Any, schedule_text: str) -> Iterator[Any]:
    """`classops serve` in-process against the hub's cluster: the functions package's handlers,
    the schedule in its ConfigMap (the handlers read it there), no scheduler of its own."""
    from shared.handlers.registry import load as load_functions
    from shared.ports.kube import Kube
    from shared.runtime.server import Server
    from shared.settings import Secret, Settings
    from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY

    kube = Kube(hub.api)
    try:
        kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": SCHEDULE_CONFIGMAP, "namespace": hub.namespace},
                    "data": {SCHEDULE_KEY: schedule_text}}, "classops")
    finally:
        kube.close()
    settings = Settings(namespace=hub.namespace, host="127.0.0.1", port=0,
                        webhook_token=Secret("bench"), lease_duration=60.0,
                        renew_deadline=40.0, retry_period=2.0, identity="bench")
    server = Server.open(settings, load_functions("functions"), api=hub.emu.api_client(),
                         clock=hub.emu.clock.now, drain_tick=0.05).start()
    deadline = time.monotonic() + 60
    while not server.elector.leading:
        if time.monotonic() > deadline:
            raise TimeoutError("classops serve did not take the Lease")
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.stop()


def prepare(hub: Any, scenario: str) -> None:
    """The autoscaled user pool, the kubelet's timings, the stack's placeholders and image
    puller; static: 240 placeholders held since before the window (their nodes up)."""
    from shared.ports.kube import Kube
    from tests.kubeemu.controllers import NAMES

    kubelet = hub.emu.controller("kubelet")
    kubelet.pull_seconds, kubelet.start_seconds = PULL, START
    if "autoscaler" in NAMES:
        hub.emu.enable_controllers("autoscaler", autoscaler={
            "pools": [{"name": "user", **NODE, "min_size": 0, "max_size": 20}],
            "provision_seconds": PROVISION, "not_ready_seconds": NOT_READY,
            "scale_down_seconds": 600.0})
    else:  # no autoscaler model on this branch: a fixed pool (the figures then say little)
        from kubernetes import client

        core = client.CoreV1Api(hub.api)
        for i in range(STUDENTS // USERS_PER_NODE + 1):
            name = f"user-{i + 1}"
            core.create_node({"metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "hub.jupyter.org/node-purpose": "user"}},
                "spec": {"taints": [{"key": "hub.jupyter.org/dedicated", "value": "user",
                                     "effect": "NoSchedule"}]}})
            alloc = {**NODE, "pods": "110"}
            core.patch_node_status(name, {"status": {
                "capacity": alloc, "allocatable": alloc,
                "addresses": [{"type": "InternalIP", "address": f"127.10.0.{i + 1}"}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})
    hub.apply([m for m in hub.render("hub") if m["kind"] in ("StatefulSet", "DaemonSet")])
    kube = Kube(hub.api)
    try:
        _retry(lambda: kube.set_scale("apps/v1", "StatefulSet", "user-placeholder",
                                      hub.namespace, STUDENTS if scenario == "static" else 0,
                                      "classops"))
    finally:
        kube.close()


def _retry(call: Callable[[], Any], tries: int = 20) -> Any:
    from shared.ports.errors import ApiError

    for attempt in range(tries):
        try:
            return call()
        except ApiError as err:  # the emulator answers a patch racing a controller with 409
            if err.status != 409 or attempt == tries - 1:
                raise
            time.sleep(0.05)
    return None


def run(scenario: str, seed: int = 1, rate: float = 60.0, storm_rate: float = 10.0,
        students: int = STUDENTS, workdir: Path | None = None,
        log: Callable[[str], None] = print, client_students: bool = False) -> Outcome:
    """One scenario from a fresh cluster and hub; see the module's docstring. The clock runs
    at `rate` before and after the storm and at `storm_rate` while students log in (a busy
    emulator's pass costs `storm_rate` times its wall time on the clock). `client_students`:
    pods created through the official client instead of logins through the hub (no hub load)."""
    began = time.monotonic()
    from tests.servers.storm import arrival_curve
    if client_students:
        from bench.client_students import CLOCK_START, client_cluster
        kube_hub_running = client_cluster
        driver = "STAND-IN: pods created through the official client, no hub"
    else:
        from tests.servers.kubehub import (  # type: ignore[assignment]
            CLOCK_START,
            kube_hub_running,
        )
        driver = "KubeSpawner through the course's hub"
    text = _schedule_text(scenario)
    timetable, firings = _lecture(text, CLOCK_START)
    warm = next(o for o in firings if o.type.endswith("warmup"))
    cool = next(o for o in firings if o.type.endswith("cooldown"))
    lecture_start = datetime.fromisoformat(warm.data["start"])
    window = (lecture_start - BEFORE, cool.at + AFTER)
    with contextlib.ExitStack() as stack:
        tmp = Path(workdir or stack.enter_context(tempfile.TemporaryDirectory()))
        hub = stack.enter_context(kube_hub_running(tmp))
        prepare(hub, scenario)
        emu = hub.emu
        if scenario == "static":  # held all day: its nodes came up long before the window
            emu.clock.set(window[0] - timedelta(hours=1))
            emu.clock.set_rate(rate * 4)
            wait_clock(emu, window[0] - timedelta(seconds=1))
        emu.clock.set_rate(0)
        emu.clock.set(window[0])
        sampler = Sampler(emu, hub.namespace)
        server = firing = None
        if scenario in ("user", "node"):
            server = stack.enter_context(classops_serving(hub, text))
            firing = Firings(emu, server.inbox, [warm, cool])
            firing.start()
        sampler.start()
        emu.clock.set_rate(rate)
        log(f"{SCENARIOS[scenario]} ({driver}): from {window[0]:%H:%M}, lecture "
            f"{lecture_start:%H:%M}, warm-up {warm.at:%H:%M}, cool-down {cool.at:%H:%M} "
            f"({lecture_start:%Z}); clock {rate:g}x, {storm_rate:g}x during the storm")
        wait_clock(emu, lecture_start - timedelta(seconds=rate))
        storm = hub.storm(students, arrival_curve(students, seed), lecture_start,
                          rate=storm_rate, timeout=1800)
        emu.clock.set_rate(rate)
        log(storm.summary(f"  {SCENARIOS[scenario]}"))
        wait_clock(emu, window[1])
        sampler.stop()
        if firing is not None:
            firing.stop()
        outcome = Outcome(scenario, storm.waits(), storm.login_waits(),
                          sampler.placeholder_seconds / 3600, sampler.node_seconds / 3600,
                          failed=len(storm.failed), wall=time.monotonic() - began,
                          late=explain(emu, hub.namespace, storm.students))
        if scenario == "static":  # held all day, at the share it held in the window
            outcome.placeholder_node_hours = sampler.peak_share * 24
        if server is not None:
            outcome.lead, outcome.samples = _lead(hub, timetable)
            outcome.follows = int(sum(server.metrics.value(
                "classops_handler_outcomes_total", handler="warmup.follow", outcome=o)
                for o in ("ok", "retry", "failed")))
            outcome.coalesced = int(server.metrics.value("classops_watch_events_total",
                                                         outcome="coalesced"))
        return outcome


def explain(emu: Any, namespace: str, students: list[Any],
            over: float = GOAL_SECONDS) -> list[str]:
    """One line per student who waited over `over`: where the wait went, from their pod's
    conditions and Events (scheduling, image pull, start), and the node's own history."""
    from shared.timestamps import kube_time

    events: dict[str, list[dict[str, Any]]] = {}
    for e in _items(emu, "events", namespace):
        events.setdefault((e.get("involvedObject") or {}).get("name", ""), []).append(e)
    nodes = {n["metadata"]["name"]: n for n in _items(emu, "nodes")}
    pods = {p["metadata"]["name"]: p for p in _items(emu, "pods", namespace)}
    lines = []
    for s in sorted(students, key=lambda s: s.arrival):
        if s.wait is None or s.wait <= over or s.pod not in pods:
            continue
        pod = pods[s.pod]
        conds = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}
        bound = kube_time((conds.get("PodScheduled") or {}).get("lastTransitionTime"))
        node = (pod.get("spec") or {}).get("nodeName", "")
        ready_node = next((kube_time(c.get("lastTransitionTime")) for c in (
            nodes.get(node, {}).get("status") or {}).get("conditions") or []
            if c.get("type") == "Ready" and c.get("status") == "True"), None)
        reasons = {}
        for e in events.get(s.pod, []):
            reasons.setdefault(e.get("reason"), kube_time(e.get("firstTimestamp")))

        def rel(t: datetime | None, created: datetime | None = s.created) -> str:
            return "-" if t is None or created is None else \
                f"{(t - created).total_seconds():+.0f}"

        lines.append(
            f"{s.user} arrived {s.arrival:%H:%M:%S} wait {s.wait:.0f} s: created "
            f"{s.created:%H:%M:%S}, bound {rel(bound)} on {node} (node Ready {rel(ready_node)}), "
            f"failed-scheduling {rel(reasons.get('FailedScheduling'))}, pulling "
            f"{rel(reasons.get('Pulling'))}, pulled {rel(reasons.get('Pulled'))}, started "
            f"{rel(reasons.get('Started'))}")
    if lines:  # what the warm-up did meanwhile, from the placeholder workload's Events
        lines += [f"placeholders {e.get('lastTimestamp') or e.get('firstTimestamp')}: "
                  f"{e.get('reason')} {e.get('message')}"
                  for e in sorted(events.get("user-placeholder", []),
                                  key=lambda e: e.get("lastTimestamp") or "")]
    return lines


def _lead(hub: Any, timetable: Any) -> tuple[str, int]:
    """The lead time classops would use next, from the samples it recorded in this run."""
    from shared.ports.kube import Kube
    from shared.warmup.knobs import LEAD_TIMES, learned
    from shared.warmup.leadtime import from_records

    kube = Kube(hub.api)
    try:
        found = kube.get("v1", "ConfigMap", LEAD_TIMES, hub.namespace)
    finally:
        kube.close()
    raw = (found.raw.get("data") or {}).get("samples") if found else None
    import json

    count = len(from_records(json.loads(raw))) if raw else 0
    return learned(timetable, raw)[1].describe(), count


def table(outcomes: list[Outcome]) -> str:
    titles = ["scenario", "p50 s", "p90 s", "p95 s", "max s", f"<= {GOAL_SECONDS:g} s",
              "placeholder node-h", "user node-h (window)", "lead next"]
    rows = [titles, *(o.row() for o in outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(titles))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS),
                        choices=list(SCENARIOS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=60.0,
                        help="emulated seconds per wall second, outside the storm")
    parser.add_argument("--storm-rate", type=float, default=10.0,
                        help="emulated seconds per wall second while students log in")
    parser.add_argument("--students", type=int, default=STUDENTS)
    parser.add_argument("--explain", action="store_true",
                        help="a line for each student over the goal: where the wait went")
    parser.add_argument("--client-students", action="store_true",
                        help="pods through the official client, not logins through the hub")
    args = parser.parse_args()
    outcomes = []
    for scenario in args.scenarios:
        outcomes.append(run(scenario, args.seed, args.rate, args.storm_rate, args.students,
                            client_students=args.client_students))
        print(f"  ({outcomes[-1].wall:.0f} s wall)", flush=True)
        if args.explain:
            print("\n".join(f"    {line}" for line in outcomes[-1].late), flush=True)
    print()
    print(table(outcomes))
    for o in outcomes:
        if o.samples:
            print(f"{SCENARIOS[o.scenario]}: {o.samples} lead-time samples recorded; {o.lead}; "
                  f"follow ran {o.follows} times, {o.coalesced} watch events coalesced")


if __name__ == "__main__":
    main()

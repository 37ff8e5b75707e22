"""A student storm: N students log in through the hub's REST API over a seeded arrival curve.

"N students log in over this arrival curve starting at T": each student's server is started
(`POST /users/<name>/server[s/<server>]`, as the hub's spawn page does after sign-in) when the
EMULATED clock reaches T + their offset; the clock runs at `rate` (60: an emulated minute per
wall second) while the hub and KubeSpawner run in wall time. The storm ends when the hub has every
server ready (or given up on it). Each student's wait is read from the cluster, on the emulated
clock: `wait` = their pod's creationTimestamp to its Ready condition (what the cluster made them
wait: scheduling, a node to scale up, image pulls), and `login_wait` = their login to Ready
(also the hub's own time, in wall seconds stretched by `rate`).

The hub's own time is real: at a high rate it is stretched into emulated minutes (`hub_seconds`,
login to pod created, shows how much), so the default rate is 10x, at which a 200-student storm
costs the hub about as much wall time as its arrivals span. A hub refuses starts beyond its
`concurrent_spawn_limit` with 429 and a `Retry-After` (30-60 s): the student tries again after
that many EMULATED seconds, as one reloading the page when told would; `refused` counts those.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from .process import ServerError

if TYPE_CHECKING:
    from .kubehub import KubeHub

Login = str | tuple[str, str]  # a username, or (username, server name)


def arrival_curve(n: int, seed: int = 0, within: float = 300.0,
                  share: float = 0.8) -> list[float]:
    """`n` sorted login offsets in seconds from T: exponential, `share` of them within `within`
    (by default 80 % within 5 minutes, the rest trickling in later), the same for the same seed."""
    if not 0 < share < 1 or within <= 0:
        raise ValueError(f"share must be in (0, 1) and within > 0, got {share}, {within}")
    rate = -math.log(1 - share) / within
    rng = random.Random(seed)
    return sorted(rng.expovariate(rate) for _ in range(n))


@dataclass
class Student:
    user: str
    server: str
    arrival: datetime  # when the curve has them log in (emulated)
    login: datetime | None = None  # when the first start request went out (emulated)
    refused: int = 0  # 429s before the hub took the start
    error: str = ""  # the hub refused otherwise, or gave up on the spawn
    pod: str = ""
    created: datetime | None = None  # the pod's creationTimestamp
    ready: datetime | None = None  # its Ready condition's lastTransitionTime
    hub_ready: bool = False  # the hub's model says ready

    @property
    def wait(self) -> float | None:
        """Pod created to Ready, emulated seconds."""
        if self.created is None or self.ready is None:
            return None
        return (self.ready - self.created).total_seconds()

    @property
    def hub_seconds(self) -> float | None:
        """Login to pod created, emulated seconds: the hub's and KubeSpawner's own time (wall
        time, stretched by the clock's rate)."""
        if self.login is None or self.created is None:
            return None
        return max(0.0, (self.created - self.login).total_seconds())

    @property
    def login_wait(self) -> float | None:
        """Login to Ready, emulated seconds."""
        if self.login is None or self.ready is None:
            return None
        return max(0.0, (self.ready - self.login).total_seconds())


@dataclass
class StormResult:
    students: list[Student]
    start: datetime
    rate: float
    wall_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> list[Student]:
        return [s for s in self.students if s.hub_ready and s.ready is not None]

    @property
    def failed(self) -> list[Student]:
        return [s for s in self.students if not s.hub_ready]

    def waits(self) -> list[float]:
        return sorted(s.wait for s in self.students if s.wait is not None)

    def login_waits(self) -> list[float]:
        return sorted(s.login_wait for s in self.students if s.login_wait is not None)

    def summary(self, title: str = "storm") -> str:
        """A few lines: counts, and each wait distribution's percentiles in emulated seconds."""
        lines = [f"{title}: {len(self.students)} students, {len(self.ready)} ready, "
                 f"{len(self.failed)} not, {sum(s.refused for s in self.students)} 429s; "
                 f"{self.wall_seconds:.1f} s wall at {self.rate:g}x"]
        hub = sorted(s.hub_seconds for s in self.students if s.hub_seconds is not None)
        for name, values in (("pod wait", self.waits()), ("login wait", self.login_waits()),
                             ("hub part", hub)):
            lines.append(f"  {name:10} {describe(values)}")
        return "\n".join(lines)


def describe(values: Sequence[float]) -> str:
    if not values:
        return "(none)"
    q = statistics.quantiles(values, n=20, method="inclusive") if len(values) > 1 else [
        values[0]] * 19
    return (f"min {min(values):.0f} s  p50 {q[9]:.0f} s  p90 {q[17]:.0f} s  "
            f"p95 {q[18]:.0f} s  max {max(values):.0f} s  mean {statistics.fmean(values):.0f} s")


def _split(login: Login) -> tuple[str, str]:
    return (login, "") if isinstance(login, str) else login


def run_storm(hub: KubeHub, n: int = 0, arrivals: Sequence[float] | None = None,
              start: datetime | None = None, *, logins: Sequence[Login] | None = None,
              seed: int = 0, rate: float = 10.0, timeout: float = 900.0) -> StormResult:
    """Run a storm and wait for it to settle (every server ready, or failed), `timeout` wall
    seconds at most. `logins` default to `student-000`...; `arrivals` to `arrival_curve(n,
    seed)`; `start` to the clock's now (a later start moves the clock forward to it)."""
    if logins is None:
        n = n or len(arrivals or ())
        logins = [f"student-{i:03d}" for i in range(n)]
    n = len(logins)
    offsets = list(arrivals) if arrivals is not None else arrival_curve(n, seed)
    if len(offsets) != n:
        raise ValueError(f"{len(offsets)} arrivals for {n} students")
    clock = hub.emu.clock
    start = start or clock.now()
    students = [Student(*_split(login), arrival=start + timedelta(seconds=offset))
                for login, offset in zip(logins, sorted(offsets), strict=True)]
    # One keep-alive connection per student in flight, rather than urllib3's 10.
    hub.admin.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=max(n, 10)))
    _create_users(hub, {s.user for s in students})

    began = time.monotonic()
    if clock.now() < start:
        clock.set(start)
    clock.set_rate(rate)
    threads = []
    for student in students:
        _sleep_until(hub, student.arrival, began + timeout)
        thread = threading.Thread(target=_log_in, args=(hub, student, timeout), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=max(1.0, timeout - (time.monotonic() - began)))
    _settle(hub, students, began + timeout)
    _read_pods(hub, students)
    return StormResult(students, start, rate, time.monotonic() - began)


def _sleep_until(hub: KubeHub, when: datetime, deadline: float) -> None:
    """Sleep until the emulated clock reaches `when` (or the wall `deadline`), in few wake-ups:
    hundreds of students polling the clock would starve the emulator of the GIL."""
    clock = hub.emu.clock
    while (ahead := (when - clock.now()).total_seconds()) > 0 and time.monotonic() < deadline:
        time.sleep(min(ahead / clock.rate, 1.0) if clock.rate > 0 else 0.1)


def _create_users(hub: KubeHub, names: set[str]) -> None:
    """The students' hub accounts, made before T (enrolment), 100 per request."""
    missing = sorted(names - {u["name"] for u in hub.admin.users()})
    for i in range(0, len(missing), 100):
        answer = hub.admin.request("POST", "/users", json={"usernames": missing[i:i + 100]},
                                   timeout=300)  # ~20 ms a user on a quiet machine
        if answer.status_code != 201:
            raise ServerError(f"creating users answered {answer.status_code}: {answer.text}")


def _log_in(hub: KubeHub, student: Student, timeout: float) -> None:
    path = f"/users/{quote(student.user, safe='')}/server"
    if student.server:
        path += f"s/{quote(student.server, safe='')}"
    deadline = time.monotonic() + timeout
    student.login = hub.emu.clock.now()
    while True:
        try:
            # The hub answers once the spawn is done or `slow_spawn_timeout` (10 s) has passed.
            answer = hub.admin.request("POST", path, timeout=120)
        except requests.RequestException as exc:
            student.error = f"start request failed: {exc}"
            return
        if answer.status_code in (201, 202):
            return
        if answer.status_code == 429 and time.monotonic() < deadline:
            student.refused += 1
            _sleep_until(hub, hub.emu.clock.now() + timedelta(
                seconds=float(answer.headers.get("Retry-After") or 30)), deadline)
            continue
        student.error = f"start answered {answer.status_code}: {answer.text[:200]}"
        return


def _settle(hub: KubeHub, students: list[Student], deadline: float) -> None:
    """Wait until the hub has every started server ready or gone (a failed spawn)."""
    while True:
        models = {u["name"]: u.get("servers") or {} for u in hub.admin.users()}
        open_ = 0
        for s in students:
            if s.error:
                continue
            model = models.get(s.user, {}).get(s.server)
            s.hub_ready = bool(model and model.get("ready"))
            if model is None and s.login is not None:
                s.error = "the hub gave up on the spawn (see its log)"
            elif not s.hub_ready:
                open_ += 1
        if not open_:
            return
        if time.monotonic() > deadline:
            raise ServerError(f"storm: {open_} of {len(students)} servers still pending; hub "
                              f"log {hub.server.log_path}")
        time.sleep(1.0)  # listing every user costs the hub: not too often


def _read_pods(hub: KubeHub, students: list[Student]) -> None:
    by_login = {}
    for pod in hub.pods():
        notes = pod.metadata.annotations or {}
        key = (notes.get("hub.jupyter.org/username"), notes.get("hub.jupyter.org/servername", ""))
        by_login[key] = pod
    for s in students:
        pod = by_login.get((s.user, s.server))
        if pod is None:
            continue
        s.pod, s.created = pod.metadata.name, pod.metadata.creation_timestamp
        for cond in pod.status.conditions or []:
            if cond.type == "Ready" and cond.status == "True":
                s.ready = cond.last_transition_time

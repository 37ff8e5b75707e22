"""The scheduler with the emulator's clock: catch-up after a restart (warm during the lecture's
first minutes, skip after it, never twice), a firing on time through APScheduler, and a calendar
change that replans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests
from cloudevents.core.v1.event import CloudEvent

from shared.events import CALENDAR_CHANGED
from shared.handlers.registry import Registry
from shared.ports.kube import Kube as KubePort
from shared.runtime.inbox.store import Inbox
from shared.runtime.schedule import overlay
from shared.runtime.schedule.scheduler import Scheduler
from shared.runtime.server import Server
from shared.timetable import loads
from tests.conftest import Kube
from tests.wait import until

from .conftest import TOKEN
from .schedule import TEXT, WARMUP_MON, at


def scheduler(kube: Kube) -> Scheduler:
    port = KubePort(kube.api)
    return Scheduler(port, kube.namespace, loads(TEXT), Inbox(port, kube.namespace,
                                                              kube.emu.clock.now),
                     kube.emu.clock.now)


def ids(kube: Kube) -> list[str]:
    inbox = Inbox(KubePort(kube.api), kube.namespace, kube.emu.clock.now)
    return [e.id for e in inbox.entries()]


def test_restart_during_the_lecture_warms_once(kube: Kube) -> None:
    kube.emu.clock.set(at(14, 10, 15))
    first = scheduler(kube).start()
    first.stop()
    assert ids(kube) == [WARMUP_MON]
    second = scheduler(kube).start()  # a restart: nothing fires twice
    try:
        assert ids(kube) == [WARMUP_MON]
        assert second.last_fired()["warmup/lecture"] == at(14, 9, 40)
        assert "cooldown/lecture@2026-09-14T11:15:00-04:00" in second.jobs()
    finally:
        second.stop()


def test_restart_after_the_lecture_skips_and_records(kube: Kube) -> None:
    kube.emu.clock.set(at(14, 11, 5))
    s = scheduler(kube).start()
    s.stop()
    assert ids(kube) == []
    assert [n["id"] for n in s.skipped()] == [WARMUP_MON]


def test_a_firing_on_time(kube: Kube) -> None:
    # The emulated clock stands still a second before the warm-up: however slow this machine
    # is, the start sees it not yet due, and only APScheduler's job (a wall second later) fires.
    kube.emu.clock.set(at(14, 9, 39, 59))
    kube.emu.clock.set_rate(0)
    s = scheduler(kube).start()
    try:
        assert ids(kube) == []
        until(lambda: ids(kube) == [WARMUP_MON])
        # The firing is recorded just after it is put into the inbox: wait for it, in order.
        until(lambda: "warmup/lecture" in s.last_fired())
        assert s.last_fired()["warmup/lecture"] == at(14, 9, 40)
        assert ids(kube) == [WARMUP_MON]  # fired once
    finally:
        s.stop()


def test_a_calendar_change_replans(kube: Kube, start_server: Callable[..., Server],
                                   tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(TEXT)
    kube.emu.clock.set(at(13, 12, 0))  # Sunday
    server = start_server(Registry(), clock=kube.emu.clock.now, schedule=str(path))
    until(lambda: server.elector.leading)
    def jobs() -> list[str]:  # the running scheduler's (a new one if leadership changed hands)
        found = [w for w in server.work.running if isinstance(w, Scheduler)]
        return found[0].jobs() if found else []

    until(lambda: WARMUP_MON in jobs())
    moved = {"specversion": "1.0", "id": "cal-1", "source": "/lms", "type": CALENDAR_CHANGED,
             "time": "2026-09-13T16:00:00Z",
             "data": {"change": "moved", "meeting": "lecture", "date": "2026-09-14",
                      "to": "2026-09-14", "start": "14:10", "end": "15:00"}}
    answer = requests.post(f"http://127.0.0.1:{server.port}/", json=moved, timeout=10,
                           headers={"Authorization": f"Bearer {TOKEN}",
                                    "Content-Type": "application/cloudevents+json"})
    assert answer.status_code == 202, answer.text
    entry = until(lambda: (e := server.inbox.get("/lms", "cal-1")) and e.state != "pending"
                  and e)
    assert entry.state == "done", entry.outcome
    until(lambda: "warmup/lecture@2026-09-14T13:40:00-04:00" in jobs())
    assert WARMUP_MON not in jobs()



def test_a_burst_of_calendar_changes_keeps_every_record_and_the_last_word(
        kube: Kube, start_server: Callable[..., Server], tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(TEXT)
    kube.emu.clock.set(at(13, 12, 0))  # Sunday; Monday's lecture warms at 09:40
    server = start_server(Registry(), clock=kube.emu.clock.now, schedule=str(path))
    until(lambda: server.elector.leading)

    def jobs() -> list[str]:
        found = [w for w in server.work.running if isinstance(w, Scheduler)]
        return found[0].jobs() if found else []

    until(lambda: WARMUP_MON in jobs())
    burst = [{"change": "cancelled", "meeting": "lecture", "date": f"2026-10-{d:02d}"}
             for d in (5, 7, 9, 12, 14, 16, 19, 21, 23, 26)]
    burst += [{"change": "moved", "meeting": "lecture", "date": "2026-09-14",
               "to": "2026-09-14", "start": "14:10", "end": "15:00"},
              {"change": "cancelled", "meeting": "lecture", "date": "2026-09-14"}]
    for i, data in enumerate(burst):
        server.inbox.put(CloudEvent({"id": f"burst-{i:02d}", "source": "/lms",
                                     "type": CALENDAR_CHANGED, "specversion": "1.0",
                                     "time": at(13, 12, 0, i)}, data))  # made in this order
    entries = until(lambda: (found := server.inbox.entries()) and len(found) == len(burst)
                    and all(e.state != "pending" for e in found) and found)
    assert {e.state for e in entries} == {"done"}
    for e in entries:  # every record says what it did: one change kept, one small object
        (handler,) = e.outcome["handlers"]
        (action,) = handler["actions"]
        assert (action["action"], action["outcome"]) == ("CreateObject", "changed")
    assert len(overlay.read(KubePort(kube.api), kube.namespace)) == len(burst)
    # moved, then cancelled: the later change wins, whatever the replans coalesced
    until(lambda: not any(j.startswith("warmup/lecture@2026-09-14") for j in jobs()))

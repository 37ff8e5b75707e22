"""How fast the leader drains a burst of `edu.classops.calendar.changed` events.

A calendar sync (an LMS re-sending its term) can send hundreds of changes at once. Each is an
inbox entry; its handler keeps the change in the calendar overlay (a ConfigMap), and the
scheduler replans the term when the overlay changes. This bench puts `--events` such events
(cancellations and moves of a Mon/Wed/Fri lecture, every one with its own id) into the inbox
of an in-process emulator, starts one `classops serve` leader (in-process, webhook on
127.0.0.1) with a schedule, and measures until every entry is settled:

- the drain time and rate, and the settled states (every entry must end `done`, with its record);
- how many times the scheduler planned the term (its "planned" log lines);
- the overlay's final size, and that the scheduler's plan includes every change.

Run: .venv/bin/python -m bench.inbox_drain [--events 1000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cloudevents.core.v1.event import CloudEvent

from shared.events import CALENDAR_CHANGED
from shared.handlers.registry import Registry
from shared.ports.kube import Kube
from shared.runtime.inbox.store import Inbox
from shared.runtime.schedule import overlay
from shared.runtime.server import Server
from shared.settings import Secret, Settings
from tests.kubeemu import Emulator

NS = "bench"
SCHEDULE = """\
course: cs101
term: {name: fall-2026, start: 2026-08-31, end: 2026-12-18, timezone: America/New_York}
class: {size: 240}
knobs: {lead_time: 30m, cooldown_grace: 15m}
meetings:
  - {name: lecture, kind: lecture, days: [mon, wed, fri], start: "10:10", end: "11:00"}
  - {name: lab, kind: lab, days: [tue, thu], start: "14:00", end: "16:00"}
"""


class Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages[record.getMessage()] += 1


def changes(n: int) -> list[dict[str, str]]:
    """n calendar changes over the term's lecture days: cancellations, and moves by a day."""
    days = [date(2026, 9, 2) + timedelta(days=d) for d in range(0, 105)]
    lectures = [d for d in days if d.weekday() in (0, 2, 4)]
    found = []
    for i in range(n):
        day = lectures[i % len(lectures)].isoformat()
        if i % 3:
            found.append({"change": "cancelled", "meeting": "lecture", "date": day,
                          "reason": f"sync {i}"})
        else:
            to = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
            found.append({"change": "moved", "meeting": "lecture", "date": day, "to": to})
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    counter = Count()
    logging.getLogger("classops").addHandler(counter)
    logging.getLogger("classops").setLevel(logging.INFO)
    emu = Emulator().start()
    emu.clock.set(datetime(2026, 9, 1, 16, 0, tzinfo=UTC))
    api = emu.api_client()
    kube = Kube(api)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    inbox = Inbox(kube, NS, emu.clock.now)
    started = time.perf_counter()
    for i, data in enumerate(changes(args.events)):
        inbox.put(CloudEvent({"id": f"cal-{i}", "source": "/lms", "type": CALENDAR_CHANGED,
                              "specversion": "1.0"}, data))
    print(f"inbox: {args.events} pending calendar.changed events "
          f"(put in {time.perf_counter() - started:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schedules.yaml"
        path.write_text(SCHEDULE)
        settings = Settings(namespace=NS, host="127.0.0.1", port=0,
                            webhook_token=Secret("bench"), identity="bench", schedule=str(path),
                            lease_duration=15.0, renew_deadline=10.0, retry_period=0.25)
        server = Server.open(settings, Registry(), api=emu.api_client(), clock=emu.clock.now)
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        server.start()
        last, deadline = -1, time.monotonic() + 3600
        while time.monotonic() < deadline:
            pending = len(inbox.due())
            if pending != last:
                print(f"  {time.perf_counter() - started:6.1f} s: {pending} pending", flush=True)
                last = pending
            if pending == 0:
                break
            time.sleep(1.0)
        took = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
        server.stop()
    states = Counter(e.state for e in inbox.entries())
    entries = inbox.entries()
    with_record = sum(1 for e in entries if e.outcome.get("handlers"))
    odd = next((e for e in entries if not e.outcome.get("handlers")), None)
    if odd is not None:
        print(f"an entry without a handler's record: {odd.id} {odd.outcome}")
    kept = overlay.read(kube, NS)
    print(f"drained {args.events} in {took:.1f} s ({args.events / took:.1f} events/s); "
          f"states {dict(states)}; {with_record} with an outcome record")
    largest = max(len(json.dumps(e.outcome)) for e in entries)
    print(f"scheduler plans: {counter.messages['planned']}; the overlay keeps {len(kept)} "
          f"changes; the largest outcome record is {largest} bytes")
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue())
    kube.close()
    emu.stop()


if __name__ == "__main__":
    main()

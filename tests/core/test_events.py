"""Events: every trigger becomes a CloudEvent with a deterministic id; handlers get typed data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cloudevents.core.bindings.http import from_http_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from shared.events import (
    COOLDOWN,
    DEADLINE,
    SCHEMAS,
    TIMETABLE_TYPES,
    WARMUP,
    ClassEvent,
    EventDataError,
    MeetingData,
    UnknownEventType,
    WatchEvent,
    from_occurrence,
    from_watch,
    parse_watch_type,
    typed,
    watch_type,
)
from shared.timetable import expand, load

REPO = Path(__file__).resolve().parents[2]
EDT = timezone(timedelta(hours=-4))
NOW = datetime(2026, 9, 2, 13, 40, tzinfo=UTC)


def _week() -> list:
    timetable = load(REPO / "schedules.yaml")
    zone = timetable.term.timezone
    return expand(timetable, datetime(2026, 9, 1, tzinfo=zone), datetime(2026, 9, 8, tzinfo=zone))


def test_every_timetable_firing_becomes_a_typed_event_with_the_occurrence_id() -> None:
    occurrences = _week()
    assert {o.type for o in occurrences} <= TIMETABLE_TYPES
    for occurrence in occurrences:
        cloudevent = from_occurrence(occurrence)
        event = typed(cloudevent)
        assert isinstance(event, ClassEvent)
        assert event.id == occurrence.id == cloudevent.get_id()
        assert event.source == f"/timetable/{occurrence.trigger}"
        assert event.time == occurrence.at and event.subject == occurrence.subject
        assert isinstance(event.data, SCHEMAS[occurrence.type])


def test_a_warmup_reads_as_meeting_data() -> None:
    warm = next(o for o in _week() if o.type == WARMUP)
    event = typed(from_occurrence(warm))
    assert isinstance(event.data, MeetingData)
    assert event.data.kind in ("lecture", "lab", "exam") and event.data.expected > 0
    assert event.data.start.tzinfo is not None and event.data.end > event.data.start
    assert event.id.startswith("warmup/") and "@2026-09-0" in event.id


def test_the_same_firing_twice_is_the_same_event() -> None:
    first, second = (from_occurrence(_week()[3]) for _ in range(2))
    assert (first.get_source(), first.get_id()) == (second.get_source(), second.get_id())


def test_a_webhook_post_of_a_catalogue_type_runs_as_the_same_typed_event() -> None:
    warm = next(o for o in _week() if o.type == COOLDOWN)
    from cloudevents.core.formats.json import JSONFormat

    message = to_structured_event(from_occurrence(warm), JSONFormat())
    event = typed(from_http_event(message))
    assert event == typed(from_occurrence(warm))


def test_bad_data_reports_every_problem_at_once() -> None:
    bad = CloudEvent({"id": "x", "source": "/calendar", "type": WARMUP, "time": NOW},
                     {"meeting": "lecture", "kind": "seminar", "expected": "lots",
                      "start": "2026-09-02T10:10:00", "end": "2026-09-02T11:00:00-04:00"})
    with pytest.raises(EventDataError) as err:
        typed(bad)
    assert err.value.problems == [
        "data.kind: 'seminar' is not one of lecture, lab, exam",
        "data.audience is missing",
        "data.expected: expected int, got str",
        "data.start: '2026-09-02T10:10:00' has no UTC offset",
    ]


def test_a_deadline_keeps_its_optional_number() -> None:
    deadline = next(o for o in expand(load(REPO / "schedules.yaml"),
                                      datetime(2026, 9, 1, tzinfo=UTC),
                                      datetime(2026, 12, 31, tzinfo=UTC)) if o.type == DEADLINE)
    event = typed(from_occurrence(deadline))
    assert event.data.due == deadline.at and event.data.grace_seconds > 0


def test_an_unknown_type_is_refused_at_the_edge() -> None:
    with pytest.raises(UnknownEventType):
        typed(CloudEvent({"id": "x", "source": "/s", "type": "edu.classops.nope", "time": NOW}))


PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
       "metadata": {"name": "claim-alice", "namespace": "cs101", "uid": "u-1",
                    "resourceVersion": "42", "labels": {"component": "singleuser-storage"},
                    "annotations": {"hub.jupyter.org/username": "alice"}},
       "spec": {"resources": {"requests": {"storage": "1Gi"}}}}


def test_a_watch_event_names_the_object_and_its_version() -> None:
    event = typed(from_watch("ADDED", PVC, "persistentvolumeclaims", NOW))
    assert isinstance(event, WatchEvent)
    assert event.id == "u-1/42"
    assert event.type == "io.k8s.core.persistentvolumeclaim.added"
    assert event.source == "/api/v1/namespaces/cs101/persistentvolumeclaims/claim-alice"
    assert event.subject == "cs101/claim-alice"
    assert event.object.annotations["hub.jupyter.org/username"] == "alice"
    assert (event.group, event.kind, event.action) == ("core", "persistentvolumeclaim", "added")


def test_watch_types_keep_core_and_events_k8s_io_apart() -> None:
    core = {**PVC, "kind": "Event", "metadata": {**PVC["metadata"], "name": "e"}}
    grouped = {**core, "apiVersion": "events.k8s.io/v1"}
    assert typed(from_watch("MODIFIED", core, "events", NOW)).type == "io.k8s.core.event.modified"
    assert typed(from_watch("DELETED", grouped, "events", NOW)).type == \
        "io.k8s.events.k8s.io.event.deleted"
    assert parse_watch_type("io.k8s.events.k8s.io.event.deleted") == \
        ("events.k8s.io", "event", "deleted")
    with pytest.raises(ValueError):
        watch_type("apps", "Deployment", "BOOKMARK")


def test_a_cluster_scoped_object_has_no_namespace_in_path_or_subject() -> None:
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "uid": "u-2", "resourceVersion": "7"}}
    event = typed(from_watch("ADDED", node, "nodes", NOW))
    assert (event.source, event.subject) == ("/api/v1/nodes/n1", "n1")

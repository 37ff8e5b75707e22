"""Secrets never leave Secrets: a term start generates the hub's secrets (cookie secret, proxy
token, crypt key, the classops service token), and none of their values shows in the plan
(`classops plan -o json`), the inbox ConfigMaps (`classops events -o json` prints them), the
Kubernetes Events or the logs; the Secrets are named there, with their keys."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from kubernetes import client

from shared.cli.main import main
from shared.events import TERM_START, from_occurrence
from shared.handlers.registry import load as load_functions
from shared.logs import configure
from shared.ports.kube import Kube as KubePort
from shared.runtime.inbox.entries import Entry
from shared.runtime.server import Server
from shared.stack import secrets
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.timetable import Occurrence, expand, load
from tests.conftest import Kube
from tests.wait import until

SCHEDULE = Path(__file__).resolve().parents[2] / "schedules.yaml"
TOKEN_LIKE = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")  # `secrets.new_token`
CHECKSUM = re.compile(r'checksum/[\w.-]+\\?": \\?"[0-9a-f]{64}')  # a config's digest, no secret


def token_like(text: str) -> list[str]:
    """Hex runs as long as a generated token (64 digits), checksum annotations aside."""
    return TOKEN_LIKE.findall(CHECKSUM.sub("", text))


@pytest.fixture
def classops_log() -> Iterator[io.StringIO]:
    """Everything the `classops` loggers write, at DEBUG, as an operator would collect it."""
    logger = logging.getLogger("classops")
    saved = logger.handlers[:], logger.level, logger.propagate
    stream = io.StringIO()
    configure("DEBUG", stream)
    yield stream
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def term_start() -> Occurrence:
    """The term.start firing of the repository's schedule."""
    timetable = load(SCHEDULE)
    term = timetable.term
    start = datetime.combine(term.start, time(0), term.timezone)
    found = [o for o in expand(timetable, start, start + timedelta(days=1))
             if o.type == TERM_START]
    assert len(found) == 1
    return found[0]


def plan_output(kube: Kube, day: str, capsys: pytest.CaptureFixture[str]) -> str:
    argv = ["plan", "--schedule", str(SCHEDULE), "--from", day, "--to", day, "-o", "json",
            "--kubeconfig", str(kube.kubeconfig), "--namespace", kube.namespace]
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_a_term_start_shows_no_generated_secret_value(
        kube: Kube, start_server: Callable[..., Server], capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, classops_log: io.StringIO,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBECONFIG", "CLASSOPS_KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.INFO)
    port = KubePort(kube.api)
    port.apply({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": SCHEDULE_CONFIGMAP, "namespace": kube.namespace},
                "data": {SCHEDULE_KEY: SCHEDULE.read_text()}}, field_manager="test")
    occurrence = term_start()
    day, event_id = occurrence.at.date().isoformat(), occurrence.id

    # The plan decides to generate the secrets (none exists yet) and shows names and keys only.
    plan = plan_output(kube, day, capsys)
    entry = next(e for e in json.loads(plan[:plan.rindex("]") + 1]) if e["id"] == event_id)
    created = {a["manifest"]["metadata"]["name"]: a["manifest"]["stringData"]
               for a in entry["actions"] if a["target"].startswith("secret ")}
    assert created == {w.name: {k: "<secret, 64 chars>" for k in w.keys}
                       for w in secrets.wanted()}
    assert token_like(plan) == []

    # The term start runs for real: the leader takes it from the inbox and creates the Secrets.
    server = start_server(load_functions("functions"))
    until(lambda: server.elector.leading)
    assert server.inbox.put(from_occurrence(occurrence))
    done = until(lambda: (e := _entry(server, event_id)) and e.state != "pending" and e,
                 timeout=120)
    assert done.state == "done", done.outcome

    values = []
    for wanted in secrets.wanted():
        found = kube.core.read_namespaced_secret(wanted.name, kube.namespace)
        assert sorted(found.data) == sorted(wanted.keys)
        values += [base64.b64decode(v).decode() for v in found.data.values()]
    assert len(values) == 4 and all(len(v) == 64 for v in values)

    inbox = json.dumps([cm.to_dict() for cm in kube.core.list_namespaced_config_map(
        kube.namespace, label_selector="classops.edu/inbox=event").items], default=str)
    assert event_id in inbox and "hub-token-classops" in inbox  # the record names the Secret
    events = json.dumps([e.to_dict() for e in client.EventsV1Api(kube.api).list_namespaced_event(
        kube.namespace).items], default=str)
    assert "secret" in events.lower()  # the executor's Events name what it created
    assert main(["events", "-o", "json", "--kubeconfig", str(kube.kubeconfig),
                 "--namespace", kube.namespace]) == 0
    printed = capsys.readouterr().out
    logs = classops_log.getvalue() + caplog.text
    assert "hub-token-classops" in logs

    for where, text in (("plan", plan), ("inbox", inbox), ("events", events),
                        ("classops events", printed), ("logs", logs)):
        leaked = [v[:8] + "..." for v in values if v in text]
        assert leaked == [], f"{where} shows generated secret values {leaked}"
        assert token_like(text) == [], f"{where} shows a token-like value"


def _entry(server: Server, event_id: str) -> Entry | None:
    return next((e for e in server.inbox.entries() if e.id == event_id), None)

"""Settings from the environment and the command line (every problem at once, one line naming
the variable or flag, secrets masked) and JSON logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from shared.cli import options
from shared.cli.main import build_parser, main
from shared.logs import JsonFormatter, bind
from shared.settings import Secret, Settings, SettingsError


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"CLASSOPS_NAMESPACE": "cs101", "CLASSOPS_DRY_RUN": "true",
                                  "CLASSOPS_HUB_API_URL": "http://hub:8081/hub/api",
                                  "CLASSOPS_HUB_TOKEN": "s3cr3t", "UNRELATED": "x"})
    assert (settings.namespace, settings.dry_run, settings.functions) == ("cs101", True,
                                                                         "functions")
    assert settings.hub_token == Secret("s3cr3t")
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings.hub_token)
    assert Settings.from_env({}) == Settings()


def test_every_settings_problem_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"CLASSOPS_DRY_RUN": "maybe", "CLASSOPS_LOG_LEVEL": "loud",
                           "CLASSOPS_HUB_API_URL": "http://hub:8081/hub/api"})
    assert err.value.problems == [
        "CLASSOPS_DRY_RUN='maybe': expected true or false",
        "CLASSOPS_LOG_LEVEL='LOUD': expected DEBUG, INFO, WARNING or ERROR",
        "CLASSOPS_HUB_TOKEN is missing: the hub's API needs a service token",
    ]


def test_a_log_line_is_json_with_bound_fields_and_no_secret() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("classops.test.logs")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    log = bind(bind(logger, event_id="warmup/lecture@2026-09-02T09:40:00-04:00"), handler="h")
    log.info("scaled %s", "user-placeholder",
             extra={"headers": {"Authorization": "token abc"}, "hub_token": Secret("abc"),
                    "replicas": 3})
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "scaled user-placeholder" and line["level"] == "info"
    assert line["event_id"] == "warmup/lecture@2026-09-02T09:40:00-04:00"
    assert (line["handler"], line["replicas"]) == ("h", 3)
    assert line["headers"] == {"Authorization": "***"} and line["hub_token"] == "***"
    assert "abc" not in stream.getvalue()


def test_webhook_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"CLASSOPS_WEBHOOK_ALLOWED_ORIGINS": " LMS.example.edu, *,",
                                  "CLASSOPS_INBOX_MAX_PENDING": "50",
                                  "CLASSOPS_WEBHOOK_TOKEN_TTL": "2.5"})
    assert settings.webhook_allowed_origins == ("lms.example.edu", "*")
    assert (settings.inbox_max_pending, settings.webhook_token_ttl) == (50, 2.5)
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"CLASSOPS_INBOX_MAX_PENDING": "0"})
    assert err.value.problems == ["CLASSOPS_INBOX_MAX_PENDING must be at least 1"]


@pytest.mark.parametrize(("command", "env", "named"), [
    (["status", "--schedule", "missing.yaml"], {"CLASSOPS_PORT": "eighty"}, "CLASSOPS_PORT"),
    (["check"], {"CLASSOPS_LOG_LEVEL": "LOUD"}, "CLASSOPS_LOG_LEVEL"),
    (["serve"], {"CLASSOPS_DRY_RUN": "maybe"}, "CLASSOPS_DRY_RUN"),
    (["events"], {"CLASSOPS_LEASE_DURATION": "-1"}, "CLASSOPS_LEASE_DURATION"),
    (["plan", "--to", "soon"], {}, "--to"),
    (["render", "--parts", "hub,kitchen"], {}, "--parts"),
])
def test_a_bad_setting_is_one_line_naming_it(
        command: list[str], env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    schedule = str(Path(__file__).resolve().parents[2] / "schedules.yaml")
    if "--schedule" not in command and command[0] in ("plan", "render", "check"):
        command = [*command, "--schedule", schedule]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("classops: error: ") and named in err, err
    assert "Error:" not in err  # no exception class name, e.g. "ValueError: ..."


def test_the_command_line_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASSOPS_NAMESPACE", "from-env")
    monkeypatch.setenv("CLASSOPS_FUNCTIONS", "env_functions")
    args = build_parser().parse_args(["plan", "--namespace", "from-flag"])
    merged = options.settings(args)
    assert (merged.namespace, merged.functions) == ("from-flag", "env_functions")
    assert options.settings(args) is merged  # merged once per run

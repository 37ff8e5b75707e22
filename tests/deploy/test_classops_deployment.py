"""The rendered classops Deployment runs a command classops really has, with settings it reads."""

from __future__ import annotations

from shared.cli.main import build_parser
from shared.settings import Settings
from shared.stack.manifests import render, settings_of
from shared.timetable import load


def _container() -> dict:
    objects = render(settings_of(load("schedules.yaml")), "", ["classops"])
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_its_arguments_parse_as_a_classops_command() -> None:
    container = _container()
    args = build_parser().parse_args(container["args"])
    assert args.command == "serve"


def test_its_environment_is_valid_classops_settings() -> None:
    container = _container()
    env = {e["name"]: e.get("value", "from-a-secret") for e in container["env"]}
    settings = Settings.from_env(env)
    assert settings.schedule == "/etc/classops/schedules.yaml"
    assert settings.port == container["ports"][0]["containerPort"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"

"""The hub reads `term.end`'s ConfigMap live: its pages show the announcement and its spawns are
refused to students (not to admins) once spawning is closed; before, nothing changes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tornado import web
from traitlets.config import Config

from shared.stack.config import HubSettings
from shared.stack.hub_component import INFRA, values
from shared.stack.labels import TERM_END_KEY
from shared.teardown.notes import closing_config


def hub_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "values.json").write_text(json.dumps(values(HubSettings(course="cs101"))))
    monkeypatch.setenv("CLASSOPS_SERVICE_TOKEN", "t0k3n")
    monkeypatch.setenv("CLASSOPS_TERM_END_FILE", str(tmp_path / "term-end.json"))
    c = Config()
    code = (INFRA / "hub" / "jupyterhub_config.py").read_text()
    exec(compile(code, str(tmp_path / "jupyterhub_config.py"), "exec"),
         {"get_config": lambda: c, "__file__": str(tmp_path / "jupyterhub_config.py")})
    return c


def spawner(admin: bool) -> Any:
    return SimpleNamespace(user=SimpleNamespace(admin=admin, name="u"))


def test_spawning_closes_and_the_announcement_shows_without_a_restart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = hub_config(tmp_path, monkeypatch)
    announce, hook = c.JupyterHub.template_vars["announcement"], c.Spawner.pre_spawn_hook
    assert announce(None) == ""
    hook(spawner(admin=False))  # during term: spawns go ahead
    manifest = closing_config(HubSettings(course="cs101"), "cs101 has ended")
    (tmp_path / "term-end.json").write_text(manifest["data"][TERM_END_KEY])
    assert announce(None) == "cs101 has ended"
    with pytest.raises(web.HTTPError) as refused:
        hook(spawner(admin=False))
    assert refused.value.status_code == 403 and "cs101 has ended" in str(refused.value)
    hook(spawner(admin=True))  # staff may still start theirs

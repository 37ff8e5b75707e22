"""All manifests of the stack, from the course config: plain Python functions returning dicts.

Decision: manifests are built by small Python functions (one module per component), not by
text templates. A dict is checked by mypy and by tests key by key, needs no template language or
escaping, is exactly what server-side apply sends, and the same objects feed the plan's diff. The
only file read at render time is the hub's static `infra/hub/jupyterhub_config.py`, whose
settings come as data (`values.json`). `infra/` holds what is not rendered (that config,
Dockerfiles, start-up scripts) and `infra/*/README.md` says how to apply each part.

Rendering is pure: the same config gives the same objects, byte for byte, and generated secrets
are never part of it (see `secrets`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from ruamel.yaml import YAML

from shared.stack import admin, certificates, hub_component, network, proxy, user_pods
from shared.stack.config import HubSettings
from shared.stack.labels import PARTS


def settings_of(timetable: Any) -> HubSettings:
    """The timetable's `hub:` section, or the defaults for its course."""
    found = timetable.extensions.get("hub")
    return found if isinstance(found, HubSettings) else HubSettings(course=timetable.course)


def render(settings: HubSettings, schedule_text: str = "",
           parts: Sequence[str] = PARTS) -> list[dict[str, Any]]:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown part {sorted(unknown)}, expected some of {', '.join(PARTS)}")
    found: list[dict[str, Any]] = []
    if "cluster" in parts:
        found += admin.cluster(settings)
    if "classops" in parts:
        found += admin.classops(settings, schedule_text)
    if "hub" in parts:
        found += [*hub_component.render(settings), *proxy.render(settings),
                  *user_pods.render(settings),
                  *network.render(settings), *certificates.render(settings)]
    return found


def to_yaml(manifests: Iterable[dict[str, Any]]) -> str:
    """One multi-document YAML stream, for `kubectl apply --server-side -f -`."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # as rendered
    # Objects that share a list (a Role's verbs) are written out in full, not as &anchors:
    # an operator reads this, and not every tool that reads manifests resolves aliases.
    yaml.representer.ignore_aliases = lambda *_: True
    out = io.StringIO()
    yaml.dump_all(list(manifests), out)
    return out.getvalue()

"""`classops archive-term` against real KubeSpawner students (the course's hub spawning into the
emulator): their servers are stopped through the hub's API, KubeSpawner removes their pods, the
final snapshots wait for that, then the hub database's with the hub Deployment at 0, and
nothing is deleted. (The copies capability is not loaded here: the index says so per user.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.main import build_parser
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.settings import Secret
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.stack.manifests import render
from shared.teardown.term_index import TermIndex, index_key
from tests.servers.fixtures import S3Bucket
from tests.servers.kubehub import KubeHub
from tests.teardown.term import term_end_only
from tests.wait import until

from .term import PREFIX, SNAPSHOTS
from .term import S3 as S3Port

REPO = Path(__file__).resolve().parents[2]


def test_archive_term_stops_kubespawner_students_and_snapshots_their_homes(
        kube_hub: KubeHub, s3: S3Bucket, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    hub, ns = kube_hub, kube_hub.namespace
    hub.emu.clock.set_rate(30)
    hub.add_node("user-1")
    hub.add_node("core-1", user_pool=False)  # where the hub pod (and its database) runs
    text = (REPO / "schedules.yaml").read_text()
    hub.core.create_namespaced_config_map(ns, {"metadata": {"name": SCHEDULE_CONFIGMAP},
                                               "data": {SCHEDULE_KEY: text}})
    hub.apply(render(hub.settings, parts=("hub",)))  # the hub Deployment term.end scales
    until(lambda: any(c.metadata.name == "hub-db-dir" and c.status.phase == "Bound"
                      for c in hub.core.list_namespaced_persistent_volume_claim(ns).items),
          timeout=60, what="the hub's database volume bound")
    students = ["ana", "ben@uni.edu"]
    for name in students:
        hub.admin.create_user(name)
        hub.admin.start_server(name, timeout=120)
    def bound() -> set[str]:
        found = {c.metadata.name for c in hub.claims() if c.status.phase == "Bound"}
        return found if len(found) == 2 else set()

    claims = until(bound, timeout=120, what="both homes bound")
    assert len(hub.pods()) == 2

    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(text)
    store = S3Port(s3.client, s3.name)
    endpoint = hub.server.endpoint
    assert endpoint is not None
    args = build_parser().parse_args(["archive-term", "--schedule", str(schedule),
                                      "--namespace", ns, "-o", "json"])
    args.api_client, args.s3, args.registry = hub.api, store, term_end_only()
    args.hub = Hub(endpoint.api_url, Secret(endpoint.token))
    began = hub.emu.requests()[-1].at
    code = args.func(args)
    err = capsys.readouterr().err
    assert code == 1, err  # archived by nobody: the copies are not loaded in this test

    assert all(not hub.admin.user(name).get("servers") for name in students)
    assert hub.pods() == []  # KubeSpawner removed them before the snapshots
    kube = Kube(hub.api)
    finals = {o.raw["spec"]["source"]["persistentVolumeClaimName"]: o
              for o in kube.list(SNAPSHOTS, "VolumeSnapshot", ns, "classops.edu/purpose=final")}
    assert set(finals) == claims | {"hub-db-dir"}
    assert all(o.raw["status"]["readyToUse"] for o in finals.values())
    assert kube.scale("apps/v1", "Deployment", "hub", ns) == 1
    index = TermIndex.from_json(store.get_bytes(index_key(PREFIX)))
    assert sorted(e.user for e in index.entries) == sorted(students)
    assert all("no archive made from the final snapshot" in e.problem for e in index.entries)
    assert {c.metadata.name for c in hub.claims()} == claims  # nothing deleted
    assert [r.path for r in hub.emu.requests(began) if r.verb == "delete"
            and "/pods/" not in r.path] == []

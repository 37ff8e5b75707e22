"""`classops archive-term` on the emulator, SeaweedFS and the JupyterHub test server: the hub is
closed (the announcement and spawning flag the hub reads), every server is stopped through the
hub's API, the final snapshots wait until no pod mounts a home, the hub database is snapshotted
with the hub at 0, each final archive is verified into the term index, and nothing is deleted.
Then `classops teardown --confirm` deletes exactly the verified users.

Two stand-ins play what is not this capability's: KubeSpawner (a user's pod goes when the hub
has stopped their server) and the CSI driver with the copies worker (a final snapshot becomes
ready, and its archive appears in S3 with its manifest and WHERE-ARE-MY-FILES.txt).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from shared.cli.main import build_parser
from shared.ports.hub import Hub
from shared.settings import Secret
from shared.stack import admin
from shared.stack.config import HubSettings
from shared.stack.labels import TERM_END_CONFIGMAP, TERM_END_KEY
from shared.teardown.notes import WHERE
from shared.teardown.term_index import TermIndex, index_key
from shared.termend.indexing import folder
from shared.termend.survey import USERNAME
from tests.conftest import Kube as Cluster
from tests.deploy.test_least_privilege import expand, triple
from tests.servers.fixtures import HubUsers, S3Bucket
from tests.teardown.term import term_end_only

from .term import PREFIX, SNAPSHOTS, Term, by_user, schedule_file

CORRUPT = "c"  # the user whose archive the stand-in copies worker spoils


class StandIns:
    """KubeSpawner and the CSI driver + copies worker, as background loops."""

    def __init__(self, term: Term, hub: HubUsers) -> None:
        self.term, self.hub, self.stop = term, hub, threading.Event()
        self.custom = client.CustomObjectsApi(term.cluster.api)
        self.archived: set[str] = set()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while not self.stop.wait(0.1):
            for pod in self.term.kube.list("v1", "Pod", self.term.ns):
                user = pod.metadata.get("annotations", {}).get(USERNAME, "")
                if user and not self.hub.admin.user(user).get("servers"):
                    self.term.cluster.core.delete_namespaced_pod(pod.name, self.term.ns)
            for snap in self.term.kube.list(SNAPSHOTS, "VolumeSnapshot", self.term.ns):
                if (snap.raw.get("status") or {}).get("readyToUse"):
                    continue
                self.custom.patch_namespaced_custom_object_status(
                    "snapshot.storage.k8s.io", "v1", self.term.ns, "volumesnapshots",
                    snap.name, {"status": {"readyToUse": True}})
                user = (snap.metadata.get("annotations") or {}).get(USERNAME)
                if user and snap.name not in self.archived:
                    self.archive(user, snap.name)
                    self.archived.add(snap.name)

    def archive(self, user: str, snapshot: str) -> None:
        note = b"your files are here"
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, data in (("work.ipynb", b"{}" * 100), (WHERE, note)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        data = raw.getvalue()
        where = folder(PREFIX, user)
        key = f"{where}20261219T050000Z.tar.gz"
        manifest = {"format": "classops-archive/1", "user": user, "server": "",
                    "timestamp": "20261219T050000Z", "meta": {"snapshot": snapshot},
                    "archive": {"key": key, "size": len(data),
                                "sha256": hashlib.sha256(data).hexdigest()},
                    "files": [{"path": "work.ipynb", "type": "file", "mode": "0644",
                               "mtime": "0.0", "size": 200, "sha256": ""}],
                    "extras": [{"path": WHERE, "type": "file", "mode": "0644", "mtime": "0.0",
                                "size": len(note), "sha256": ""}]}
        if user.endswith(CORRUPT):
            data = data[:-1] + bytes([data[-1] ^ 1])
        self.term.s3.put_bytes(key, data)
        self.term.s3.put_bytes(f"{where}20261219T050000Z.manifest.json",
                               json.dumps(manifest).encode())

    def __enter__(self) -> StandIns:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.fixture
def term(kube: Cluster, s3: S3Bucket, tmp_path: Path) -> Iterator[Term]:
    made = Term(kube, s3, schedule_file(tmp_path), [])
    yield made
    made.kube.close()


def test_archive_term_closes_stops_snapshots_verifies_and_deletes_nothing(
        term: Term, hub: HubUsers, capsys: pytest.CaptureFixture[str]) -> None:
    ns = term.ns
    settings = HubSettings(course="cs101", namespace=ns)
    for manifest in admin.classops(settings, term.schedule.read_text()):
        if manifest["metadata"].get("namespace") == ns:
            term.kube.apply(manifest, "classops")
    term.deploy_hub_stack()
    users = [hub.create_user(s) for s in ("a", "b", CORRUPT)]
    for user in users:
        term.kube.create({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"claim-{user}", "namespace": ns,
                         "labels": {"component": "singleuser-storage"},
                         "annotations": {USERNAME: user}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}})
    for user in users[:2]:  # two students still working: a server, and its pod on their home
        hub.start_server(user)
        term.kube.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"jupyter-{user}", "namespace": ns, "annotations": {USERNAME: user}},
            "spec": {"containers": [{"name": "notebook", "image": "jupyter/base"}],
                     "volumes": [{"name": "home", "persistentVolumeClaim": {
                         "claimName": f"claim-{user}"}}]}})
    port = Hub(hub.api_url, Secret(hub.token))
    emu = term.cluster.emu
    began = emu.requests()[-1].at
    args = build_parser().parse_args(["archive-term", "--schedule", str(term.schedule),
                                      "--namespace", ns, "-o", "json"])
    as_classops = emu.api_client(token=emu.service_account_token(ns, "classops"))
    args.api_client, args.s3, args.hub, args.registry = as_classops, term.s3, port, term_end_only()
    with StandIns(term, hub):
        code = args.func(args)
    out, err = capsys.readouterr()
    # as classops's ServiceAccount: nothing denied, and the grants made for term-end used
    me = f"system:serviceaccount:{ns}:classops"
    mine = [r for r in emu.requests(began) if r.user == me]
    assert [(r.verb, r.path) for r in mine if r.status == 403] == []
    used = {t for r in mine if (t := triple(r.verb, r.path)) is not None}
    assert expand([g.rule for g in admin.CLASSOPS_GRANTS if "term-end" in g.uses]) <= used
    assert code == 1, err  # one archive does not verify
    index = TermIndex.from_json(term.s3.get_bytes(index_key(PREFIX)))
    assert json.loads(out)["entries"] == json.loads(index.to_json())["entries"]
    found = {e.user: e for e in index.entries}
    assert sorted(found) == sorted(users)
    assert found[users[0]].verified and found[users[1]].verified and found[users[0]].note
    assert not found[users[2]].verified and "sha256" in found[users[2]].problem
    assert found[users[0]].snapshot.startswith(f"claim-{users[0]}-final-")
    assert index.extras["manifests"].verified
    # the hub: closed with its announcement, every server stopped, back at 1 replica
    closing = term.kube.get("v1", "ConfigMap", TERM_END_CONFIGMAP, ns)
    assert closing is not None
    flags = json.loads(closing.raw["data"][TERM_END_KEY])
    assert flags["spawning"] == "closed" and "has ended" in flags["announcement"]
    assert all(not hub.admin.user(u).get("servers") for u in users)
    assert term.kube.scale("apps/v1", "Deployment", "hub", ns) == 1
    scaled = [r for r in emu.requests(began) if r.path.endswith("/deployments/hub/scale")
              and r.verb == "patch"]
    assert len(scaled) == 2  # to 0 for the database's snapshot, back to 1
    hub_db = [o.name for o in term.kube.list(SNAPSHOTS, "VolumeSnapshot", ns)
              if o.name.startswith("hub-db-dir-final-")]
    assert len(hub_db) == 1
    # nothing deleted (the stand-in KubeSpawner deleted the stopped students' pods)
    assert [r.path for r in emu.requests(began)
            if r.verb == "delete" and "/pods/" not in r.path] == []
    assert term.alive() == set(users)

    code, report = term.run(capsys, "--confirm")
    assert code == 0, term.err
    assert term.alive() == {users[2]}
    assert "sha256" in by_user(report)[users[2]]["why"]

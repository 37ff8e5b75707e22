"""A term at its end, for the teardown tests: users with PVCs (KubeSpawner's labels and
annotations), their snapshots (a nightly and the final one), the hub stack as classops renders
it, and in S3 each user's archive (a real tar.gz), its manifest and the term index.

Until `archive-term` writes them, the term index and manifests are written here the way
`archive-term` writes them (verified: the object and the manifest agree); a test then breaks
what it wants to see caught.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared.cli.main import build_parser
from shared.events import TERM_END
from shared.handlers.registry import Registry, on
from shared.ports.kube import Kube
from shared.ports.s3 import S3
from shared.stack import admin, secrets
from shared.stack.config import HubSettings
from shared.stack.deploy import TRACKED
from shared.stack.manifests import render
from shared.teardown.term_index import IndexEntry, TermIndex, index_key
from shared.termend.survey import USERNAME
from tests.conftest import Kube as Cluster
from tests.servers.fixtures import S3Bucket

REPO = Path(__file__).resolve().parents[2]
PREFIX = "cs101/fall-2026"
STAMP = "20261219T050000Z"
SNAPSHOTS = "snapshot.storage.k8s.io/v1"


def archive_bytes(user: str) -> bytes:
    content = f"# notebook of {user}\n".encode() * 50
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("notes.md")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


@dataclass
class Term:
    cluster: Cluster
    bucket: S3Bucket
    schedule: Path
    users: list[str]
    kube: Kube = field(init=False)
    s3: S3 = field(init=False)
    entries: dict[str, IndexEntry] = field(default_factory=dict)
    err: str = ""  # the last run's stderr

    def __post_init__(self) -> None:
        self.kube = Kube(self.cluster.api)
        self.s3 = S3(self.bucket.client, self.bucket.name)

    @property
    def ns(self) -> str:
        return self.cluster.namespace

    def claim(self, user: str) -> str:
        return f"claim-{user}"

    def add_user(self, user: str) -> None:
        pvc = self.kube.create({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": self.claim(user), "namespace": self.ns,
                         "labels": {"component": "singleuser-storage", "app": "jupyterhub"},
                         "annotations": {USERNAME: user}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}})
        self.archive_user(user, pvc.uid, ("nightly", "final"))

    def archive_user(self, user: str, claim_uid: str, purposes: Sequence[str] = ("final",),
                     stamp: str = STAMP) -> None:
        """Snapshots of the user's claim (the last one final), its archive, manifest and entry."""
        final = None
        for purpose in purposes:
            final = self.kube.create({
                "apiVersion": SNAPSHOTS, "kind": "VolumeSnapshot",
                "metadata": {"name": f"{self.claim(user)}-{purpose}", "namespace": self.ns},
                "spec": {"source": {"persistentVolumeClaimName": self.claim(user)}}})
        assert final is not None
        data = archive_bytes(user)
        key, manifest = f"{PREFIX}/{user}/{stamp}.tar.gz", f"{PREFIX}/{user}/{stamp}.manifest.json"
        sha = hashlib.sha256(data).hexdigest()
        self.s3.put_bytes(key, data)
        self.s3.put_bytes(manifest, json.dumps({
            "format": "classops-archive/1", "user": user, "server": "", "timestamp": stamp,
            "archive": {"key": key, "size": len(data), "sha256": sha},
            "files": [{"path": "notes.md", "type": "file", "mode": "0644", "mtime": "0.0",
                       "size": 1000, "sha256": ""}]}).encode())
        self.entries[user] = IndexEntry(
            user, claim=self.claim(user), claim_uid=claim_uid, snapshot=final.name,
            snapshot_at=final.metadata["creationTimestamp"], object=key, manifest=manifest,
            size=len(data), sha256=sha, verified=True, files=1, bytes=1000)

    def write_index(self) -> None:
        index = TermIndex("cs101", "fall-2026", "2026-12-19T05:30:00+00:00",
                          tuple(self.entries[u] for u in sorted(self.entries)))
        self.s3.put_bytes(index_key(PREFIX), index.to_json(), "application/json")

    def deploy_hub_stack(self) -> HubSettings:
        settings = HubSettings(course="cs101", namespace=self.ns)
        for manifest in render(settings, parts=("hub",)):
            self.kube.apply(manifest, "classops")
        for wanted in secrets.wanted():  # generated once by a deploy, labelled as the stack
            self.kube.create(wanted.manifest(settings, secrets.new_token))
        return settings

    def grant_classops(self) -> HubSettings:
        """classops's ServiceAccount with its rendered Role, and its ClusterRole (the
        cluster-scoped VolumeSnapshotContents) bound under a name of this namespace's own, so
        tests sharing an emulator do not rebind each other's."""
        settings = HubSettings(course="cs101", namespace=self.ns)
        for manifest in admin.classops(settings, "course: cs101\n"):
            if manifest["metadata"].get("namespace") == self.ns:
                self.kube.apply(manifest, "classops")
        read = f"{settings.release}-classops-read"
        for manifest in admin.cluster(settings):
            if manifest["kind"] == "ClusterRole" and manifest["metadata"]["name"] == read:
                self.kube.apply(manifest, "classops")
            elif manifest["kind"] == "ClusterRoleBinding" and manifest["roleRef"]["name"] == read:
                manifest["metadata"]["name"] = f"{read}-{self.ns}"
                self.kube.apply(manifest, "classops")
        return settings

    def run(self, capsys: pytest.CaptureFixture[str], *flags: str,
            **inject: Any) -> tuple[int, dict[str, Any]]:
        args = build_parser().parse_args(["teardown", "--schedule", str(self.schedule),
                                          "--namespace", self.ns, "-o", "json", *flags])
        defaults: dict[str, Any] = {"api_client": self.cluster.api, "s3": self.s3, "hub": None,
                                    "registry": None, "sleep": lambda seconds: None}
        for name, value in {**defaults, **inject}.items():
            setattr(args, name, value)
        capsys.readouterr()
        code = int(args.func(args))
        out, self.err = capsys.readouterr()
        return code, json.loads(out) if out.strip() else {}

    def state(self) -> dict[tuple[str, str], str]:
        """(kind, name) -> resourceVersion of everything a teardown could touch."""
        kinds: Sequence[tuple[str, str]] = (*TRACKED["hub"], (SNAPSHOTS, "VolumeSnapshot"),
                                            ("v1", "Pod"))
        return {(kind, o.name): o.resource_version
                for api_version, kind in dict.fromkeys(kinds)
                for o in self.kube.list(api_version, kind, self.ns)}

    def alive(self) -> set[str]:
        return {o.name.removeprefix("claim-")
                for o in self.kube.list("v1", "PersistentVolumeClaim", self.ns,
                                        "component=singleuser-storage")}


def term_end_only() -> Registry:
    """The term.end function alone: the copies it asks for are the test's to play."""
    import functions.term_end as term_end

    registry = Registry()
    on(TERM_END, registry=registry)(term_end.end_term)
    return registry


def schedule_file(tmp_path: Path, protected: Sequence[str] = ()) -> Path:
    path = tmp_path / "schedules.yaml"
    text = (REPO / "schedules.yaml").read_text()
    if protected:
        text += "\nteardown:\n  protected: [" + ", ".join(protected) + "]\n"
    path.write_text(text)
    return path


def by_user(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["user"]: u for u in report["users"]}


def replaced(entry: IndexEntry, **changes: Any) -> IndexEntry:
    return dataclasses.replace(entry, **changes)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))

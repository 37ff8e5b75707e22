"""One student's final copy failing does not cost the others of the batch their verified entry.

`classops archive-term` run twice, on the emulator's real storage and SeaweedFS: the second run
finds alice's home unchanged (her copy Job makes no new archive: her last copy is her final one)
while bob's changed home cannot be uploaded (his writes are reset on the wire by a loopback
proxy in front of SeaweedFS). Both are in one copy Job, which fails; the term index still says
alice is verified, from her own outcome in the Job's summary, and bob is not.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest

from shared.archive.layout import Owner, Place
from shared.cli.main import build_parser
from shared.ports.hub import Hub
from shared.settings import Secret
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.teardown.term_index import TermIndex, index_key
from shared.termend.survey import USERNAME
from tests.deploy.conftest import Stack, stack  # noqa: F401  (the fixture)
from tests.emulator.conftest import cluster  # noqa: F401  (the fixture)
from tests.kubeemu.controllers.storage_control import volume_folder
from tests.servers.faults import FaultProxy, Request, Verdict
from tests.servers.fixtures import HubUsers, S3Bucket
from tests.wait import until

from .term import PREFIX
from .term import S3 as S3Port
from .test_term_end_storage import REPO, storage  # noqa: F401  (the fixture)


def test_a_failed_copy_in_a_batch_leaves_the_others_verified(
        storage: Stack, s3: S3Bucket, hub: HubUsers, tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    c, ns = storage.cluster, storage.cluster.namespace
    assert not storage.deploy(parts=("hub",)).failed
    homes = {}
    for user in ("alice", "bob"):
        c.core.create_namespaced_persistent_volume_claim(ns, {
            "metadata": {"name": f"claim-{user}", "labels": {"component": "singleuser-storage"},
                         "annotations": {USERNAME: user}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}})
        homes[user] = until(lambda u=user: volume_folder(c.emu, ns, f"claim-{u}"), timeout=60,
                            what=f"claim-{user} bound", not_yet=(Exception,))
        (homes[user] / "notes.md").write_text(f"# {user}'s notes\n")
    text = (REPO / "schedules.yaml").read_text().replace("\nhub:", f"\nhub:\n  release: {ns}")
    c.core.create_namespaced_config_map(ns, {"metadata": {"name": SCHEDULE_CONFIGMAP},
                                             "data": {SCHEDULE_KEY: text}})
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(text)
    store = S3Port(s3.client, s3.name)
    bob = f"/{s3.name}/{Place(PREFIX, Owner('bob')).folder}"
    failing = {"bob": False}

    def bobs_uploads(r: Request) -> Verdict:
        writes = r.method in ("PUT", "POST") and unquote(r.path).startswith(bob)
        return "reset" if writes and failing["bob"] else "pass"

    c.emu.clock.set_rate(60)  # the hub pod's graceful stop, the Jobs' pods: emulated minutes
    with FaultProxy(s3.endpoint.endpoint_url, bobs_uploads) as proxy:
        values = {**s3.settings(), "CLASSOPS_S3_ENDPOINT": proxy.url}
        c.core.create_namespaced_secret(ns, {"metadata": {"name": "classops-s3"}, "data": {
            k: base64.b64encode(v.encode()).decode() for k, v in values.items()}})

        def archive_term(now: datetime | None = None) -> tuple[int, TermIndex]:
            args = build_parser().parse_args(["archive-term", "--schedule", str(schedule),
                                              "--namespace", ns, "-o", "json"])
            args.api_client, args.s3, args.registry = c.api, store, None
            args.hub = Hub(hub.api_url, Secret(hub.token))
            if now is not None:
                args.now = lambda: now
            code = args.func(args)
            return code, TermIndex.from_json(store.get_bytes(index_key(PREFIX)))

        code, first = archive_term()
        assert code == 0, capsys.readouterr().err
        before = {e.user: e for e in first.entries}
        assert before["alice"].verified and before["bob"].verified

        # an hour later: alice's home as it was, bob's changed and his uploads failing
        (homes["bob"] / "late.md").write_text("handed in late\n")
        failing["bob"] = True
        code, second = archive_term(datetime.now(UTC) + timedelta(hours=1))
        assert any(v == "reset" for _, v in proxy.seen)
    assert code == 1  # bob's final copy is missing: the term is not all verified
    after = {e.user: e for e in second.entries}
    assert not after["bob"].verified and after["bob"].snapshot != before["bob"].snapshot
    # alice's copy Job failed (bob's part of it), yet her own copy stood: her last is her final
    assert after["alice"].verified, after["alice"].problem
    assert after["alice"].object == before["alice"].object
    assert after["alice"].snapshot != before["alice"].snapshot

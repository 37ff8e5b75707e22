"""`classops teardown --confirm` runs with classops's own ServiceAccount (the rendered Role,
RBAC enforced by the emulator): no request is denied, and each grant made for it is used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.ports.kube import Kube
from shared.stack import admin
from tests.conftest import Kube as Cluster
from tests.deploy.test_least_privilege import expand, triple
from tests.servers.fixtures import S3Bucket

from .term import Term, schedule_file


@pytest.fixture
def term(kube: Cluster, s3: S3Bucket, tmp_path: Path) -> Iterator[Term]:
    made = Term(kube, s3, schedule_file(tmp_path), [])
    yield made
    made.kube.close()


def test_teardown_as_classops_is_denied_nothing_and_uses_its_grants(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    ns, emu = term.ns, term.cluster.emu
    term.grant_classops()
    term.deploy_hub_stack()
    for user in ("u1", "u2"):
        term.add_user(user)
    term.write_index()
    token = emu.service_account_token(ns, "classops")
    api = emu.api_client(token=token)
    began = emu.requests()[-1].at
    try:
        code, report = term.run(capsys, "--confirm", api_client=api)
        assert {u["status"] for u in report["users"]} == {"deleted"}
    finally:
        api.close()
    assert code == 0, term.err
    assert term.alive() == set()
    me = f"system:serviceaccount:{ns}:classops"
    mine = [r for r in emu.requests(began) if r.user == me]
    assert [(r.verb, r.path) for r in mine if r.status == 403] == []
    used = {t for r in mine if (t := triple(r.verb, r.path)) is not None}
    for_teardown = expand([g.rule for g in admin.CLASSOPS_GRANTS if "teardown" in g.uses])
    assert for_teardown and for_teardown <= used, for_teardown - used
    assert Kube(term.cluster.api).get("v1", "Secret", "hub", ns) is None

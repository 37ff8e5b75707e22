"""ServiceAccount tokens and RBAC as a real apiserver has them, through the official client.

kubectl never sends a bearer token over plain HTTP, so it cannot present a ServiceAccount's token
to the emulator; it acts as one with `--as=system:serviceaccount:<ns>:<name>` (impersonation by
the admin), which the real authorizer decides the same way.
"""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from kubernetes import client, dynamic
from kubernetes.client import ApiException

from tests.conftest import Kube

from .objects import configmap, deployment

RBAC = "rbac.authorization.k8s.io"


def _message(err: pytest.ExceptionInfo[ApiException]) -> str:
    return json.loads(err.value.body)["message"]


def _rbac(kube: Kube) -> client.RbacAuthorizationV1Api:
    return client.RbacAuthorizationV1Api(kube.api)


def _user(kube: Kube, sa: str) -> str:
    return f"system:serviceaccount:{kube.namespace}:{sa}"


def _service_account(kube: Kube, name: str) -> None:
    kube.core.create_namespaced_service_account(kube.namespace, {"metadata": {"name": name}})


def _role(kube: Kube, name: str, *rules: dict) -> None:
    _rbac(kube).create_namespaced_role(kube.namespace, {
        "metadata": {"name": name}, "rules": list(rules)})


def _bind(kube: Kube, sa: str, role: str, kind: str = "Role") -> None:
    _rbac(kube).create_namespaced_role_binding(kube.namespace, {
        "metadata": {"name": f"{sa}-{role}"},
        "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": kube.namespace}]})


def _as(kube: Kube, sa: str, *rules: dict) -> client.ApiClient:
    """A client for a new ServiceAccount holding `rules` in the test's namespace."""
    _service_account(kube, sa)
    if rules:
        _role(kube, sa, *rules)
        _bind(kube, sa, sa)
    return kube.emu.api_client(kube.emu.service_account_token(kube.namespace, sa))


@pytest.fixture
def other_namespace(kube: Kube) -> Iterator[str]:
    name = f"{kube.namespace}-b"
    kube.core.create_namespace({"metadata": {"name": name}})
    yield name
    kube.core.delete_namespace(name)


def test_a_role_allows_what_it_says_and_nothing_more(kube: Kube, other_namespace: str) -> None:
    api = _as(kube, "reader", {"apiGroups": [""], "resources": ["configmaps"],
                               "verbs": ["get", "list"]})
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    core = client.CoreV1Api(api)
    assert [c.metadata.name for c in core.list_namespaced_config_map(kube.namespace).items] == ["a"]
    assert core.read_namespaced_config_map("a", kube.namespace).metadata.name == "a"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(kube.namespace, configmap("b"))
    assert err.value.status == 403
    assert json.loads(err.value.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'configmaps is forbidden: User "{_user(kube, "reader")}" cannot create '
                   f'resource "configmaps" in API group "" in the namespace "{kube.namespace}"',
        "reason": "Forbidden", "details": {"kind": "configmaps"}, "code": 403}
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(other_namespace)
    assert _message(err) == (
        f'configmaps is forbidden: User "{_user(kube, "reader")}" cannot list resource '
        f'"configmaps" in API group "" in the namespace "{other_namespace}"')
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(api).read_namespaced_deployment("x", kube.namespace)
    assert _message(err) == (
        f'deployments.apps "x" is forbidden: User "{_user(kube, "reader")}" cannot get resource '
        f'"deployments" in API group "apps" in the namespace "{kube.namespace}"')
    with pytest.raises(ApiException) as err:
        core.list_namespace()
    assert _message(err) == (f'namespaces is forbidden: User "{_user(kube, "reader")}" cannot '
                             'list resource "namespaces" in API group "" at the cluster scope')


def test_resource_names_grant_named_objects_only(kube: Kube) -> None:
    api = _as(kube, "named", {"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["a"], "verbs": ["get", "list", "update"]})
    for name in ("a", "b"):
        kube.core.create_namespaced_config_map(kube.namespace, configmap(name))
    core = client.CoreV1Api(api)
    assert core.read_namespaced_config_map("a", kube.namespace).metadata.name == "a"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("b", kube.namespace)
    assert _message(err).startswith('configmaps "b" is forbidden: ')
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(kube.namespace)  # a list names nothing
    assert err.value.status == 403
    # ... unless it selects the one name, as the apiserver reads a metadata.name field selector
    one = core.list_namespaced_config_map(kube.namespace, field_selector="metadata.name=a")
    assert [c.metadata.name for c in one.items] == ["a"]


def test_subresources_and_wildcards(kube: Kube) -> None:
    api = _as(kube, "scaler", {"apiGroups": ["apps"], "resources": ["*/scale"],
                               "verbs": ["get", "patch"]},
              {"apiGroups": ["*"], "resources": ["leases"], "verbs": ["*"]})
    kube.apps.create_namespaced_deployment(kube.namespace, deployment("web"))
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment_scale("web", kube.namespace, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment_scale("web", kube.namespace).spec.replicas == 3
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", kube.namespace)
    assert err.value.status == 403
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_status("web", kube.namespace, {"status": {}})
    assert _message(err).endswith(f'cannot patch resource "deployments/status" in API group '
                                  f'"apps" in the namespace "{kube.namespace}"')
    client.CoordinationV1Api(api).create_namespaced_lease(kube.namespace, {
        "metadata": {"name": "leader"}, "spec": {"holderIdentity": "me"}})


def test_a_cluster_role_binding_grants_in_every_namespace(kube: Kube,
                                                          other_namespace: str) -> None:
    api = _as(kube, "watcher")
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException):
        core.list_pod_for_all_namespaces()
    binding = f"{kube.namespace}-watcher-view"
    _rbac(kube).create_cluster_role_binding({
        "metadata": {"name": binding},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "watcher", "namespace": kube.namespace}]})
    try:
        core.list_pod_for_all_namespaces()
        core.list_namespaced_config_map(other_namespace)
        with pytest.raises(ApiException):  # view does not read secrets
            core.list_namespaced_secret(other_namespace)
    finally:
        _rbac(kube).delete_cluster_role_binding(binding)


def test_a_cluster_role_bound_in_a_namespace_grants_there_only(kube: Kube,
                                                               other_namespace: str) -> None:
    api = _as(kube, "editor")
    _bind(kube, "editor", "edit", kind="ClusterRole")
    core = client.CoreV1Api(api)
    core.create_namespaced_secret(kube.namespace, {"metadata": {"name": "s"}})
    with pytest.raises(ApiException) as err:
        core.list_namespaced_secret(other_namespace)
    assert err.value.status == 403


def test_a_binding_to_a_missing_role_is_named_in_the_denial(kube: Kube) -> None:
    api = _as(kube, "orphan")
    _bind(kube, "orphan", "missing")
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).list_namespaced_pod(kube.namespace)
    assert _message(err).endswith(
        f'in the namespace "{kube.namespace}": RBAC: role.{RBAC} "missing" not found')


def test_a_service_account_token_secret_is_filled_and_works(kube: Kube) -> None:
    _service_account(kube, "legacy")
    _role(kube, "legacy", {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]})
    _bind(kube, "legacy", "legacy")
    kube.core.create_namespaced_secret(kube.namespace, {
        "metadata": {"name": "legacy-token",
                     "annotations": {"kubernetes.io/service-account.name": "legacy"}},
        "type": "kubernetes.io/service-account-token"})
    secret = kube.core.read_namespaced_secret("legacy-token", kube.namespace)
    sa = kube.core.read_namespaced_service_account("legacy", kube.namespace)
    assert secret.metadata.annotations["kubernetes.io/service-account.uid"] == sa.metadata.uid
    assert base64.b64decode(secret.data["namespace"]).decode() == kube.namespace
    assert "ca.crt" in secret.data
    token = base64.b64decode(secret.data["token"]).decode()
    core = client.CoreV1Api(kube.emu.api_client(token))
    core.list_namespaced_config_map(kube.namespace)
    kube.core.delete_namespaced_secret("legacy-token", kube.namespace)
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(kube.namespace)
    assert err.value.status == 401


def test_a_secret_token_needs_the_service_account_annotation(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_secret(kube.namespace, {
            "metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"})
    assert err.value.status == 422


def test_token_request_answers_a_token_that_expires_by_the_emulator_clock(
        lone_kube: Kube) -> None:
    kube = lone_kube
    _service_account(kube, "bot")
    answer, code, _ = kube.core.create_namespaced_service_account_token_with_http_info(
        "bot", kube.namespace, {"spec": {"expirationSeconds": 1200}})
    assert code == 201
    issued = kube.emu.clock.now()
    assert answer.spec.expiration_seconds == 1200 and answer.spec.audiences
    assert abs(answer.status.expiration_timestamp - (issued + timedelta(seconds=1200))) \
        < timedelta(seconds=5)
    auth = client.AuthenticationV1Api(kube.emu.api_client(answer.status.token))
    me = auth.create_self_subject_review({}).status.user_info
    assert me.username == f"system:serviceaccount:{kube.namespace}:bot"
    assert me.groups == ["system:serviceaccounts", f"system:serviceaccounts:{kube.namespace}",
                         "system:authenticated"]
    kube.emu.clock.advance(1300)
    with pytest.raises(ApiException) as err:
        auth.create_self_subject_review({})
    assert err.value.status == 401
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_service_account_token(
            "bot", kube.namespace, {"spec": {"expirationSeconds": 60}})
    assert err.value.status == 422
    assert "may not specify a duration less than 10 minutes" in _message(err)


def test_a_deleted_service_accounts_token_is_401(kube: Kube) -> None:
    api = _as(kube, "gone")
    auth = client.AuthorizationV1Api(api)
    review = {"spec": {"nonResourceAttributes": {"path": "/api", "verb": "get"}}}
    assert auth.create_self_subject_access_review(review).status.allowed
    kube.core.delete_namespaced_service_account("gone", kube.namespace)
    with pytest.raises(ApiException) as err:
        auth.create_self_subject_access_review(review)
    assert err.value.status == 401
    _service_account(kube, "gone")  # a new account of the same name is someone else
    with pytest.raises(ApiException) as err:
        auth.create_self_subject_access_review(review)
    assert err.value.status == 401


def test_self_subject_access_review_answers_per_verb(kube: Kube) -> None:
    api = _as(kube, "asker", {"apiGroups": [""], "resources": ["configmaps"],
                              "verbs": ["get", "list"]})
    auth = client.AuthorizationV1Api(api)

    def can(verb: str, resource: str = "configmaps", namespace: str = kube.namespace):
        review, code, _ = auth.create_self_subject_access_review_with_http_info({"spec": {
            "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}}})
        assert code == 201
        return review.status

    allowed = can("list")
    assert allowed.allowed and allowed.reason == (
        f'RBAC: allowed by RoleBinding "asker-asker/{kube.namespace}" of Role "asker" to '
        f'ServiceAccount "asker/{kube.namespace}"')
    assert not can("create").allowed
    assert not can("list", "secrets").allowed
    assert not can("list", namespace="default").allowed
    rules = auth.create_self_subject_rules_review({"spec": {"namespace": kube.namespace}})
    assert ([""], ["configmaps"], ["get", "list"]) in [
        (r.api_groups, r.resources, r.verbs) for r in rules.status.resource_rules]
    admin = client.AuthorizationV1Api(kube.api)
    review = admin.create_subject_access_review({"spec": {
        "user": _user(kube, "asker"), "groups": ["system:authenticated"],
        "resourceAttributes": {"verb": "get", "resource": "configmaps",
                               "namespace": kube.namespace}}})
    assert review.status.allowed


def test_roles_granting_more_than_one_holds_are_refused(kube: Kube) -> None:
    api = _as(kube, "maker", {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"],
                              "verbs": ["create", "update"]},
              {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]})
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(kube.namespace, {"metadata": {"name": "small"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    with pytest.raises(ApiException) as err:
        rbac.create_namespaced_role(kube.namespace, {"metadata": {"name": "grow"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "delete"]},
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s"],
             "verbs": ["get"]}]})
    assert err.value.status == 403
    user = _user(kube, "maker")
    assert _message(err) == (
        f'roles.{RBAC} "grow" is forbidden: user "{user}" (groups=["system:serviceaccounts" '
        f'"system:serviceaccounts:{kube.namespace}" "system:authenticated"]) is attempting to '
        "grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["configmaps"], Verbs:["create" "delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], ResourceNames:["s"], Verbs:["get"]}')
    # Binding: to a role whose rules one holds, yes; to `edit`, no.
    rb = {"roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "small"},
          "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": kube.namespace}]}
    rbac.create_namespaced_role_binding(kube.namespace, {"metadata": {"name": "ok"}, **rb})
    rb["roleRef"] = {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"}
    with pytest.raises(ApiException) as err:
        rbac.create_namespaced_role_binding(kube.namespace, {"metadata": {"name": "no"}, **rb})
    assert err.value.status == 403
    assert _message(err).startswith(f'rolebindings.{RBAC} "no" is forbidden: user "{user}"')


def test_escalate_and_bind_verbs_lift_the_checks(kube: Kube) -> None:
    api = _as(kube, "granter", {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"],
                                "verbs": ["create", "escalate"]},
              {"apiGroups": [RBAC], "resources": ["clusterroles"], "resourceNames": ["edit"],
               "verbs": ["bind"]})
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role(kube.namespace, {"metadata": {"name": "big"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    subjects = [{"kind": "ServiceAccount", "name": "x", "namespace": kube.namespace}]
    rbac.create_namespaced_role_binding(kube.namespace, {
        "metadata": {"name": "edit"}, "subjects": subjects,
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"}})
    with pytest.raises(ApiException) as err:  # bind is for `edit` only
        rbac.create_namespaced_role_binding(kube.namespace, {
            "metadata": {"name": "admin"}, "subjects": subjects,
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "admin"}})
    assert err.value.status == 403


def test_discovery_works_for_a_service_account(kube: Kube) -> None:
    api = _as(kube, "browser", {"apiGroups": [""], "resources": ["configmaps"],
                                "verbs": ["list"]})
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    dyn = dynamic.DynamicClient(api)
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    assert [c.metadata.name for c in configmaps.get(namespace=kube.namespace).items] == ["a"]
    assert client.VersionApi(api).get_code().minor == "33"


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_non_resource_paths_and_the_anonymous_user(lone_kube: Kube) -> None:
    emu = lone_kube.emu
    assert _get(f"{emu.url}/api", "not-a-token")[0] == 401
    emu.anonymous_user = "system:anonymous"
    assert _get(f"{emu.url}/version")[0] == 200  # system:public-info-viewer
    code, body = _get(f"{emu.url}/api")
    assert (code, body["message"]) == (
        403, 'forbidden: User "system:anonymous" cannot get path "/api"')
    assert _get(f"{emu.url}/api/v1/namespaces")[0] == 403
    emu.anonymous_user = None
    assert _get(f"{emu.url}/version")[0] == 401


def test_kubectl_as_a_service_account(kube: Kube, kubectl: str) -> None:
    _as(kube, "cli", {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]})
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([kubectl, "--kubeconfig", str(kube.kubeconfig),
                               f"--as={_user(kube, 'cli')}", *args],
                              capture_output=True, text=True, timeout=60)

    assert "a" in run("get", "configmaps", "-o", "name").stdout
    denied = run("get", "secrets")
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        f'Error from server (Forbidden): secrets is forbidden: User "{_user(kube, "cli")}" '
        f'cannot list resource "secrets" in API group "" in the namespace "{kube.namespace}"')
    assert run("api-resources", "-o", "name").returncode == 0  # discovery as the account


def test_impersonation_needs_the_impersonate_verb(kube: Kube) -> None:
    api = _as(kube, "plain")
    api.default_headers["Impersonate-User"] = "admin"
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).list_namespace()
    assert _message(err) == (f'users "admin" is forbidden: User "{_user(kube, "plain")}" cannot '
                             'impersonate resource "users" in API group "" at the cluster scope')

"""The RBAC authorizer as pure functions over PolicyRules and the store's bindings.

Each function follows its counterpart in kubernetes/kubernetes, so that a test proving a Role
"enough, and not more than enough" here proves it on a real cluster
(https://kubernetes.io/docs/reference/access-authn-authz/rbac/):

- `rule_allows`: `pkg/apis/rbac/v1/evaluation_helpers.go` (verbs and API groups with "*", resources
  with "*" and "*/subresource", resourceNames matching only requests that carry a name,
  nonResourceURLs with a trailing "*").
- `authorize`, `rules_for`: `plugin/pkg/auth/authorizer/rbac/rbac.go` and
  `pkg/registry/rbac/validation/rule.go`: ClusterRoleBindings first, then the RoleBindings of the
  request's namespace; a binding to a missing role is a resolution error, shown after "RBAC:" in
  the reason of a denial.
- `covers`, `compact_string`: `pkg/registry/rbac/validation/policy_comparator.go` and
  `pkg/apis/rbac/v1/helpers.go`, for escalation prevention
  (https://kubernetes.io/docs/concepts/security/rbac-good-practices/#escalate-verb).
- `BOOTSTRAP_*`: the default roles of
  https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings
  (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`), admin/edit/view already flattened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # auth imports this module; the types are for annotations only
    from .auth import Attributes, User
    from .store import Store

Rule = dict[str, Any]  # a PolicyRule as JSON: verbs, apiGroups, resources, resourceNames, ...
GROUP = "rbac.authorization.k8s.io"
ROLES, CLUSTER_ROLES = f"roles.{GROUP}", f"clusterroles.{GROUP}"
BINDINGS, CLUSTER_BINDINGS = f"rolebindings.{GROUP}", f"clusterrolebindings.{GROUP}"
SA_PREFIX = "system:serviceaccount:"


# -- matching a request -----------------------------------------------------------------------
def _resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    for wanted in rule.get("resources") or ():
        if wanted in ("*", combined):
            return True
        if subresource and wanted == f"*/{subresource}":
            return True
    return False


def _url_matches(pattern: str, path: str) -> bool:
    return pattern in ("*", path) or (pattern.endswith("*") and path.startswith(pattern[:-1]))


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    verbs = rule.get("verbs") or ()
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.is_resource:
        return any(_url_matches(p, attrs.path) for p in rule.get("nonResourceURLs") or ())
    groups = rule.get("apiGroups") or ()
    if "*" not in groups and attrs.api_group not in groups:
        return False
    combined = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    if not _resource_matches(rule, combined, attrs.subresource):
        return False
    names = rule.get("resourceNames") or ()
    # A request without a name (list, watch, create, deletecollection) never matches a rule that
    # names objects; list/watch carry one when their field selector is `metadata.name=...`.
    return not names or attrs.name in names


# -- who a binding is for ---------------------------------------------------------------------
def _applies(user: User, subject: dict[str, Any], binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"{SA_PREFIX}{namespace}:{name}"
    return False


def _describe(subject: dict[str, Any], binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f'ServiceAccount "{subject.get("name")}/{namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def role_rules(store: Store, ref: dict[str, Any], binding_namespace: str) -> tuple[list[Rule], str]:
    """The rules a roleRef points at, or ([], the resolution error) when it points at nothing."""
    kind, name = ref.get("kind"), ref.get("name", "")
    if kind == "Role":
        role = store.get(ROLES, (binding_namespace, name))
        missing = f'role.{GROUP} "{name}" not found'
    elif kind == "ClusterRole":
        role = store.get(CLUSTER_ROLES, ("", name))
        missing = f'clusterrole.{GROUP} "{name}" not found'
    else:
        return [], f'unsupported role reference kind: "{kind}"'
    if role is None:
        return [], missing
    return list(role.get("rules") or []), ""


def _grants(store: Store, user: User, namespace: str) -> Iterator[tuple[str, list[Rule], str]]:
    """(where from, rules, resolution error) for every binding that names the user."""
    for _, crb in store.items(CLUSTER_BINDINGS):
        subject = next((s for s in crb.get("subjects") or () if _applies(user, s, "")), None)
        if subject is None:
            continue
        ref = crb.get("roleRef") or {}
        rules, error = role_rules(store, ref, "")
        yield (f'ClusterRoleBinding "{crb["metadata"]["name"]}" of {ref.get("kind")} '
               f'"{ref.get("name")}" to {_describe(subject, "")}'), rules, error
    if not namespace:
        return
    for (ns, name), rb in store.items(BINDINGS, namespace):
        subject = next((s for s in rb.get("subjects") or () if _applies(user, s, ns)), None)
        if subject is None:
            continue
        ref = rb.get("roleRef") or {}
        rules, error = role_rules(store, ref, ns)
        yield (f'RoleBinding "{name}/{ns}" of {ref.get("kind")} "{ref.get("name")}" to '
               f"{_describe(subject, ns)}"), rules, error


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(errs).Error(): one message alone, several in brackets."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def authorize(store: Store, user: User, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) as RBACAuthorizer.Authorize answers."""
    errors: list[str] = []
    for source, rules, error in _grants(store, user, attrs.namespace):
        if error:
            errors.append(error)
        if any(rule_allows(attrs, rule) for rule in rules):
            return True, f"RBAC: allowed by {source}"
    return False, f"RBAC: {aggregate(errors)}" if errors else ""


def rules_for(store: Store, user: User, namespace: str) -> tuple[list[Rule], list[str]]:
    """Every rule the user holds in the namespace ("" for cluster-wide only), and the errors."""
    rules: list[Rule] = []
    errors: list[str] = []
    for _, found, error in _grants(store, user, namespace):
        rules.extend(found)
        if error:
            errors.append(error)
    return rules, errors


# -- escalation: does what one holds cover what one grants? -------------------------------------
def breakdown(rule: Rule) -> list[Rule]:
    """One rule per (group, resource, verb[, name]) and per (nonResourceURL, verb)."""
    out: list[Rule] = []
    verbs = rule.get("verbs") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in verbs:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                names = rule.get("resourceNames") or []
                out.extend([{**base, "resourceNames": [n]} for n in names] if names else [base])
    for url in rule.get("nonResourceURLs") or []:
        out.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs)
    return out


def _resources_cover(owned: list[str], wanted: list[str]) -> bool:
    if "*" in owned:
        return True
    for path in wanted:
        if path in owned:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owned:
            return False
    return True


def _rule_covers(owner: Rule, sub: Rule) -> bool:
    def has_all(field: str) -> bool:
        own = owner.get(field) or []
        return "*" in own or all(x in own for x in sub.get(field) or [])

    own_names, sub_names = owner.get("resourceNames") or [], sub.get("resourceNames") or []
    names_ok = not own_names or (bool(sub_names) and all(n in own_names for n in sub_names))
    urls_ok = all(any(_url_matches(o, u) for o in owner.get("nonResourceURLs") or [])
                  for u in sub.get("nonResourceURLs") or [])
    return (has_all("verbs") and has_all("apiGroups") and names_ok and urls_ok
            and _resources_cover(owner.get("resources") or [], sub.get("resources") or []))


def covers(owned: list[Rule], wanted: list[Rule]) -> list[Rule]:
    """The parts of `wanted` that no owned rule covers (empty: no escalation)."""
    return [sub for rule in wanted for sub in breakdown(rule)
            if not any(_rule_covers(o, sub) for o in owned)]


def compact(rules: list[Rule]) -> list[Rule]:
    """CompactRules: simple rules (one group, one resource, at most one name) differing only by
    verb become one rule."""
    out: list[Rule] = []
    simple: dict[tuple[str, str, tuple[str, ...]], Rule] = {}
    for rule in rules:
        groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
        names = rule.get("resourceNames") or []
        is_simple = (len(groups) == 1 and len(resources) == 1 and len(names) <= 1
                     and not rule.get("nonResourceURLs"))
        if not is_simple:
            out.append(rule)
            continue
        key = (groups[0], resources[0], tuple(names))
        if key in simple:
            simple[key]["verbs"] = simple[key]["verbs"] + list(rule.get("verbs") or [])
        else:
            simple[key] = {**rule, "verbs": list(rule.get("verbs") or [])}
    return out + list(simple.values())


def go_quote(values: list[str] | tuple[str, ...]) -> str:
    """Go's `%q` of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


def compact_string(rule: Rule) -> str:
    parts = [f"{label}:{go_quote(rule[field])}" for field, label in (
        ("apiGroups", "APIGroups"), ("resources", "Resources"),
        ("nonResourceURLs", "NonResourceURLs"), ("resourceNames", "ResourceNames"),
        ("verbs", "Verbs")) if rule.get(field)]
    return "{" + ", ".join(parts) + "}"


def escalation_message(user: User, missing: list[Rule], errors: list[str]) -> str:
    lines = sorted({compact_string(r) for r in compact(missing)})
    msg = (f'user "{user.name}" (groups={go_quote(user.groups)}) is attempting to grant RBAC '
           "permissions not currently held:\n" + "\n".join(lines))
    if errors:
        msg += f"; resolution errors: [{aggregate(errors)}]"
    return msg


# -- the default roles ---------------------------------------------------------------------------
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
READ_WRITE = sorted(READ + WRITE)


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> Rule:
    return {"verbs": sorted(verbs), "apiGroups": groups, "resources": sorted(resources)}


def _urls(*urls: str) -> Rule:
    return {"verbs": ["get"], "nonResourceURLs": sorted(urls)}


_VIEW = [
    _rule(READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims",
                       "persistentvolumeclaims/status", "pods", "replicationcontrollers",
                       "replicationcontrollers/scale", "serviceaccounts", "services",
                       "services/status"]),
    _rule(READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log",
                       "pods/status", "replicationcontrollers/status", "resourcequotas",
                       "resourcequotas/status"]),
    _rule(READ, [""], ["namespaces"]),
    _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                           "deployments/scale", "deployments/status", "replicasets",
                           "replicasets/scale", "replicasets/status", "statefulsets",
                           "statefulsets/scale", "statefulsets/status"]),
    _rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]
_EDIT = [
    _rule(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                       "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                        "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                        "services/proxy"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback",
                            "deployments/scale", "replicasets", "replicasets/scale",
                            "statefulsets", "statefulsets/scale"]),
    _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
    _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    _rule(READ_WRITE, ["coordination.k8s.io"], ["leases"]),
]
_ADMIN = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule(READ_WRITE, [GROUP], ["rolebindings", "roles"]),
]
_DISCOVERY = ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
              "/openapi/*", "/readyz", "/version", "/version/")
_PUBLIC_INFO = ("/healthz", "/livez", "/readyz", "/version", "/version/")

BOOTSTRAP_CLUSTER_ROLES: dict[str, list[Rule]] = {
    "cluster-admin": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                      {"verbs": ["*"], "nonResourceURLs": ["*"]}],
    "admin": _ADMIN + _EDIT + _VIEW,
    "edit": _EDIT + _VIEW,
    "view": _VIEW,
    "system:discovery": [_urls(*_DISCOVERY)],
    "system:public-info-viewer": [_urls(*_PUBLIC_INFO)],
    "system:basic-user": [
        _rule(["create"], ["authorization.k8s.io"],
              ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])],
}
# ClusterRoleBinding name (= its ClusterRole) -> groups bound.
BOOTSTRAP_CLUSTER_BINDINGS: dict[str, tuple[str, ...]] = {
    "cluster-admin": ("system:masters",),
    "system:discovery": ("system:authenticated",),
    "system:basic-user": ("system:authenticated",),
    "system:public-info-viewer": ("system:authenticated", "system:unauthenticated"),
}
BOOTSTRAP_META = {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                  "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def bootstrap_objects() -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource plural, object) for the default ClusterRoles and ClusterRoleBindings."""
    for name, rules in BOOTSTRAP_CLUSTER_ROLES.items():
        yield "clusterroles", {"metadata": {"name": name, **BOOTSTRAP_META}, "rules": rules}
    for name, groups in BOOTSTRAP_CLUSTER_BINDINGS.items():
        yield "clusterrolebindings", {
            "metadata": {"name": name, **BOOTSTRAP_META},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups]}

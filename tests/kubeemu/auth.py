"""Who is asking, and may they: authentication and authorization of every request.

Authentication (https://kubernetes.io/docs/reference/access-authn-authz/authentication/): bearer
tokens, the admin token of the kubeconfig (group `system:masters`) and ServiceAccount tokens
(`tokens.py`). A request without credentials is whoever `Emulator.anonymous_user` says: "admin"
(the default, since kubectl sends no token over plain HTTP), "system:anonymous" (as a real
server with anonymous auth on) or None (401).

Authorization (https://kubernetes.io/docs/reference/access-authn-authz/authorization/):
`system:masters` may do anything, as the apiserver's privileged-group authorizer allows; everyone
else is decided by RBAC (`rbac.py`), and a denial is a 403 whose message is the apiserver's
(`forbidden_message`, from `endpoints/handlers/responsewriters/errors.go`).

Escalation prevention (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping)
is an admission hook on roles and bindings: it needs the requesting user, which the HTTP handler
sets for the duration of the request with `acting_as` (a thread-local: one thread per request).
Writes made in-process (controllers, bootstrap) have no user and are the apiserver's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import rbac
from .store import ApiError, Obj
from .tokens import ServiceAccountTokens

if TYPE_CHECKING:
    from .emulator import Emulator
    from .resources import Resource


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_master(self) -> bool:
        return "system:masters" in self.groups


ADMIN = User("admin", ("system:masters", "system:authenticated"))
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))
SA_PREFIX = "system:serviceaccount:"


def service_account_user(namespace: str, name: str, uid: str = "",
                         extra: dict[str, list[str]] | None = None) -> User:
    return User(f"system:serviceaccount:{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                 "system:authenticated"), uid, extra or {})


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as the RBAC authorizer sees it."""

    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""  # for non-resource requests

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


# -- the user of the request being served ----------------------------------------------------------
_local = threading.local()


@contextmanager
def acting_as(user: User) -> Iterator[None]:
    """Make `user` the current user of this thread (the HTTP handler's, for one request)."""
    before = getattr(_local, "user", None)
    _local.user = user
    try:
        yield
    finally:
        _local.user = before


def current_user() -> User | None:
    """The user of the request this thread serves; None for the emulator's own writes."""
    return getattr(_local, "user", None)


class Authorizer:
    """Decides each request; the RBAC rules are read from the emulator's own store."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.service_accounts = ServiceAccountTokens(emulator)
        emulator.registry.admission.append(self.service_accounts.admit_secret)
        emulator.registry.admission.append(self.admit_rbac)

    def bootstrap(self) -> None:
        """The default ClusterRoles and ClusterRoleBindings a new cluster has."""
        for plural, obj in rbac.bootstrap_objects():
            res = self.emu.catalogue.find(rbac.GROUP, "v1", plural)
            assert res is not None
            if self.emu.store.get(res.key, ("", obj["metadata"]["name"])) is None:
                self.emu.registry.create(res, "", obj)

    # -- authentication -------------------------------------------------------------------------
    def anonymous(self) -> User | None:
        return {"admin": ADMIN, "system:anonymous": ANONYMOUS}.get(self.emu.anonymous_user or "")

    def authenticate(self, token: str) -> User | None:
        if self.emu.tokens.get(token) == "admin":
            return ADMIN
        who = self.service_accounts.identify(token)
        if who is None:
            return None
        return service_account_user(who.namespace, who.name, who.uid, who.extra)

    def impersonate(self, user: User, users: list[str], groups: list[str]) -> User:
        """Who a request with `Impersonate-User`/`Impersonate-Group` headers (kubectl --as,
        --as-group) acts as, if `user` may impersonate them (the apiserver's impersonation filter;
        `Impersonate-Extra-*` and `Impersonate-Uid` are not read here)."""
        if not users and not groups:
            return user
        if not users:
            raise ApiError(500, "InternalError", "Internal error occurred: requested "
                           f"{groups} without impersonating a user")
        name = users[-1]
        asks: list[Attributes] = []
        _, _, sa = name.partition(SA_PREFIX)
        sa_namespace, _, sa_name = sa.partition(":")
        if name.startswith(SA_PREFIX) and sa_namespace and sa_name:
            asks.append(Attributes("impersonate", "", "serviceaccounts", "", sa_name, sa_namespace))
            implied = list(service_account_user(sa_namespace, sa_name).groups[:2])
        else:
            asks.append(Attributes("impersonate", "", "users", "", name))
            implied = []
        asks += [Attributes("impersonate", "", "groups", "", g) for g in groups]
        for attrs in asks:
            allowed, reason = self.decide(user, attrs)
            if not allowed:
                message = forbidden_message(user, attrs)
                raise ApiError(403, "Forbidden", f"{message}: {reason}" if reason else message,
                               forbidden_details("", attrs.resource, attrs.name))
        chosen = list(groups) if groups else implied
        if name != ANONYMOUS.name and not {"system:authenticated",
                                           "system:unauthenticated"} & set(chosen):
            chosen.append("system:authenticated")
        return User(name, tuple(chosen))

    # -- authorization --------------------------------------------------------------------------
    def decide(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) as the apiserver's authorizer chain answers."""
        if user.is_master:
            return True, ""
        return rbac.authorize(self.emu.store, user, attrs)

    def denial(self, user: User, attrs: Attributes) -> str | None:
        """None when allowed, else the message a real apiserver gives in its 403."""
        allowed, reason = self.decide(user, attrs)
        if allowed:
            return None
        message = forbidden_message(user, attrs)
        return f"{message}: {reason}" if reason else message

    # -- escalation prevention, as admission on RBAC objects --------------------------------------
    def admit_rbac(self, res: Resource, old: Obj | None, new: Obj) -> Obj:
        user = current_user()
        if res.group != rbac.GROUP or user is None or user.is_master:
            return new
        if old is not None and _only_gc_fields_change(old, new):
            return new
        meta = new["metadata"]
        namespace = meta.get("namespace", "") if res.namespaced else ""
        if res.plural in ("roles", "clusterroles"):
            # The request's name: none on a create (POST to the collection).
            name = meta["name"] if old is not None else ""
            if self.decide(user, Attributes("escalate", rbac.GROUP, res.plural, "", name,
                                            namespace))[0]:
                return new
            held, errors = rbac.rules_for(self.emu.store, user, namespace)
            if new.get("aggregationRule") and rbac.covers(held, rbac.BOOTSTRAP_CLUSTER_ROLES[
                    "cluster-admin"]):
                raise _forbidden(res, meta["name"], "must have cluster-admin privileges to use "
                                 "the aggregationRule")
            missing = rbac.covers(held, new.get("rules") or [])
            if missing:
                raise _forbidden(res, meta["name"], rbac.escalation_message(user, missing, errors))
            return new
        ref = new.get("roleRef") or {}
        if old is not None and (old.get("roleRef") or {}) != ref:
            value = (f'rbac.RoleRef{{APIGroup:"{ref.get("apiGroup", "")}", '
                     f'Kind:"{ref.get("kind", "")}", Name:"{ref.get("name", "")}"}}')
            raise ApiError(422, "Invalid", f'{res.kind}.{rbac.GROUP} "{meta["name"]}" is invalid: '
                           f"roleRef: Invalid value: {value}: cannot change roleRef",
                           {"name": meta["name"], "group": rbac.GROUP, "kind": res.kind,
                            "causes": [{"reason": "FieldValueInvalid", "field": "roleRef",
                                        "message": "cannot change roleRef"}]})
        target = {"Role": "roles", "ClusterRole": "clusterroles"}.get(ref.get("kind", ""), "")
        if target and self.decide(user, Attributes("bind", ref.get("apiGroup", ""), target, "",
                                                   ref.get("name", ""), namespace))[0]:
            return new
        rules, error = rbac.role_rules(self.emu.store, ref, namespace)
        if error:
            name = ref.get("name", "")
            raise ApiError(404, "NotFound", f'{target}.{rbac.GROUP} "{name}" not found',
                           {"name": name, "group": rbac.GROUP, "kind": target})
        held, errors = rbac.rules_for(self.emu.store, user, namespace)
        missing = rbac.covers(held, rules)
        if missing:
            raise _forbidden(res, meta["name"], rbac.escalation_message(user, missing, errors))
        return new


def _only_gc_fields_change(old: Obj, new: Obj) -> bool:
    """IsOnlyMutatingGCFields: ownerReferences and finalizers may change without the check."""
    def rest(obj: Obj) -> Obj:
        meta = {k: v for k, v in obj["metadata"].items()
                if k not in ("ownerReferences", "finalizers", "resourceVersion", "managedFields")}
        return {**obj, "metadata": meta}

    return rest(old) == rest(new)


def _forbidden(res: Resource, name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'{res.key} "{name}" is forbidden: {why}',
                    forbidden_details(res.group, res.plural, name))


def forbidden_details(group: str, resource: str, name: str) -> dict[str, Any]:
    """metav1.StatusDetails of a Forbidden error, its empty fields omitted."""
    details = {"name": name, "group": group, "kind": resource}
    return {k: v for k, v in details.items() if v}


def forbidden_message(user: User, attrs: Attributes) -> str:
    """apierrors.NewForbidden(...) of responsewriters.forbiddenMessage(attrs)."""
    if not attrs.is_resource:
        return f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    scope = (f'in the namespace "{attrs.namespace}"' if attrs.namespace
             else "at the cluster scope")
    return (f'{subject} is forbidden: User "{user.name}" cannot {attrs.verb} resource '
            f'"{resource}" in API group "{attrs.api_group}" {scope}')

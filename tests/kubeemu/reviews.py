"""Create-only resources that store nothing: access and rules reviews, whoami, token reviews and
the TokenRequest subresource. Each answers its request with the same object and a status (201).

- authorization.k8s.io/v1 `SelfSubjectAccessReview`, `SubjectAccessReview`,
  `LocalSubjectAccessReview`, `SelfSubjectRulesReview`
  (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access);
- authentication.k8s.io/v1 `SelfSubjectReview` (`kubectl auth whoami`) and `TokenReview`
  (https://kubernetes.io/docs/reference/access-authn-authz/authentication/);
- `serviceaccounts/token` (TokenRequest, `tokens.py`).

Who may create them is decided before, by RBAC, as for any resource (`system:basic-user` lets
every authenticated user review itself).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import rbac
from .auth import Attributes, User
from .store import ApiError, Obj

if TYPE_CHECKING:
    from .auth import Authorizer
    from .resources import Resource

AUTHZ, AUTHN = "authorization.k8s.io", "authentication.k8s.io"


def serves(res: Resource, subresource: str) -> bool:
    """Whether a create of this resource is answered here rather than stored."""
    if subresource:
        return res.key == "serviceaccounts" and subresource == "token"
    return res.group in (AUTHZ, AUTHN)


def _invalid(kind: str, group: str, name: str, field: str, value: Any, detail: str) -> ApiError:
    message = f"Invalid value: {json.dumps(value)}: {detail}"
    return ApiError(422, "Invalid", f'{kind}.{group} "{name}" is invalid: {field}: {message}',
                    {"name": name, "group": group, "kind": kind,
                     "causes": [{"reason": "FieldValueInvalid", "field": field,
                                 "message": message}]})


def _answer(res: Resource, body: Obj, status: Obj) -> Obj:
    return {**body, "kind": res.kind, "apiVersion": res.api_version,
            "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None},
            "status": status}


def _user_info(user: User) -> Obj:
    info: Obj = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    if user.extra:
        info["extra"] = user.extra
    return info


def _access(authorizer: Authorizer, user: User, spec: Obj, kind: str) -> Obj:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        raise _invalid(kind, AUTHZ, "", "spec.nonResourceAttributes", non_resource,
                       "cannot be specified in combination with resourceAttributes")
    if resource is None and non_resource is None:
        raise _invalid(kind, AUTHZ, "", "spec.resourceAttributes", None,
                       "exactly one of nonResourceAttributes or resourceAttributes must be "
                       "specified")
    if resource is not None:
        attrs = Attributes(resource.get("verb", ""), resource.get("group", ""),
                           resource.get("resource", ""), resource.get("subresource", ""),
                           resource.get("name", ""), resource.get("namespace", ""))
    else:
        assert non_resource is not None
        attrs = Attributes(non_resource.get("verb", ""), path=non_resource.get("path", ""))
    allowed, reason = authorizer.decide(user, attrs)
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def _subject(spec: Obj) -> User:
    if not spec.get("user") and not spec.get("groups"):
        raise _invalid("SubjectAccessReview", AUTHZ, "", "spec.user", "",
                       "at least one of user or group must be specified")
    return User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""),
                spec.get("extra") or {})


def create(authorizer: Authorizer, user: User, res: Resource, namespace: str, name: str,
           subresource: str, body: Obj) -> Obj:
    """The 201 answer to a create that `serves`."""
    if subresource == "token":
        return authorizer.service_accounts.request(namespace, name, body)
    spec = body.get("spec") or {}
    if res.plural == "selfsubjectaccessreviews":
        return _answer(res, body, _access(authorizer, user, spec, res.kind))
    if res.plural == "subjectaccessreviews":
        return _answer(res, body, _access(authorizer, _subject(spec), spec, res.kind))
    if res.plural == "localsubjectaccessreviews":
        attrs_ns = (spec.get("resourceAttributes") or {}).get("namespace", "")
        if spec.get("nonResourceAttributes") is not None or attrs_ns != namespace:
            raise _invalid(res.kind, AUTHZ, "", "spec.resourceAttributes.namespace", attrs_ns,
                           "must match metadata.namespace")
        return _answer(res, body, _access(authorizer, _subject(spec), spec, res.kind))
    if res.plural == "selfsubjectrulesreviews":
        rules, errors = rbac.rules_for(authorizer.emu.store, user, spec.get("namespace", ""))
        status: Obj = {
            "resourceRules": [{k: r[k] for k in ("verbs", "apiGroups", "resources",
                                                 "resourceNames") if r.get(k)}
                              for r in rules if r.get("resources")],
            "nonResourceRules": [{"verbs": r.get("verbs") or [],
                                  "nonResourceURLs": r["nonResourceURLs"]}
                                 for r in rules if r.get("nonResourceURLs")],
            "incomplete": bool(errors)}
        if errors:
            status["evaluationError"] = rbac.aggregate(errors)
        return _answer(res, body, status)
    if res.plural == "selfsubjectreviews":
        return _answer(res, body, {"userInfo": _user_info(user)})
    if res.plural == "tokenreviews":
        who = authorizer.authenticate(str(spec.get("token", "")))
        if who is None:
            return _answer(res, body, {"user": {}, "error": "invalid bearer token"})
        return _answer(res, body, {"authenticated": True, "user": _user_info(who),
                                   "audiences": spec.get("audiences") or [
                                       "https://kubernetes.default.svc.cluster.local"]})
    raise ApiError(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")

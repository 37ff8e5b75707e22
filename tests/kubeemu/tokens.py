"""ServiceAccount tokens: legacy token Secrets, the TokenRequest subresource, who a token is.

Follows https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/ and
https://kubernetes.io/docs/reference/access-authn-authz/authentication/#service-account-tokens:

- A Secret of type `kubernetes.io/service-account-token` annotated
  `kubernetes.io/service-account.name` gets `data.token`, `data.namespace`, `data["ca.crt"]` and the
  `kubernetes.io/service-account.uid` annotation. A real cluster's token controller fills them
  moments after the create; here an admission hook fills them in the create itself. A Secret for a
  ServiceAccount that does not exist stays empty (the real controller deletes it).
- `POST .../serviceaccounts/{name}/token` answers a TokenRequest with `status.token` and
  `status.expirationTimestamp` (`spec.expirationSeconds`, default 3600, at least 600), optionally
  bound to a Pod or Secret (`spec.boundObjectRef`).
- A token authenticates as `system:serviceaccount:<ns>:<name>` in the groups
  `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated` while its
  ServiceAccount (same uid), its Secret (legacy) or bound object exist and, for requested tokens,
  until it expires by the emulator's clock.

Tokens are JWTs with the real claims (`sub`, `kubernetes.io`, `exp`, ... ; the legacy
`kubernetes.io/serviceaccount/*` claims for Secret tokens) so that code reading them sees what it
would on a cluster, but they are signed HS256 with a key of this emulator, not RS256 with the
cluster's service-account key, and no OIDC discovery or JWKS document is served.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from .clock import timestamp
from .store import ApiError, Obj

if TYPE_CHECKING:
    from .emulator import Emulator
    from .resources import Resource

TOKEN_SECRET = "kubernetes.io/service-account-token"
SA_NAME = "kubernetes.io/service-account.name"
SA_UID = "kubernetes.io/service-account.uid"
ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
DEFAULT_EXPIRATION, MIN_EXPIRATION, MAX_EXPIRATION = 3600, 600, 1 << 32
# Stands where the cluster CA would be; nothing here speaks TLS.
CA_CRT = ("-----BEGIN CERTIFICATE-----\nTUlJQmt1YmVlbXUtaXMtbm90LWEtcmVhbC1jZXJ0aWZpY2F0ZQ==\n"
          "-----END CERTIFICATE-----\n")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Identity(NamedTuple):
    """Whom a valid token stands for; `auth` makes the `User` of it."""

    namespace: str
    name: str
    uid: str
    extra: dict[str, list[str]]


class ServiceAccountTokens:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self._key = secrets.token_bytes(32)

    # -- JWTs -------------------------------------------------------------------------------------
    def _sign(self, claims: dict[str, Any]) -> str:
        head = _b64url(json.dumps({"alg": "HS256", "kid": "kubeemu", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        mac = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64url(mac)}"

    def _claims(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            mac = _unb64url(parts[2])
            expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(),
                                hashlib.sha256).digest()
            if not hmac.compare_digest(mac, expected):
                return None
            claims = json.loads(_unb64url(parts[1]))
        except (ValueError, binascii.Error):
            return None
        return claims if isinstance(claims, dict) else None

    def _service_account(self, namespace: str, name: str, uid: str) -> Obj | None:
        sa = self.emu.store.get("serviceaccounts", (namespace, name))
        if sa is None or sa["metadata"].get("deletionTimestamp"):
            return None
        return sa if not uid or sa["metadata"]["uid"] == uid else None

    # -- who a token is ---------------------------------------------------------------------------
    def identify(self, token: str) -> Identity | None:
        claims = self._claims(token)
        if claims is None:
            return None
        if claims.get("iss") == LEGACY_ISSUER:
            return self._legacy(token, claims)
        info = claims.get("kubernetes.io") or {}
        now = self.emu.clock.now().timestamp()
        if not claims.get("nbf", 0) <= now < claims.get("exp", 0):
            return None
        namespace, sa_ref = info.get("namespace", ""), info.get("serviceaccount") or {}
        sa = self._service_account(namespace, sa_ref.get("name", ""), sa_ref.get("uid", ""))
        if sa is None:
            return None
        extra = {"authentication.kubernetes.io/credential-id": [f"JTI={claims.get('jti')}"]}
        for kind, resource in (("pod", "pods"), ("secret", "secrets")):
            bound = info.get(kind)
            if bound is None:
                continue
            obj = self.emu.store.get(resource, (namespace, bound["name"]))
            if obj is None or obj["metadata"]["uid"] != bound["uid"]:
                return None
            if kind == "pod":
                extra["authentication.kubernetes.io/pod-name"] = [bound["name"]]
                extra["authentication.kubernetes.io/pod-uid"] = [bound["uid"]]
        return Identity(namespace, sa_ref["name"], sa["metadata"]["uid"], extra)

    def _legacy(self, token: str, claims: dict[str, Any]) -> Identity | None:
        namespace = claims.get("kubernetes.io/serviceaccount/namespace", "")
        secret = self.emu.store.get(
            "secrets", (namespace, claims.get("kubernetes.io/serviceaccount/secret.name", "")))
        if secret is None or (secret.get("data") or {}).get("token") != _b64(token):
            return None
        name = claims.get("kubernetes.io/serviceaccount/service-account.name", "")
        sa = self._service_account(
            namespace, name, claims.get("kubernetes.io/serviceaccount/service-account.uid", ""))
        if sa is None:
            return None
        return Identity(namespace, name, sa["metadata"]["uid"], {})

    # -- the token controller, as admission on secrets --------------------------------------------
    def admit_secret(self, res: Resource, old: Obj | None, new: Obj) -> Obj:
        if res.key != "secrets" or new.get("type") != TOKEN_SECRET:
            return new
        meta = new["metadata"]
        annotations = meta.get("annotations") or {}
        if not annotations.get(SA_NAME):
            raise ApiError(422, "Invalid", f'Secret "{meta["name"]}" is invalid: '
                           f"metadata.annotations[{SA_NAME}]: Required value",
                           {"name": meta["name"], "kind": "Secret", "causes": [{
                               "reason": "FieldValueRequired", "message": "Required value",
                               "field": f"metadata.annotations[{SA_NAME}]"}]})
        namespace = meta["namespace"]
        sa = self._service_account(namespace, annotations[SA_NAME], annotations.get(SA_UID, ""))
        data = new.get("data") or {}
        if sa is None or data.get("token"):
            return new
        token = self._sign({
            "iss": LEGACY_ISSUER, "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": meta["name"],
            "kubernetes.io/serviceaccount/service-account.name": sa["metadata"]["name"],
            "kubernetes.io/serviceaccount/service-account.uid": sa["metadata"]["uid"],
            "sub": f"system:serviceaccount:{namespace}:{sa['metadata']['name']}"})
        meta["annotations"] = {**annotations, SA_UID: sa["metadata"]["uid"]}
        new["data"] = {**data, "token": _b64(token), "namespace": _b64(namespace),
                       "ca.crt": _b64(CA_CRT)}
        return new

    # -- TokenRequest -----------------------------------------------------------------------------
    def _invalid(self, name: str, field: str, value: Any, detail: str) -> ApiError:
        return ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: '
                        f"{field}: Invalid value: {json.dumps(value)}: {detail}",
                        {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest",
                         "causes": [{"reason": "FieldValueInvalid", "field": field,
                                     "message": f"Invalid value: {json.dumps(value)}: {detail}"}]})

    def request(self, namespace: str, name: str, body: Obj) -> Obj:
        """The answer to POST serviceaccounts/{name}/token (201)."""
        meta, spec = body.get("metadata") or {}, dict(body.get("spec") or {})
        if meta.get("name") and meta["name"] != name:
            raise self._invalid(name, "metadata.name", meta["name"],
                                "must match the service account name if specified")
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise self._invalid(name, "metadata.namespace", meta["namespace"],
                                "must match the service account namespace if specified")
        seconds = spec.get("expirationSeconds") or DEFAULT_EXPIRATION
        if seconds < MIN_EXPIRATION:
            raise self._invalid(name, "spec.expirationSeconds", seconds,
                                "may not specify a duration less than 10 minutes")
        if seconds > MAX_EXPIRATION:
            raise self._invalid(name, "spec.expirationSeconds", seconds,
                                "may not specify a duration larger than 2^32 seconds")
        sa = self._service_account(namespace, name, "")
        if sa is None:
            raise ApiError(404, "NotFound", f'serviceaccounts "{name}" not found',
                           {"name": name, "kind": "serviceaccounts"})
        now = self.emu.clock.now().replace(microsecond=0)
        expires = now + timedelta(seconds=seconds)
        info: dict[str, Any] = {"namespace": namespace, "serviceaccount": {
            "name": name, "uid": sa["metadata"]["uid"]}}
        ref = spec.get("boundObjectRef")
        if ref:
            info.update(self._bound(namespace, name, ref))
        spec.update(audiences=spec.get("audiences") or [ISSUER], expirationSeconds=seconds)
        token = self._sign({
            "aud": spec["audiences"], "exp": int(expires.timestamp()), "iat": int(now.timestamp()),
            "iss": ISSUER, "jti": str(uuid.uuid4()), "kubernetes.io": info,
            "nbf": int(now.timestamp()), "sub": f"system:serviceaccount:{namespace}:{name}"})
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace,
                             "creationTimestamp": timestamp(now)},
                "spec": spec,
                "status": {"token": token, "expirationTimestamp": timestamp(expires)}}

    def _bound(self, namespace: str, name: str, ref: Obj) -> dict[str, Any]:
        kind, ref_name = ref.get("kind"), ref.get("name", "")
        resource = {"Pod": "pods", "Secret": "secrets"}.get(str(kind))
        if resource is None:
            raise self._invalid(name, "spec.boundObjectRef.kind", kind,
                                'supported values: "Pod", "Secret"')
        obj = self.emu.store.get(resource, (namespace, ref_name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{resource} "{ref_name}" not found',
                           {"name": ref_name, "kind": resource})
        uid = obj["metadata"]["uid"]
        if ref.get("uid") and ref["uid"] != uid:
            raise ApiError(409, "Conflict", f"the UID in the bound object reference "
                           f"({ref['uid']}) does not match the UID in record. The object might "
                           "have been deleted and then recreated")
        return {str(kind).lower(): {"name": ref_name, "uid": uid}}

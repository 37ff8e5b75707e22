"""Who is asking, and may they: authentication and authorization of every request.

Authentication: bearer tokens (the admin token of the kubeconfig; ServiceAccount tokens from
`kubernetes.io/service-account-token` Secrets or the TokenRequest subresource).
Authorization: `system:masters` may do anything (as on a real cluster); everyone else is
authorised by RBAC (https://kubernetes.io/docs/reference/access-authn-authz/rbac/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .emulator import Emulator


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


class Authorizer:
    """Decides each request; the RBAC rules are read from the emulator's own store."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def authenticate(self, token: str) -> User | None:
        name = self.emu.tokens.get(token)
        if name == "admin":
            return ADMIN
        return None

    def denial(self, user: User, attrs: Attributes) -> str | None:
        """None when allowed, else the reason a real apiserver would give in its 403."""
        if user.is_master:
            return None
        return forbidden_message(user, attrs)


def forbidden_message(user: User, attrs: Attributes) -> str:
    if not attrs.is_resource:
        return (f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"')
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    subject = f'{attrs.resource} "{attrs.name}"' if attrs.name else attrs.resource
    if attrs.api_group:
        subject = subject.replace(attrs.resource, f"{attrs.resource}.{attrs.api_group}", 1)
    scope = (f'in the namespace "{attrs.namespace}"' if attrs.namespace
             else "at the cluster scope")
    return (f'{subject} is forbidden: User "{user.name}" cannot {attrs.verb} resource '
            f'"{resource}" in API group "{attrs.api_group}" {scope}')

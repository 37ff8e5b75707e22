"""Ports: one thin module per external system (`kube`, `s3`, `hub`), each speaking its official
client or REST API and raising `ApiError`. Only `shared/` imports them; `functions/` reads through
the context's readers. May import `events`, `settings` and `handlers.readers` (the
records they return); never `runtime` or `cli`."""

from .errors import ApiError

__all__ = ["ApiError"]

"""The HTTP face of `classops serve`: `POST /` for CloudEvents, `OPTIONS /`, health and metrics.

Every replica answers; none runs a handler here. A request is, in order:
1. `OPTIONS`: the CloudEvents webhook abuse-protection handshake. The request names its origin
   (`WebHook-Request-Origin`); a configured one (or any, when `*` is configured) is granted
   with `WebHook-Allowed-Origin` (the origin, or `*`) and `WebHook-Allowed-Rate`. Any other
   is answered 403 without those headers: the spec's refusal is their absence, whatever the
   status. The POSTs that follow are authenticated either way.
2. authenticated: `Authorization: Bearer <token>` (constant-time compare) against `token()`,
   the current one (a rotated Secret is read again by the caller's cache), else 401;
3. 413 on a declared or actual length over 1 MiB, before the body is read (and, once the
   event is read, after 5, if its stored form would not fit its ConfigMap with room for its
   outcome: `Entry.too_large`; a 503 would have the sender retry what never fits);
4. the raw request checked (`shared.runtime.webhook.checks`: 415 / 400 with every problem);
5. read by the SDK, and its data checked against the catalogue (400 with every problem);
6. put into the inbox: 202 (`duplicate: true` when (source, id) was there already). An API
   error there is 503 with Retry-After: the sender retries, and dedupe makes that safe. So is
   a full inbox (`max_pending` entries wait to run): 503 with Retry-After, the CloudEvents
   webhook spec's "later", never a silent drop; a duplicate of a kept event is still 202.
Decoding and running stay apart: no handler runs in a request, so a handler's ValueError can
never be answered as "not a CloudEvent".
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.exceptions import BaseCloudEventException
from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from shared.events import EventDataError, UnknownEventType, typed
from shared.logs import Bound, bind
from shared.ports.errors import ApiError
from shared.runtime.http import EVENT_ID
from shared.runtime.inbox.store import Inbox
from shared.runtime.webhook.checks import MAX_BODY, check


@dataclass(frozen=True)
class Webhook:
    """What the webhook answers from: where events go, how a sender is checked, what is served."""

    inbox: Inbox
    token: Callable[[], str | None]  # the current bearer token (None: every POST is 401)
    handled: Collection[str]  # event types some handler is registered for
    registry: CollectorRegistry  # /metrics serves it; the webhook's own counter goes in it
    ready: Callable[[], tuple[bool, str]]  # /readyz: (ready, why)
    allowed_rate: int = 120  # WebHook-Allowed-Rate granted by the OPTIONS handshake
    allowed_origins: Collection[str] = ()  # lowercase; "*": any; (): none
    max_pending: int = 10_000  # over it a new event is 503 with Retry-After


def create_app(webhook: Webhook, log: logging.Logger | None = None) -> Flask:
    """The webhook's Flask app: one `Routes` method per method and path."""
    routes = Routes(webhook, bind(log or logging.getLogger("classops.webhook")))
    app = Flask("classops")
    app.add_url_rule("/", "handshake", routes.handshake, methods=["OPTIONS"])
    app.add_url_rule("/", "receive", routes.receive, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", routes.healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", routes.readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", routes.metrics, methods=["GET"])
    return app


class Refused(Exception):
    """A POST answered with an error: the first step of `Routes.receive` that turned it down."""

    def __init__(self, code: int, problems: list[str], **headers: str) -> None:
        super().__init__(code, problems)
        self.code, self.problems, self.headers = code, problems, headers


class Routes:
    """The webhook's answers, each counted by status code in `classops_webhook_requests`."""

    def __init__(self, webhook: Webhook, log: Bound) -> None:
        self.webhook, self.log = webhook, log
        self.answers = Counter("classops_webhook_requests", "Webhook answers by status code",
                               ["code"], registry=webhook.registry)

    def answer(self, code: int, body: dict[str, Any], **headers: str) -> Response:
        self.answers.labels(str(code)).inc()
        resp = jsonify(body)
        resp.status_code = code
        resp.headers.update(headers)
        return resp

    # -- OPTIONS / : the abuse-protection handshake ---------------------------------------------
    def handshake(self) -> Response:
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return self.answer(400, {"problems": ["header WebHook-Request-Origin is missing"]})
        allowed = self.webhook.allowed_origins
        if "*" in allowed:
            granted = "*"
        elif origin.strip().lower() in allowed:
            granted = origin
        else:
            self.log.warning("handshake refused", extra={"origin": origin})
            return self.answer(403, {"problems": [f"origin {origin!r} is not allowed to deliver "
                                                  f"here"]}, Allow="POST, OPTIONS")
        return self.answer(200, {}, **{"WebHook-Allowed-Origin": granted,
                                       "WebHook-Allowed-Rate": str(self.webhook.allowed_rate),
                                       "Allow": "POST, OPTIONS"})

    # -- POST / : an event into the inbox (steps 2-6 of the module docstring) -------------------
    def receive(self) -> Response:
        try:
            self._authenticate()
            event, mode = self._event(self._body())
            request.environ[EVENT_ID] = event.get_id()  # for the access log line
            new = self._put(event)
        except Refused as no:
            return self.answer(no.code, {"problems": no.problems}, **no.headers)
        self.log.info("event %s", "received" if new else "duplicate",
                      extra={"event_id": event.get_id(), "source": event.get_source(),
                             "event_type": event.get_type(), "mode": mode})
        return self.answer(202, {"id": event.get_id(), "source": event.get_source(),
                                 "duplicate": not new})

    def _authenticate(self) -> None:
        given, expected = request.headers.get("Authorization", ""), self.webhook.token()
        if not (expected and given.startswith("Bearer ") and
                hmac.compare_digest(given[7:].encode(), expected.encode())):
            raise Refused(401, ["a valid bearer token is required"],
                          **{"WWW-Authenticate": "Bearer"})

    def _body(self) -> bytes:
        """The body, refused before it is read when it declares more than MAX_BODY bytes."""
        if (request.content_length or 0) > MAX_BODY:
            raise Refused(413, [f"the body is over {MAX_BODY} bytes"])
        body = request.stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise Refused(413, [f"the body is over {MAX_BODY} bytes"])
        return body

    def _event(self, body: bytes) -> tuple[BaseCloudEvent, str]:
        """The CloudEvent and its mode (binary or structured), its data checked."""
        headers = dict(request.headers)
        verdict = check(headers, body, self.webhook.handled)
        if verdict.status != 200:
            raise Refused(verdict.status, verdict.problems)
        try:
            event = from_http_event(HTTPMessage(headers, body))
            typed(event)
        except EventDataError as err:
            raise Refused(400, err.problems) from None
        except (BaseCloudEventException, UnknownEventType, ValueError, TypeError) as err:
            raise Refused(400, [f"not a valid CloudEvent: {err}"]) from None
        return event, verdict.mode

    def _put(self, event: BaseCloudEvent) -> bool:
        """Into the inbox; False for a duplicate. Too large for its ConfigMap is 413; a full
        inbox (a duplicate of a kept event aside) or an API error is 503 with Retry-After."""
        inbox, most = self.webhook.inbox, self.webhook.max_pending
        entry = inbox.entry(event)
        if (why := entry.too_large()) is not None:
            raise Refused(413, [why])
        try:
            if (waiting := inbox.pending()) >= most and inbox.get(
                    event.get_source(), event.get_id()) is None:
                self.log.warning("inbox full", extra={"pending": waiting,
                                                      "event_id": event.get_id()})
                raise Refused(503, [f"{waiting} events wait to run (at most {most}), retry "
                                    f"later"], **{"Retry-After": "30"})
            return inbox.put(entry)
        except ApiError as err:
            self.log.warning("inbox unavailable: %s", err)
            raise Refused(503, ["the inbox is unavailable, retry later"],
                          **{"Retry-After": "5"}) from None

    # -- GET: health, readiness, metrics --------------------------------------------------------
    def healthz(self) -> Response:
        return self.answer(200, {"ok": True})

    def readyz(self) -> Response:
        ok, why = self.webhook.ready()
        return self.answer(200 if ok else 503, {"ok": ok, "reason": why})

    def metrics(self) -> Response:
        return Response(generate_latest(self.webhook.registry), mimetype=CONTENT_TYPE_LATEST)

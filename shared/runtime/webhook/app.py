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

from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.exceptions import BaseCloudEventException
from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from shared.events import EventDataError, UnknownEventType, typed
from shared.logs import bind
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
    inbox, token, handled, registry, ready = (webhook.inbox, webhook.token, webhook.handled,
                                              webhook.registry, webhook.ready)
    allowed_rate, allowed_origins, max_pending = (webhook.allowed_rate, webhook.allowed_origins,
                                                  webhook.max_pending)
    app = Flask("classops")
    logger = bind(log or logging.getLogger("classops.webhook"))
    answers = Counter("classops_webhook_requests", "Webhook answers by status code", ["code"],
                      registry=registry)

    def answer(code: int, body: dict[str, Any], **headers: str) -> Response:
        answers.labels(str(code)).inc()
        resp = jsonify(body)
        resp.status_code = code
        resp.headers.update(headers)
        return resp

    @app.route("/", methods=["OPTIONS"])
    def handshake() -> Response:
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return answer(400, {"problems": ["header WebHook-Request-Origin is missing"]})
        if "*" in allowed_origins:
            granted = "*"
        elif origin.strip().lower() in allowed_origins:
            granted = origin
        else:
            logger.warning("handshake refused", extra={"origin": origin})
            return answer(403, {"problems": [f"origin {origin!r} is not allowed to deliver "
                                             f"here"]}, Allow="POST, OPTIONS")
        return answer(200, {}, **{"WebHook-Allowed-Origin": granted,
                                  "WebHook-Allowed-Rate": str(allowed_rate),
                                  "Allow": "POST, OPTIONS"})

    @app.route("/", methods=["POST"])
    def receive() -> Response:
        given, expected = request.headers.get("Authorization", ""), token()
        if not (expected and given.startswith("Bearer ") and
                hmac.compare_digest(given[7:].encode(), expected.encode())):
            return answer(401, {"problems": ["a valid bearer token is required"]},
                          **{"WWW-Authenticate": "Bearer"})
        if (request.content_length or 0) > MAX_BODY:
            return answer(413, {"problems": [f"the body is over {MAX_BODY} bytes"]})
        body = request.stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return answer(413, {"problems": [f"the body is over {MAX_BODY} bytes"]})
        headers = dict(request.headers)
        verdict = check(headers, body, handled)
        if verdict.status != 200:
            return answer(verdict.status, {"problems": verdict.problems})
        try:
            event = from_http_event(HTTPMessage(headers, body))
            typed(event)
        except EventDataError as err:
            return answer(400, {"problems": err.problems})
        except (BaseCloudEventException, UnknownEventType, ValueError, TypeError) as err:
            return answer(400, {"problems": [f"not a valid CloudEvent: {err}"]})
        request.environ[EVENT_ID] = event.get_id()  # for the access log line
        entry = inbox.entry(event)
        if (why := entry.too_large()) is not None:
            return answer(413, {"problems": [why]})
        try:
            if (waiting := inbox.pending()) >= max_pending and inbox.get(
                    event.get_source(), event.get_id()) is None:
                logger.warning("inbox full", extra={"pending": waiting,
                                                    "event_id": event.get_id()})
                return answer(503, {"problems": [f"{waiting} events wait to run (at most "
                                                 f"{max_pending}), retry later"]},
                              **{"Retry-After": "30"})
            new = inbox.put(entry)
        except ApiError as err:
            logger.warning("inbox unavailable: %s", err)
            return answer(503, {"problems": ["the inbox is unavailable, retry later"]},
                          **{"Retry-After": "5"})
        logger.info("event %s", "received" if new else "duplicate",
                    extra={"event_id": event.get_id(), "source": event.get_source(),
                           "event_type": event.get_type(), "mode": verdict.mode})
        return answer(202, {"id": event.get_id(), "source": event.get_source(),
                            "duplicate": not new})

    @app.get("/healthz")
    def healthz() -> Response:
        return answer(200, {"ok": True})

    @app.get("/readyz")
    def readyz() -> Response:
        ok, why = ready()
        return answer(200 if ok else 503, {"ok": ok, "reason": why})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app

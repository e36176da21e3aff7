"""Webhook push: ``POST /ingest/{topic}`` lets a vendor, a Zapier flow or a script feed mentions.

A request is authenticated with the topic's secret: ``X-Shitstorm-Signature: sha256=<hex>``
is the HMAC-SHA256 of the raw body. The body is one mention object or a JSON array of them in
the replay format (:mod:`monitor.sources.webhook_payload`). A payload is stored whole or not
at all: one bad item rejects the request with a reason that names the item and the field, and
storing is idempotent on ``(source, id)``, so a sender may simply retry.

The push source is configured like any other source (so its mentions have a source name and its
secret a variable), but nothing polls it: the HTTP endpoint in ``monitor/runtime/endpoints.py``
routes its requests to :func:`make_ingest_handler`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, ClassVar

import httpx

from monitor import metrics
from monitor.http_messages import Request, Response
from monitor.models import Mention
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms
from monitor.sources.webhook_payload import PayloadError, parse_mentions

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Shitstorm-Signature"
SIGNATURE_PREFIX = "sha256="
_HEX_DIGITS = frozenset(string.hexdigits)

SecretForTopic = Callable[[str], "str | None"]
StoreMentions = Callable[[str, list[Mention]], int]
IngestHandler = Callable[[Request, dict[str, str]], Response]


@dataclass(frozen=True, kw_only=True)
class WebhookSettings(SourceSettings):
    # Environment variable holding the HMAC secret that signs this topic's requests.
    secret_env: str = "SHITSTORM_WEBHOOK_SECRET"


class WebhookSource:
    settings_class: ClassVar[type[SourceSettings]] = WebhookSettings

    def __init__(self, settings: WebhookSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.name = settings.source_name

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        raise SourceError(self.name, "a webhook source is pushed to, not polled")


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: what senders compute and :func:`verify` checks."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body>`` under ``secret``.

    The comparison takes the same time however many digits match, so the signature cannot be
    guessed digit by digit. An empty secret verifies nothing.

    >>> verify("topsecret", b"{}", sign("topsecret", b"{}"))
    True
    >>> verify("topsecret", b"{}", sign("other", b"{}"))
    False
    """
    if not secret or header is None:
        return False
    given = header.strip()
    if not given.lower().startswith(SIGNATURE_PREFIX):
        return False
    given_hex = given[len(SIGNATURE_PREFIX) :].lower()
    if not _HEX_DIGITS.issuperset(given_hex):
        return False
    expected_hex = sign(secret, body)[len(SIGNATURE_PREFIX) :]
    return hmac.compare_digest(expected_hex.encode("ascii"), given_hex.encode("ascii"))


def make_ingest_handler(
    secret_for_topic: SecretForTopic, store_mentions: StoreMentions
) -> IngestHandler:
    """The ``POST /ingest/{topic}`` handler for :class:`monitor.runtime.http.HttpServer`.

    ``secret_for_topic`` returns the topic's webhook secret, or None for a topic that does not
    exist or takes no webhooks (404). ``store_mentions(topic, mentions)`` stores idempotently
    and returns how many were new. Answers 202 ``{"accepted": n, "new": m}``; 401 for a bad or
    missing signature, 415 for a body that is not JSON, 400 with the reason for a bad payload.
    """

    def ingest(request: Request, params: dict[str, str]) -> Response:
        response = _ingest(request, params["topic"], secret_for_topic, store_mentions)
        metrics.WEBHOOK_REQUESTS.labels(str(response.status)).inc()
        return response

    return ingest


def _ingest(
    request: Request, topic: str, secret_for_topic: SecretForTopic, store: StoreMentions
) -> Response:
    secret = secret_for_topic(topic)
    if secret is None:
        return _error(HTTPStatus.NOT_FOUND, f"unknown topic {topic!r} or no webhook configured")
    # Authenticate before looking at anything else the sender controls.
    if not verify(secret, request.body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("webhook %s: rejected a request from %s: bad signature", topic, request.client)
        return _error(
            HTTPStatus.UNAUTHORIZED,
            f"missing or wrong {SIGNATURE_HEADER} (expected sha256=<hex HMAC-SHA256 of the body>)",
        )
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        return _error(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type must be application/json, got {content_type or 'none'!r}",
        )
    try:
        mentions = parse_mentions(request.body, topic=topic)
    except PayloadError as exc:
        log.info("webhook %s: rejected a payload from %s: %s", topic, request.client, exc.reason)
        return _error(HTTPStatus.BAD_REQUEST, exc.reason)
    new = store(topic, mentions) if mentions else 0
    log.info("webhook %s: accepted %d mentions (%d new)", topic, len(mentions), new)
    return _json(HTTPStatus.ACCEPTED, {"accepted": len(mentions), "new": new})


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _error(status: int, reason: str) -> Response:
    return _json(status, {"error": reason})


def _json(status: int, payload: Mapping[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, content_type="application/json")

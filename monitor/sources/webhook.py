"""Webhook push: ``POST /ingest/{topic}`` lets a vendor, a Zapier flow or a script feed mentions.

A request is authenticated with the topic's secret: ``X-Shitstorm-Signature: sha256=<hex>``
is the HMAC-SHA256 of the raw body. The body is one mention object or a JSON array of them in
the replay format::

    {"id": "123", "source": "zapier", "created_at": "2026-11-26T07:00:00Z", "text": "...",
     "lang": "de", "author": "...", "url": "...", "topic": "acme", "engagement": {"likes": 3}}

``id``, ``created_at`` (ISO 8601 with an offset) and ``text`` are required; ``source``
defaults to ``"webhook"``. Unknown keys are ignored so senders can pass extra fields through.
A payload is stored whole or not at all: one bad item rejects the request with a reason that
names the item and the field, and storing is idempotent on ``(source, id)``, so a sender may
simply retry. :func:`parse_mention` is also what ``shitstorm replay`` uses for JSONL lines.

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
from datetime import UTC, datetime
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, ClassVar

import httpx

from monitor.models import Mention
from monitor.runtime import metrics
from monitor.runtime.http_messages import Request, Response
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Shitstorm-Signature"
SIGNATURE_PREFIX = "sha256="
# One request may carry this many mentions; a larger backlog is sent in several requests.
MAX_ITEMS = 1000
MAX_ID_LENGTH = 256
_HEX_DIGITS = frozenset(string.hexdigits)
_OPTIONAL_TEXT_FIELDS = ("lang", "author", "url")

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


class PayloadError(ValueError):
    """A payload that cannot be ingested; ``reason`` names the item and field at fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def parse_mention_with_topic(
    obj: Any, where: str, *, default_source: str | None = None
) -> tuple[Mention, str | None]:
    """One replay-format object as a :class:`Mention` and the topic it names, if any.

    ``where`` ("line 3", "item 2") starts every error reason. Without ``default_source`` the
    ``source`` field is required.
    """
    if not isinstance(obj, dict):
        raise PayloadError(f"{where}: expected a mention object, got {_json_type(obj)}")
    mention_id = _required_id(obj, where)
    source = obj.get("source")
    if source is None and default_source is not None:
        source = default_source
    source = _required_text(obj, where, "source", source)
    created_at = _created_at(obj, where)
    if "text" not in obj:
        raise PayloadError(f"{where}: 'text' is missing")
    text = obj["text"]
    if not isinstance(text, str):
        raise PayloadError(_wrong(where, "text", "a string", text))
    _check_unicode(where, "text", text)
    optional = {name: _optional_text(obj, where, name) for name in _OPTIONAL_TEXT_FIELDS}
    mention = Mention(
        source=source,
        id=mention_id,
        created_at=created_at,
        text=text,
        lang=optional["lang"],
        author=optional["author"],
        url=optional["url"],
        engagement=_engagement(obj, where),
    )
    return mention, _optional_text(obj, where, "topic")


def parse_mention(obj: Any, where: str, *, default_source: str | None = None) -> Mention:
    """One replay-format object as a :class:`Mention`; :class:`PayloadError` names what is wrong.

    >>> m = parse_mention({"id": 7, "source": "rss", "created_at": "2026-01-02T03:04:05Z",
    ...                    "text": "Hallo"}, "line 1")
    >>> (m.source, m.id, m.created_at.isoformat())
    ('rss', '7', '2026-01-02T03:04:05+00:00')
    >>> parse_mention({"id": "7", "source": "rss", "text": "x"}, "line 2")
    Traceback (most recent call last):
    ...
    monitor.sources.webhook.PayloadError: line 2: 'created_at' is missing
    """
    return parse_mention_with_topic(obj, where, default_source=default_source)[0]


def parse_mentions(
    body: bytes | Any, *, default_source: str = "webhook", topic: str | None = None
) -> list[Mention]:
    """A webhook body (raw bytes, or already decoded JSON) as mentions, all valid or none.

    The body is one mention object or an array of at most :data:`MAX_ITEMS`; errors name the
    array index ("item 2", counted from 0). With ``topic``, an item naming another topic is an
    error, because it was signed with this topic's secret.
    """
    payload = _decode(body) if isinstance(body, bytes | bytearray | str) else body
    if isinstance(payload, dict):
        items: list[tuple[str, Any]] = [("the mention", payload)]
    elif isinstance(payload, list):
        if len(payload) > MAX_ITEMS:
            raise PayloadError(
                f"{len(payload)} mentions exceed the limit of {MAX_ITEMS} per request"
            )
        items = [(f"item {index}", item) for index, item in enumerate(payload)]
    else:
        raise PayloadError(
            f"expected a mention object or an array of them, got {_json_type(payload)}"
        )
    mentions = []
    for where, item in items:
        mention, named_topic = parse_mention_with_topic(item, where, default_source=default_source)
        if topic is not None and named_topic is not None and named_topic != topic:
            raise PayloadError(
                f"{where}: 'topic' is {named_topic!r} but this endpoint ingests {topic!r}"
            )
        mentions.append(mention)
    return mentions


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


def _decode(body: bytes | bytearray | str) -> Any:
    try:
        # Decoded here, not by json.loads: it would guess UTF-16 or UTF-32 from the first bytes.
        text = body if isinstance(body, str) else bytes(body).decode("utf-8-sig")
        return json.loads(text)
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise PayloadError("the body is nested too deeply to be a mention payload") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise PayloadError(f"the body is not valid JSON: {exc}") from None


def _required_id(obj: Mapping[str, Any], where: str) -> str:
    value = obj.get("id")
    if value is None:
        raise PayloadError(f"{where}: 'id' is missing")
    # Many platforms number their posts: accept integers and store them as text.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(_wrong(where, "id", "a non-empty string or an integer", value))
    if len(value) > MAX_ID_LENGTH:
        raise PayloadError(f"{where}: 'id' is longer than {MAX_ID_LENGTH} characters")
    return _check_unicode(where, "id", value)


def _required_text(obj: Mapping[str, Any], where: str, name: str, value: Any) -> str:
    if value is None:
        raise PayloadError(f"{where}: {name!r} is missing")
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(_wrong(where, name, "a non-empty string", value))
    return _check_unicode(where, name, value)


def _optional_text(obj: Mapping[str, Any], where: str, name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(_wrong(where, name, "a string or null", value))
    return _check_unicode(where, name, value) or None


def _check_unicode(where: str, name: str, value: str) -> str:
    """``value`` unless it holds a lone surrogate (JSON's "\\ud800"), which no database stores."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError(
            f"{where}: {name!r} is not valid Unicode (a lone surrogate such as \\ud800)"
        ) from None
    return value


def _created_at(obj: Mapping[str, Any], where: str) -> datetime:
    value = obj.get("created_at")
    if value is None:
        raise PayloadError(f"{where}: 'created_at' is missing")
    if not isinstance(value, str):
        raise PayloadError(_wrong(where, "created_at", "an ISO 8601 string", value))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(
            f"{where}: 'created_at' {_shown(value)} is not an ISO 8601 time "
            "(like 2026-11-26T07:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        # Guessing a zone would shift the mention between buckets by hours.
        raise PayloadError(
            f"{where}: 'created_at' {_shown(value)} has no UTC offset (add 'Z' or '+01:00')"
        )
    return parsed.astimezone(UTC)


def _engagement(obj: Mapping[str, Any], where: str) -> Mapping[str, int]:
    value = obj.get("engagement")
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise PayloadError(_wrong(where, "engagement", "an object of integers", value))
    counts: dict[str, int] = {}
    for key, count in value.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise PayloadError(_wrong(where, f"engagement.{key}", "a non-negative integer", count))
        counts[key] = count
    return MappingProxyType(counts)


def _wrong(where: str, name: str, expected: str, value: Any) -> str:
    return f"{where}: {name!r} must be {expected}, got {_shown(value)}"


def _shown(value: Any) -> str:
    """A scalar as a short repr, anything else by its JSON type: reasons stay one short line."""
    shown = repr(value) if isinstance(value, str | int | float | bool) else _json_type(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


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

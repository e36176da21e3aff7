"""The JSON a mention is pushed or replayed in: one object, or a webhook body of many.

The body is one mention object or a JSON array of them::

    {"id": "123", "source": "zapier", "created_at": "2026-11-26T07:00:00Z", "text": "...",
     "lang": "de", "author": "...", "url": "...", "topic": "acme", "engagement": {"likes": 3}}

``id``, ``created_at`` (ISO 8601 with an offset) and ``text`` are required; ``source``
defaults to ``"webhook"``. Unknown keys are ignored so senders can pass extra fields through.
A body is read whole or not at all: one bad item is a :class:`PayloadError` whose reason names
the item and the field. The webhook receiver (:mod:`monitor.sources.webhook`) reads request
bodies with it, and ``shitstorm replay`` reads JSONL lines with :func:`parse_mention`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from monitor.models import Mention

# One request may carry this many mentions; a larger backlog is sent in several requests.
MAX_ITEMS = 1000
MAX_ID_LENGTH = 256
_OPTIONAL_TEXT_FIELDS = ("lang", "author", "url")


class PayloadError(ValueError):
    """A payload that cannot be ingested; ``reason`` names the item and field at fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    monitor.sources.webhook_payload.PayloadError: line 2: 'created_at' is missing
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

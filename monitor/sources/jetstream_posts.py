"""What a Jetstream post event becomes: a mention with its ``at://`` id, the author's languages,
and the event times Jetstream counts in (unix microseconds, ``time_us``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor.models import Mention
from monitor.sources.items import parse_instant

POST_COLLECTION = "app.bsky.feed.post"
POST_URL = "https://bsky.app/profile/{}/post/{}"


def micros(instant: datetime) -> int:
    return int(instant.timestamp() * 1_000_000)


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def post_mention(
    source: str, did: str, rkey: str, record: Mapping[str, Any], time_us: int
) -> Mention:
    """A post record as a mention; ``ValueError`` when it lacks what a mention needs.

    ``createdAt`` is the author's device clock: a time after Jetstream saw the post is a clock
    that runs ahead and becomes the time Jetstream saw it. An earlier one is kept (a backdated
    import then counts in its own, long-closed bucket and cannot fake a storm today).
    """
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("post without text")
    seen_at = from_micros(time_us)
    try:
        created_at = min(parse_instant(record.get("createdAt")), seen_at)
    except (ValueError, OverflowError, OSError):
        created_at = seen_at
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, dict) else None
    reply_to = parent.get("uri") if isinstance(parent, dict) else None
    langs = languages_of(record)
    return Mention(
        source=source,
        id=post_uri(did, rkey),
        created_at=created_at,
        text=text.strip(),
        lang=langs[0] if langs else None,
        author=did,
        url=POST_URL.format(did, rkey),
        reply_to=reply_to if isinstance(reply_to, str) and reply_to else None,
    )


def languages_of(record: Mapping[str, Any]) -> list[str]:
    """The post's language tags as primary subtags (``"en-US"`` → ``"en"``), in its order."""
    langs = record.get("langs")
    if not isinstance(langs, list):
        return []
    return [t.strip().split("-")[0].lower() for t in langs if isinstance(t, str) and t.strip()]

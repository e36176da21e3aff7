"""What an X search page becomes: mentions with their authors' reach, every item checked.

The polling client (:mod:`monitor.sources.x`) sends the requests and keeps the cursor; this reads
the answers: ``data`` with ``includes.users``, and the message X puts in ``errors[]``.
"""

from __future__ import annotations

import html
from typing import Any

from monitor.models import Mention
from monitor.sources.base import SourceError
from monitor.sources.items import ITEM_ERRORS, lenient, parse_instant

METRICS = {
    "like_count": "likes",
    "retweet_count": "reposts",
    "reply_count": "replies",
    "quote_count": "quotes",
    "impression_count": "views",
}


def parse_page(source: str, body: Any) -> tuple[list[Mention], int, dict[str, Any]]:
    """One search page: its mentions, how many items were skipped, and its ``meta``."""
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        errors = body.get("errors") if isinstance(body, dict) else None
        raise SourceError(source, f"unexpected search response (no meta){error_detail(errors)}")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise SourceError(source, "unexpected search response: data is not a list")
    includes = body.get("includes")
    users = includes.get("users", []) if isinstance(includes, dict) else []
    users_by_id = {user["id"]: user for user in users if isinstance(user, dict) and "id" in user}
    mentions: list[Mention] = []
    skipped = 0
    for item in data:
        mention = _mention(source, item, users_by_id)
        if mention is None:
            skipped += 1
        else:
            mentions.append(mention)
    return mentions, skipped, body["meta"]


@lenient
def _mention(source: str, item: Any, users: dict[str, Any]) -> Mention | None:
    try:
        post_id = str(item["id"])
        created_at = parse_instant(item["created_at"])
        note = item.get("note_tweet")
        # Long posts are cut in ``text``; ``note_tweet`` holds all of it.
        raw_text = note["text"] if isinstance(note, dict) and "text" in note else item["text"]
        if not isinstance(raw_text, str) or not post_id.isdigit():
            return None
    except ITEM_ERRORS:
        return None
    user = users.get(str(item.get("author_id")), {})
    username = user.get("username") if isinstance(user, dict) else None
    engagement = counters(item.get("public_metrics"), METRICS)
    followers = counters(
        user.get("public_metrics") if isinstance(user, dict) else None,
        {"followers_count": "followers"},
    )
    lang = item.get("lang")
    return Mention(
        source=source,
        id=post_id,
        created_at=created_at,
        # X escapes &, < and > in post text.
        text=html.unescape(raw_text),
        lang=lang if isinstance(lang, str) and lang not in ("und", "zxx", "qme") else None,
        author=username if isinstance(username, str) else None,
        url=f"https://x.com/{username or 'i/web'}/status/{post_id}",
        engagement={**engagement, **followers},
    )


def counters(metrics: Any, names: dict[str, str]) -> dict[str, int]:
    if not isinstance(metrics, dict):
        return {}
    return {
        ours: value
        for theirs, ours in names.items()
        if isinstance(value := metrics.get(theirs), int) and not isinstance(value, bool)
    }


def error_detail(errors: Any) -> str:
    """The first of X's ``errors[]`` messages, as ``": message"``; empty when there is none."""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message") or errors[0].get("detail")
        if isinstance(message, str):
            return f": {message[:200]}"
    return ""

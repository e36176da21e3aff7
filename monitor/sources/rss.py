"""RSS and Atom feeds that already filter for the topic: Google Alerts, Google News searches.

The feed URL carries the search (``https://news.google.com/rss/search?q=Acme&hl=de``), so the
topic's terms are not used here. Each poll is one conditional GET (``If-None-Match`` /
``If-Modified-Since`` from the cursor; a 304 is a successful poll with nothing new). Feeds have
no paging and show a sliding window of recent entries, so the cursor remembers which entries of
the current window were already delivered (as short hashes) instead of a time: search feeds
often add an entry whose publication date is older than entries delivered before.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx

from monitor.models import Mention
from monitor.sources.base import (
    PollResult,
    SourceError,
    SourceSettings,
    TopicTerms,
    plausible,
    url_problem,
)
from monitor.sources.html_text import html_to_text
from monitor.sources.http import fetch
from monitor.sources.items import lenient

# Hosts whose ``/url?url=<target>`` links are redirect wrappers (Google Alerts uses them).
_GOOGLE_REDIRECT_HOSTS = frozenset({"www.google.com", "google.com"})


@dataclass(frozen=True, kw_only=True)
class FeedSettings(SourceSettings):
    """Keys of an RSS/Atom source in settings.toml (``base_url`` is not used: ``url`` is)."""

    # The feed to poll, e.g. a Google Alerts feed or a Google News search feed.
    url: str

    def problems(self) -> list[tuple[str, str]]:
        problem = url_problem(self.url)
        return [("url", problem)] if problem else []


@dataclass(frozen=True)
class _FeedCursor:
    etag: str | None = None
    modified: str | None = None
    # Hashes of the entry ids of the feed as last read; None before the first poll.
    seen: frozenset[str] | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"seen": sorted(self.seen or ())}
        if self.etag:
            data["etag"] = self.etag
        if self.modified:
            data["modified"] = self.modified
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> _FeedCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            seen = data["seen"]
            if not isinstance(seen, list) or not all(isinstance(item, str) for item in seen):
                raise ValueError("seen is not a list of strings")
        except (ValueError, KeyError, TypeError):
            return cls()  # an unreadable cursor: behave like the first poll
        etag, modified = data.get("etag"), data.get("modified")
        return cls(
            etag=etag if isinstance(etag, str) else None,
            modified=modified if isinstance(modified, str) else None,
            seen=frozenset(seen),
        )


def unwrap_redirect(link: str) -> str:
    """The real target of a Google redirect link (as Google Alerts writes them), else ``link``.

    >>> unwrap_redirect("https://www.google.com/url?rct=j&sa=t&url=https://example.com/a%3Fb%3D1&ct=ga")
    'https://example.com/a?b=1'
    >>> unwrap_redirect("https://example.com/story")
    'https://example.com/story'
    """
    parts = urlsplit(link)
    if parts.hostname not in _GOOGLE_REDIRECT_HOSTS or parts.path != "/url":
        return link
    query = parse_qs(parts.query)
    for key in ("url", "q"):
        for target in query.get(key, []):
            if target.startswith(("https://", "http://")):
                return target
    return link


class FeedSource:
    """Entries of one RSS or Atom feed, each a mention."""

    settings_class: ClassVar[type[SourceSettings]] = FeedSettings

    def __init__(self, settings: FeedSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.name = settings.source_name

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        state = _FeedCursor.from_json(cursor)
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        response = fetch(client, self.name, self.settings.url, now, headers=headers)
        if response.status_code == 304:
            return PollResult(mentions=[], cursor=state.to_json(), details={"not_modified": True})

        parsed = feedparser.parse(
            response.content,
            response_headers={
                "content-type": response.headers.get("content-type", ""),
                "content-location": str(response.url),
            },
        )
        if not parsed.get("version") and not parsed.entries:
            reason = parsed.get("bozo_exception") or "no RSS or Atom document"
            kind = response.headers.get("content-type", "unknown content type")
            raise SourceError(self.name, f"{self.settings.url} is not a feed ({kind}): {reason}")

        feed_language = _primary_language(parsed.feed.get("language"))
        earliest_at = now - self.settings.lookback
        mentions: list[Mention] = []
        seen: set[str] = set()
        skipped = 0
        for entry in parsed.entries:
            mention = self._mention(entry, feed_language, now)
            if mention is None:
                skipped += 1
                continue
            key = _short_hash(mention.id)
            seen.add(key)
            if state.seen is None:
                # First poll: remember the whole window, deliver only the lookback.
                if mention.created_at >= earliest_at:
                    mentions.append(mention)
            elif key not in state.seen:
                mentions.append(mention)

        next_state = _FeedCursor(
            etag=response.headers.get("etag") or None,
            modified=response.headers.get("last-modified") or None,
            seen=frozenset(seen),
        )
        return PollResult(
            mentions=sorted(mentions, key=lambda mention: mention.created_at),
            cursor=next_state.to_json(),
            skipped=skipped,
            details={"entries": len(parsed.entries)},
        )

    @lenient
    def _mention(self, entry: Any, feed_language: str | None, now: datetime) -> Mention | None:
        """One feed entry as a mention; None when it has no identity or no text."""
        raw_link = entry.get("link")
        link = unwrap_redirect(raw_link) if isinstance(raw_link, str) and raw_link else None
        entry_id = entry.get("id") or link
        if not isinstance(entry_id, str) or not entry_id:
            return None
        title = _detail_text(entry, "title")
        summary = _detail_text(entry, "summary")
        text = title if summary and _repeats(title, summary) else f"{title}\n{summary}".strip()
        if not text:
            return None
        # Undated entries count when first seen, and so do entries whose date cannot be
        # believed: feeds often write local time as UTC, or a placeholder for "no date".
        created_at = _entry_time(entry)
        return Mention(
            source=self.name,
            id=entry_id,
            created_at=created_at if created_at and plausible(created_at, now) else now,
            text=text,
            lang=_entry_language(entry) or feed_language,
            author=_author(entry),
            url=link,
        )


def _detail_text(entry: Any, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{key}_detail") or {}
    if "html" in str(detail.get("type", "text/html")):
        return html_to_text(value)
    return " ".join(value.split())


def _repeats(title: str, summary: str) -> bool:
    """True when one text merely restates the other (Google News summaries repeat the title)."""
    a, b = _letters(title), _letters(summary)
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


def _letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            # feedparser normalises every date it understands to UTC.
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (ValueError, OverflowError):
                continue  # year 0 and such
    return None


def _entry_language(entry: Any) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if isinstance(detail, Mapping):
            language = _primary_language(detail.get("language"))
            if language:
                return language
    return None


def _primary_language(tag: Any) -> str | None:
    """``"de-DE"`` → ``"de"``: scorers are chosen by language, not by region."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    return tag.strip().replace("_", "-").split("-")[0].lower()


def _author(entry: Any) -> str | None:
    author = entry.get("author")
    if isinstance(author, str) and author.strip():
        return author.strip()
    source = entry.get("source")  # Google News names the publisher here
    if isinstance(source, Mapping):
        title = source.get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
    return None


def _short_hash(entry_id: str) -> str:
    return hashlib.sha256(entry_id.encode("utf-8")).hexdigest()[:16]

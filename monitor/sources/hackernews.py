"""Hacker News stories and comments that name the topic, from the Algolia HN Search API.

Polls ``GET search_by_date`` (newest first) once per search term, because Algolia ANDs the
words of one query and has no OR. Each term keeps its own position in the cursor: the newest
``created_at_i`` it has read. A poll stopped by ``max_pages`` remembers the unread window
between that position and the oldest item it did read, and fills it on the next poll before it
moves on, so a burst is never cut in half and the newest position is never lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from monitor.models import Mention
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms
from monitor.sources.html_text import html_to_text
from monitor.sources.http import fetch, json_body
from monitor.sources.items import lenient, parse_instant, trusted
from monitor.sources.window import UnreadWindow, dump_windows, load_windows

DEFAULT_BASE_URL = "https://hn.algolia.com/api/v1/"
SEARCH_PATH = "search_by_date"
ITEM_URL = "https://news.ycombinator.com/item?id={}"


@dataclass(frozen=True, kw_only=True)
class HackerNewsSettings(SourceSettings):
    """Keys of a Hacker News source in settings.toml."""

    # Search terms, one request series each; empty uses the topic's terms without # and @.
    query: list[str] | None = None
    # Algolia tag filter; parentheses mean OR.
    tags: str = "(story,comment)"
    hits_per_page: int = 100
    # Each poll re-reads this far behind its position: the search index adds items a little
    # after they were posted, and an item indexed late must not fall behind the cursor.
    overlap: timedelta = timedelta(minutes=2)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not 1 <= self.hits_per_page <= 1000:
            found.append(("hits_per_page", "must be between 1 and 1000"))
        if self.query is not None and not any(term.strip() for term in self.query):
            found.append(("query", "must name at least one search term (or be left out)"))
        if self.overlap < timedelta(0):
            found.append(("overlap", "must not be negative"))
        return found


# Where one search term stands, in epoch seconds of ``created_at_i``: the unread window is
# ``(since, until]``, as Algolia's numeric filters ask for it.
_TermPosition = UnreadWindow[int]


def _epoch_seconds(value: Any) -> int:
    """A ``created_at_i`` position from the cursor; ``ValueError`` unless a whole number."""
    if not isinstance(value, int):
        raise ValueError(f"bad term position {value!r}")
    return value


def search_terms(terms: Sequence[str]) -> list[str]:
    """Topic terms as HN search terms: ``#`` and ``@`` stripped, case-insensitive duplicates gone.

    >>> search_terms(["Acme", "#acme", "@AcmeSupport", " "])
    ['Acme', 'AcmeSupport']
    """
    found: dict[str, str] = {}
    for term in terms:
        cleaned = term.strip().lstrip("#@").strip()
        if cleaned:
            found.setdefault(cleaned.casefold(), cleaned)
    return list(found.values())


class HackerNewsSource:
    """Stories and comments on Hacker News whose text matches the topic's terms."""

    settings_class: ClassVar[type[SourceSettings]] = HackerNewsSettings

    def __init__(self, settings: HackerNewsSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.name = settings.source_name
        self.terms = search_terms(settings.query if settings.query is not None else topic.terms)
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/" + SEARCH_PATH

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        if not self.terms:
            raise SourceError(self.name, "no search terms: set query or give the topic terms")
        positions = load_windows(cursor, _epoch_seconds, not_after=int(now.timestamp()))
        start = int((now - self.settings.lookback).timestamp())
        mentions: dict[str, Mention] = {}
        skipped = 0
        truncated_terms = []
        for term in self.terms:
            position = positions.get(term) or _TermPosition(since=start)
            found, bad, positions[term], truncated = self._poll_term(client, term, position, now)
            skipped += bad
            mentions.update((mention.id, mention) for mention in found)
            if truncated:
                truncated_terms.append(term)
        return PollResult(
            mentions=sorted(mentions.values(), key=lambda mention: mention.created_at),
            cursor=dump_windows({term: positions[term] for term in self.terms}, int),
            truncated=bool(truncated_terms),
            skipped=skipped,
            details={"truncated_terms": truncated_terms} if truncated_terms else {},
        )

    def _poll_term(
        self, client: httpx.Client, term: str, position: _TermPosition, now: datetime
    ) -> tuple[list[Mention], int, _TermPosition, bool]:
        """Read one term's unread window, newest first; answer its next position."""
        lower = max(position.since - int(self.settings.overlap.total_seconds()), 0)
        filters = f"created_at_i>{lower}"
        if position.until is not None:
            filters += f",created_at_i<={position.until}"
        mentions: list[Mention] = []
        skipped = 0
        newest: int | None = None
        oldest: int | None = None
        page = 0
        while True:
            params = {
                "query": term,
                "tags": self.settings.tags,
                "numericFilters": filters,
                "hitsPerPage": self.settings.hits_per_page,
                "page": page,
            }
            body = json_body(fetch(client, self.name, self.url, now, params=params), self.name)
            hits, pages = self._page(body)
            for hit in hits:
                # Only a believable time may move the position (one item dated a year ahead
                # would otherwise skip everything posted in that year).
                stamp = trusted(_created_at_i(hit), now)
                if stamp is not None:
                    newest = stamp if newest is None else max(newest, stamp)
                    oldest = stamp if oldest is None else min(oldest, stamp)
                mention = self._mention(hit)
                if mention is None:
                    skipped += 1
                else:
                    mentions.append(mention)
            page += 1
            if page >= pages or not hits:
                return mentions, skipped, position.caught_up(newest), False
            if page >= self.settings.max_pages:
                return mentions, skipped, position.stopped(newest, oldest), True

    def _page(self, body: Any) -> tuple[list[Any], int]:
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise SourceError(self.name, "unexpected response from HN search: no 'hits' list")
        pages = body.get("nbPages")
        if not isinstance(pages, int) or isinstance(pages, bool):
            raise SourceError(self.name, "unexpected response from HN search: no 'nbPages'")
        return body["hits"], pages

    @lenient
    def _mention(self, hit: Any) -> Mention | None:
        """One search hit as a mention; None when it lacks what a mention needs."""
        if not isinstance(hit, dict):
            return None
        object_id = hit.get("objectID")
        stamp = _created_at_i(hit)
        if not isinstance(object_id, str | int) or isinstance(object_id, bool) or not object_id:
            return None
        try:
            created_at = parse_instant(stamp if stamp is not None else hit.get("created_at"))
        except ValueError:
            return None
        text = _hit_text(hit)
        if not text:
            return None
        author = hit.get("author")
        return Mention(
            source=self.name,
            id=str(object_id),
            created_at=created_at,
            text=text,
            author=author if isinstance(author, str) and author else None,
            url=ITEM_URL.format(object_id),
            engagement=_engagement(hit),
        )


def _created_at_i(hit: Any) -> int | None:
    if not isinstance(hit, dict):
        return None
    stamp = hit.get("created_at_i")
    return stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None


def _hit_text(hit: Mapping[str, Any]) -> str:
    """A comment's text, or a story's title with its text (Ask HN) or link."""
    comment = hit.get("comment_text")
    if isinstance(comment, str) and comment:
        return html_to_text(comment)
    title = hit.get("title")
    if not isinstance(title, str) or not title.strip():
        return ""
    story_text = hit.get("story_text")
    if isinstance(story_text, str) and story_text.strip():
        body = html_to_text(story_text)
    else:
        url = hit.get("url")
        body = url if isinstance(url, str) else ""
    return "\n".join(part for part in (title.strip(), body) if part)


def _engagement(hit: Mapping[str, Any]) -> dict[str, int]:
    counters = {"score": hit.get("points"), "replies": hit.get("num_comments")}
    return {
        key: value
        for key, value in counters.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }

"""Mastodon: posts under the topic's hashtag on one instance, and mentions of our own account.

Reads ``GET /api/v1/timelines/tag/{tag}`` (what the instance knows of that hashtag: its own
posts and those federated to it) and, with ``mentions = true`` and a user token, ``GET
/api/v1/notifications?types[]=mention``. Each keeps its own ``min_id`` in the cursor. Mastodon
pages forward from a ``min_id`` (the page right after it, then the ``rel="prev"`` link of each
page), so a poll stopped by ``max_pages`` has already moved its ``min_id`` up to what it read
and the next poll continues from there. The very first poll walks back from the newest post
(``rel="next"``) only as far as ``lookback``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from monitor.models import Mention
from monitor.secrets import read_secret
from monitor.sources.base import (
    PollResult,
    SourceError,
    SourceSettings,
    TopicTerms,
    require_secret,
    url_problem,
)
from monitor.sources.html_text import html_to_text
from monitor.sources.http import check_status, json_body, send
from monitor.sources.items import lenient, parse_instant, trusted

DEFAULT_INSTANCE = "https://mastodon.social"
# Mastodon's rate-limit window is five minutes; wait that long when a 429 does not say.
DEFAULT_BACKOFF = timedelta(minutes=5)
MAX_LIMIT = 40  # the most statuses the tag timeline returns per page

_COUNTERS = {
    "favourites_count": "likes",
    "reblogs_count": "reposts",
    "replies_count": "replies",
}


@dataclass(frozen=True, kw_only=True)
class MastodonSettings(SourceSettings):
    """Keys of a Mastodon source in settings.toml."""

    # The instance whose view of the fediverse we read; ``base_url`` overrides its API root.
    instance: str = DEFAULT_INSTANCE
    # Hashtag to follow, without '#'. Unset: the topic's #terms (the first one, any of the
    # others also matching), or its first term written as a hashtag when it has no #term;
    # "" follows no hashtag (mentions only).
    tag: str | None = None
    # Also read mentions of the account that owns the token (needs read:notifications).
    mentions: bool = False
    token_env: str = "MASTODON_TOKEN"
    limit: int = MAX_LIMIT

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.tag == "" and not self.mentions:
            found.append(("tag", 'follows nothing: set tag = "..." or mentions = true'))
        if self.tag and (any(char.isspace() for char in self.tag) or self.tag == "#"):
            found.append(("tag", f"a hashtag has no spaces: {self.tag!r}"))
        if not 1 <= self.limit <= MAX_LIMIT:
            found.append(("limit", f"must be between 1 and {MAX_LIMIT}"))
        if problem := url_problem(self.instance):
            found.append(("instance", problem))
        return found


def hashtags(terms: Sequence[str]) -> list[str]:
    """The topic's ``#terms`` as hashtag names, in order, case-insensitive duplicates gone.

    >>> hashtags(["Acme", "#acme", "#AcmeFail", "@acme", "#ACME"])
    ['acme', 'AcmeFail']
    """
    found: dict[str, str] = {}
    for term in terms:
        term = term.strip()
        if term.startswith("#") and len(term) > 1:
            found.setdefault(term[1:].casefold(), term[1:])
    return list(found.values())


def _as_hashtag(terms: Sequence[str]) -> list[str]:
    """Terms written as hashtags, for topics without a ``#term`` (spaces and punctuation go).

    >>> _as_hashtag(["Acme Cloud"]), _as_hashtag(["@acme-support"]), _as_hashtag(["--"])
    (['AcmeCloud'], ['acmesupport'], [])
    """
    tags = ["".join(char for char in term if char.isalnum() or char == "_") for term in terms]
    return [tag for tag in tags if tag]


@dataclass
class _Page:
    items: list[Any]
    # Paging values from the Link header: the page before (newer) and after (older) this one.
    prev_min_id: str | None
    next_max_id: str | None


class MastodonSource:
    """Hashtag posts and account mentions from one Mastodon instance."""

    settings_class: ClassVar[type[SourceSettings]] = MastodonSettings

    def __init__(
        self,
        settings: MastodonSettings,
        topic: TopicTerms,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.source_name
        self._environ = environ
        if settings.tag is None:
            tags = hashtags(topic.terms) or _as_hashtag(topic.terms[:1])
        else:
            tags = [settings.tag.strip().lstrip("#")] if settings.tag.strip() else []
        self.tag = tags[0] if tags else None
        self.any_tags = tags[1:]
        root = settings.base_url or settings.instance.rstrip("/") + "/api/v1/"
        self.api_root = root.rstrip("/") + "/"
        # The last rate-limit state the instance reported, for `shitstorm sources test`.
        self.rate_limit: str | None = None

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        if not self.tag and not self.settings.mentions:
            raise SourceError(self.name, 'no hashtag to follow: set tag = "..." or mentions = true')
        state = _read_cursor(cursor)
        token: str | None
        if self.settings.mentions:
            need = "mentions = true needs an access token (scope read:notifications)"
            token = require_secret(self.name, self.settings.token_env, self._environ, purpose=need)
        else:
            # Without mentions the token is optional; it is sent when it is set.
            token = read_secret(self.settings.token_env, self._environ)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        mentions: dict[str, Mention] = {}
        skipped = 0
        truncated_parts = []
        next_state: dict[str, Any] = {}
        # Only the first poll of a list (no min_id yet) is limited to the lookback.
        earliest_at = now - self.settings.lookback

        if self.tag:
            url = self.api_root + "timelines/tag/" + quote(self.tag, safe="")
            params: dict[str, Any] = {"limit": self.settings.limit}
            if self.any_tags:
                params["any[]"] = self.any_tags
            part = state.get("tag") if state.get("tag", {}).get("name") == self.tag else None
            items, min_id, truncated = self._read(client, url, params, headers, part, now)
            for item in items:
                mention = self._mention(item)
                if mention is None:
                    skipped += 1
                elif part is not None or mention.created_at >= earliest_at:
                    mentions[mention.id] = mention
            next_state["tag"] = {"name": self.tag, "min_id": min_id} if min_id else None
            if truncated:
                truncated_parts.append("tag")

        if self.settings.mentions:
            url = self.api_root + "notifications"
            params = {"types[]": "mention", "limit": self.settings.limit}
            part = state.get("mentions")
            items, min_id, truncated = self._read(client, url, params, headers, part, now)
            for item in items:
                is_mention = isinstance(item, dict) and item.get("type") == "mention"
                found = self._mention(item.get("status")) if is_mention else None
                if found is None:
                    skipped += 1
                elif part is not None or found.created_at >= earliest_at:
                    mentions[found.id] = found
            next_state["mentions"] = {"min_id": min_id} if min_id else None
            if truncated:
                truncated_parts.append("mentions")

        return PollResult(
            mentions=sorted(mentions.values(), key=lambda mention: mention.created_at),
            cursor=json.dumps({k: v for k, v in next_state.items() if v}, sort_keys=True),
            truncated=bool(truncated_parts),
            rate_limit=self.rate_limit,
            skipped=skipped,
            details={"truncated": truncated_parts} if truncated_parts else {},
        )

    def _read(
        self,
        client: httpx.Client,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        part: Mapping[str, Any] | None,
        now: datetime,
    ) -> tuple[list[Any], str | None, bool]:
        """Read one paged list: its items, the next ``min_id``, and whether the cap stopped it.

        ``part`` is this list's cursor part (with its ``min_id``), None on its first poll.
        """
        if part is not None:
            return self._read_forward(client, url, params, headers, part["min_id"], now)
        return self._read_back(client, url, params, headers, now)

    def _read_forward(
        self,
        client: httpx.Client,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        min_id: str,
        now: datetime,
    ) -> tuple[list[Any], str, bool]:
        """Everything after ``min_id``, oldest page first, following ``rel="prev"``."""
        collected: list[Any] = []
        pages = 0
        while True:
            page = self._page(client, url, {**params, "min_id": min_id}, headers, now)
            pages += 1
            collected.extend(page.items)
            if not page.items:
                return collected, min_id, False
            min_id = page.prev_min_id or _newest_id(page.items) or min_id
            if len(page.items) < self.settings.limit:
                return collected, min_id, False
            if pages >= self.settings.max_pages:
                return collected, min_id, True

    def _read_back(
        self,
        client: httpx.Client,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        now: datetime,
    ) -> tuple[list[Any], str | None, bool]:
        """First poll: the newest page, then older pages (``rel="next"``) back to the lookback."""
        earliest_at = now - self.settings.lookback
        page = self._page(client, url, params, headers, now)
        newest = page.prev_min_id or _newest_id(page.items)
        collected = list(page.items)
        pages = 1
        while page.next_max_id and (_oldest_at(page.items, now) or earliest_at) > earliest_at:
            if pages >= self.settings.max_pages:
                return collected, newest, True
            page = self._page(client, url, {**params, "max_id": page.next_max_id}, headers, now)
            pages += 1
            collected.extend(page.items)
        return collected, newest, False

    def _page(
        self,
        client: httpx.Client,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        now: datetime,
    ) -> _Page:
        response = send(client, self.name, "GET", url, params=params, headers=headers)
        self.rate_limit = _rate_limit(response) or self.rate_limit
        check_status(response, self.name, now, default_backoff=_reset_wait(response, now))
        body = json_body(response, self.name)
        if not isinstance(body, list):
            detail = body.get("error") if isinstance(body, dict) else None
            raise SourceError(
                self.name, f"expected a list from {url}, got {detail or type(body).__name__}"
            )
        return _Page(
            items=body,
            prev_min_id=_link_param(response, "prev", "min_id")
            or _link_param(response, "prev", "since_id"),
            next_max_id=_link_param(response, "next", "max_id"),
        )

    @lenient
    def _mention(self, status: Any) -> Mention | None:
        """A status as a mention; None when it lacks what a mention needs."""
        if not isinstance(status, dict):
            return None
        status_id = status.get("id")
        account = status.get("account")
        if not isinstance(status_id, str) or not status_id or not isinstance(account, dict):
            return None
        try:
            created_at = parse_instant(status.get("created_at"))
        except ValueError:
            return None
        content = status.get("content")
        spoiler = status.get("spoiler_text")
        parts = [
            spoiler.strip() if isinstance(spoiler, str) else "",
            html_to_text(content) if isinstance(content, str) else "",
        ]
        text = "\n".join(part for part in parts if part)
        if not text:
            return None
        language = status.get("language")
        author = account.get("acct")
        url = status.get("url") or status.get("uri")
        engagement = {
            key: status[field]
            for field, key in _COUNTERS.items()
            if isinstance(status.get(field), int) and not isinstance(status.get(field), bool)
        }
        followers = account.get("followers_count")
        if isinstance(followers, int) and not isinstance(followers, bool):
            engagement["followers"] = followers
        return Mention(
            source=self.name,
            id=status_id,
            created_at=created_at,
            text=text,
            lang=language.lower() if isinstance(language, str) and language else None,
            author=author if isinstance(author, str) and author else None,
            url=url if isinstance(url, str) else None,
            engagement=engagement,
        )


def _read_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}  # unreadable: start again from the lookback
    if not isinstance(data, dict):
        return {}
    return {
        key: part
        for key, part in data.items()
        if isinstance(part, dict) and isinstance(part.get("min_id"), str) and part["min_id"]
    }


def _link_param(response: httpx.Response, rel: str, name: str) -> str | None:
    link = response.links.get(rel)
    if not link or not link.get("url"):
        return None
    values = parse_qs(urlsplit(link["url"]).query).get(name)
    return values[0] if values else None


def _id_order(item_id: str) -> tuple[int, str]:
    # Mastodon ids are decimal strings of varying length; other servers use fixed-length
    # sortable ids. Ordering by (length, text) is right for both.
    return len(item_id), item_id


def _newest_id(items: Sequence[Any]) -> str | None:
    ids = [
        item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]
    return max(ids, key=_id_order) if ids else None


def _oldest_at(items: Sequence[Any], now: datetime) -> datetime | None:
    """The oldest believable ``created_at`` among the items (statuses or notifications).

    A placeholder date (1970) must not end the walk back before the lookback is read.
    """
    stamps = []
    for item in items:
        try:
            stamps.append(trusted(parse_instant(item.get("created_at")), now))
        except (ValueError, AttributeError):
            continue
    return min((stamp for stamp in stamps if stamp is not None), default=None)


def _reset_wait(response: httpx.Response, now: datetime) -> timedelta:
    """How long until ``X-RateLimit-Reset`` (an ISO 8601 instant), else the default backoff."""
    try:
        reset_at = parse_instant(response.headers.get("x-ratelimit-reset"))
    except ValueError:
        return DEFAULT_BACKOFF
    return max(reset_at - now, timedelta(seconds=1))


def _rate_limit(response: httpx.Response) -> str | None:
    remaining = response.headers.get("x-ratelimit-remaining")
    limit = response.headers.get("x-ratelimit-limit")
    reset = response.headers.get("x-ratelimit-reset")
    if remaining is None:
        return None
    return f"{remaining} of {limit or '?'} requests left, resets {reset or '?'}"

"""Facebook Page and Instagram comments under the brand's own recent posts (Meta Graph API).

Both read the ``posts`` most recent posts of the page (or media of the Instagram professional
account) and the new comments under each, with a page access token (``FACEBOOK_PAGE_TOKEN``)
sent as an ``Authorization`` header. Comments under the brand's own posts are all about it,
so they are not filtered by the topic's terms. Each post keeps its own position in the cursor
(the newest comment seen); posts that fall out of the recent set are dropped from it.

Facebook's comments edge is read as a flat stream (``filter=stream``, replies included),
newest first, from ``since``; Instagram's lists top-level comments newest first. Paging follows
``paging.cursors.after`` rather than ``paging.next``, whose URL carries the token.

Every poll costs one call for the post list plus at least one per watched post.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from monitor.models import Mention
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms, require_secret
from monitor.sources.http import check_status, json_body, retry_after_from, send
from monitor.sources.items import ITEM_ERRORS, lenient, parse_instant, scan_newest_first
from monitor.sources.window import ListingPosition

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0/"
COMMENTS_PAGE_SIZE = 100
TOKEN_ERROR = 190
INVALID_PARAMETER = 100
# "Application", "user", "page" and business-use-case request limits.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
# Graph limits are counted over a rolling hour; pause this long when it does not say.
DEFAULT_BACKOFF = timedelta(minutes=15)
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-page-usage")


@dataclass(frozen=True, kw_only=True)
class MetaSettings(SourceSettings):
    """Keys shared by the Facebook and Instagram sources."""

    token_env: str = "FACEBOOK_PAGE_TOKEN"
    # How many of the most recent posts to watch for new comments.
    posts: int = 10

    def problems(self) -> list[tuple[str, str]]:
        if not 1 <= self.posts <= 100:
            return [("posts", "must be between 1 and 100")]
        return []


@dataclass(frozen=True, kw_only=True)
class FacebookPageSettings(MetaSettings):
    """Keys of a Facebook Page source in settings.toml."""

    page_id: str
    # Posts older than this are not watched, however few recent ones there are.
    post_max_age: timedelta = timedelta(days=14)


@dataclass(frozen=True, kw_only=True)
class InstagramSettings(MetaSettings):
    """Keys of an Instagram source in settings.toml (the professional account's IG user id)."""

    account_id: str


@dataclass(frozen=True)
class _Post:
    id: str
    url: str | None


# Where one post's comments stand; the cursor writes its instants in ISO 8601.
_PostState = ListingPosition[datetime]


class _GraphSource(ABC):
    """What the Facebook and Instagram sources share: requests, errors, comment paging."""

    settings: MetaSettings
    # Set by the subclasses: where the recent posts are listed, and how comments are asked for.
    posts_path: str
    posts_params: dict[str, Any]
    comments_params: ClassVar[dict[str, Any]]
    # Whether the comments edge filters by ``since`` itself (Facebook) or we must (Instagram).
    server_since: ClassVar[bool]

    def __init__(self, settings: MetaSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.topic = topic
        self.name = settings.source_name
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/"
        self._rate_limit: str | None = None

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        token = require_secret(self.name, self.settings.token_env, purpose="no page token")
        saved = self._load_cursor(cursor, now)
        self._rate_limit = None
        posts_body = self._get(client, self.posts_path, self._posts_query(now), token, now)
        posts = self._posts(posts_body)
        mentions: list[Mention] = []
        skipped = 0
        truncated = False
        states: dict[str, dict[str, Any]] = {}
        for post in posts:
            found, bad, state, cut = self._read_comments(
                client, post, saved.get(post.id, _PostState()), token, now
            )
            mentions += found
            skipped += bad
            truncated = truncated or cut
            states[post.id] = state.dump(datetime.isoformat)
        return PollResult(
            mentions,
            json.dumps({"posts": states}),
            truncated=truncated,
            rate_limit=self._rate_limit,
            skipped=skipped,
            details={"posts_watched": len(posts)},
        )

    def _posts_query(self, now: datetime) -> dict[str, Any]:
        return {**self.posts_params, "limit": self.settings.posts}

    def _load_cursor(self, cursor: str | None, now: datetime) -> dict[str, _PostState]:
        try:
            raw = json.loads(cursor) if cursor else {}
        except ValueError:
            raise SourceError(self.name, f"unreadable cursor {cursor!r:.80}") from None
        posts = raw.get("posts", {}) if isinstance(raw, dict) else None
        if not isinstance(posts, dict):
            raise SourceError(self.name, f"unreadable cursor {cursor!r:.80}")
        return {
            post_id: _PostState.load(state, parse_instant, not_after=now)
            for post_id, state in posts.items()
        }

    def _posts(self, body: Any) -> list[_Post]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise SourceError(self.name, f"unexpected response from {self.posts_path}: no data")
        posts = []
        for item in data[: self.settings.posts]:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                url = item.get("permalink_url") or item.get("permalink")
                posts.append(_Post(item["id"], url if isinstance(url, str) else None))
        return posts

    def _read_comments(
        self, client: httpx.Client, post: _Post, state: _PostState, token: str, now: datetime
    ) -> tuple[list[Mention], int, _PostState, bool]:
        """New comments of one post, newest first, down to the newest the last poll saw."""
        resuming = state.resuming
        until = state.floor(first_poll=now - self.settings.lookback)
        after = state.after
        top = state.carried_top
        mentions: list[Mention] = []
        skipped = 0
        pages = 0
        while pages < self.settings.max_pages:
            params: dict[str, Any] = {**self.comments_params, "limit": COMMENTS_PAGE_SIZE}
            if self.server_since:
                params["since"] = int(until.timestamp())
            if after:
                params["after"] = after
            response = self._send(client, f"{post.id}/comments", params, token)
            if resuming and (_graph_error(response) or {}).get("code") == INVALID_PARAMETER:
                # The saved cursor was refused (expired): read the gap again from the newest
                # comment rather than failing on the same cursor forever.
                after, resuming = None, False
                continue
            resuming = False
            pages += 1
            body = self._checked(response, now)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise SourceError(self.name, f"unexpected comments response for post {post.id}")
            found = [self._mention(item, post) for item in data]
            skipped += found.count(None)
            dated = [(m, m.created_at) for m in found if m is not None]
            new, top, reached_known = scan_newest_first(dated, until, top, now)
            mentions += new
            after = _next_after(body)
            if reached_known or after is None:
                return mentions, skipped, state.caught_up(top), False
        return mentions, skipped, state.stopped(after, until, top), True

    @abstractmethod
    def _mention(self, item: Any, post: _Post) -> Mention | None:
        """One comment as a mention, or None when the item is malformed (see ``lenient``)."""

    def _get(
        self,
        client: httpx.Client,
        path: str,
        params: dict[str, Any],
        token: str,
        now: datetime,
    ) -> Any:
        """GET a Graph path and decode it; failures become a :class:`SourceError`."""
        return self._checked(self._send(client, path, params, token), now)

    def _send(
        self, client: httpx.Client, path: str, params: dict[str, Any], token: str
    ) -> httpx.Response:
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {token}"}
        response = send(client, self.name, "GET", url, params=params, headers=headers)
        self._rate_limit = _usage_text(response) or self._rate_limit
        return response

    def _checked(self, response: httpx.Response, now: datetime) -> Any:
        """The decoded body; Graph's error codes become a :class:`SourceError` with advice."""
        if response.status_code >= 400:
            url = str(response.request.url.copy_with(query=None))
            self._raise_graph_error(response, url, now)
        check_status(response, self.name, now)
        return json_body(response, self.name)

    def _raise_graph_error(self, response: httpx.Response, url: str, now: datetime) -> None:
        error = _graph_error(response)
        if error is None:
            check_status(response, self.name, now, default_backoff=DEFAULT_BACKOFF)
            return
        code, message = error.get("code"), str(error.get("message", ""))[:200]
        trace = f" (fbtrace_id {error['fbtrace_id']})" if error.get("fbtrace_id") else ""
        if code == TOKEN_ERROR:
            raise SourceError(
                self.name,
                f"token expired or invalid; check {self.settings.token_env}: {message}{trace}",
            )
        if code in RATE_LIMIT_CODES or response.status_code == 429:
            wait = _regain_access(response) or retry_after_from(response, now) or DEFAULT_BACKOFF
            raise SourceError(
                self.name,
                f"rate limited by Graph (code {code}): {message}; retrying after {wait}",
                retry_after=wait,
            )
        if code == 10 or (isinstance(code, int) and 200 <= code < 300):
            raise SourceError(
                self.name,
                f"permission missing (code {code}): {message}; check that "
                f"{self.settings.token_env} is a page token with the needed permissions",
            )
        if response.status_code >= 500:
            check_status(response, self.name, now)
        raise SourceError(self.name, f"Graph error {code} from {url}: {message}{trace}")


class FacebookPageSource(_GraphSource):
    """Comments (and replies) under a Facebook Page's most recent posts."""

    settings_class: ClassVar[type[SourceSettings]] = FacebookPageSettings
    comments_params: ClassVar[dict[str, Any]] = {
        "fields": "id,message,created_time,from,like_count,comment_count,permalink_url",
        "filter": "stream",
        "order": "reverse_chronological",
    }
    server_since: ClassVar[bool] = True

    def __init__(self, settings: FacebookPageSettings, topic: TopicTerms) -> None:
        super().__init__(settings, topic)
        self.post_max_age = settings.post_max_age
        self.posts_path = f"{settings.page_id}/posts"
        self.posts_params = {"fields": "id,created_time,permalink_url"}

    def _posts_query(self, now: datetime) -> dict[str, Any]:
        return {**super()._posts_query(now), "since": int((now - self.post_max_age).timestamp())}

    @lenient
    def _mention(self, item: Any, post: _Post) -> Mention | None:
        try:
            comment_id = str(item["id"])
            created_at = parse_instant(item["created_time"])
            # A comment of only a photo or sticker has no message; it still counts as volume.
            text = item.get("message", "")
            if not isinstance(text, str):
                return None
        except ITEM_ERRORS:
            return None
        author = item.get("from")
        name = author.get("name") if isinstance(author, dict) else None
        url = item.get("permalink_url")
        return Mention(
            source=self.name,
            id=comment_id,
            created_at=created_at,
            text=text,
            author=name if isinstance(name, str) else None,
            url=url if isinstance(url, str) else post.url,
            engagement=_counters(item, {"like_count": "likes", "comment_count": "replies"}),
        )


class InstagramSource(_GraphSource):
    """Comments under an Instagram professional account's most recent media."""

    settings_class: ClassVar[type[SourceSettings]] = InstagramSettings
    comments_params: ClassVar[dict[str, Any]] = {
        "fields": "id,text,timestamp,username,like_count",
    }
    server_since: ClassVar[bool] = False

    def __init__(self, settings: InstagramSettings, topic: TopicTerms) -> None:
        super().__init__(settings, topic)
        self.posts_path = f"{settings.account_id}/media"
        self.posts_params = {"fields": "id,timestamp,permalink"}

    @lenient
    def _mention(self, item: Any, post: _Post) -> Mention | None:
        try:
            comment_id = str(item["id"])
            created_at = parse_instant(item["timestamp"])
            text = item["text"]
            if not isinstance(text, str):
                return None
        except ITEM_ERRORS:
            return None
        username = item.get("username")
        return Mention(
            source=self.name,
            id=comment_id,
            created_at=created_at,
            text=text,
            author=username if isinstance(username, str) else None,
            # Instagram has no link to a single comment; the post is the closest.
            url=post.url,
            engagement=_counters(item, {"like_count": "likes"}),
        )


def _next_after(body: dict[str, Any]) -> str | None:
    """The ``after`` cursor of the next page, or None on the last page."""
    paging = body.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return after if isinstance(after, str) and after else None


def _graph_error(response: httpx.Response) -> dict[str, Any] | None:
    try:
        error = json.loads(response.content).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return error if isinstance(error, dict) else None


def _usage_headers(response: httpx.Response) -> list[dict[str, Any]]:
    """The usage reports in Graph's headers, flattened (business use case ones are nested)."""
    reports: list[dict[str, Any]] = []
    for header in USAGE_HEADERS:
        try:
            value = json.loads(response.headers.get(header, ""))
        except ValueError:
            continue
        if isinstance(value, dict) and "call_count" in value:
            reports.append(value)
        elif isinstance(value, dict):
            for entries in value.values():
                if isinstance(entries, list):
                    reports += [entry for entry in entries if isinstance(entry, dict)]
    return reports


def _regain_access(response: httpx.Response) -> timedelta | None:
    """``estimated_time_to_regain_access`` (minutes) from the usage headers, when given."""
    minutes = [
        value
        for report in _usage_headers(response)
        if isinstance(value := report.get("estimated_time_to_regain_access"), int | float)
        and value > 0
    ]
    return timedelta(minutes=max(minutes)) if minutes else None


def _usage_text(response: httpx.Response) -> str | None:
    """The highest usage percentage Graph reported, e.g. ``"Graph usage at 42% of the limit"``."""
    percents = [
        value
        for report in _usage_headers(response)
        for key in ("call_count", "total_cputime", "total_time")
        if isinstance(value := report.get(key), int | float)
    ]
    return f"Graph usage at {max(percents)}% of the limit" if percents else None


def _counters(item: dict[str, Any], names: dict[str, str]) -> dict[str, int]:
    return {
        ours: value
        for theirs, ours in names.items()
        if isinstance(value := item.get(theirs), int) and not isinstance(value, bool)
    }

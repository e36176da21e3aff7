"""Bluesky posts that name the topic, from ``app.bsky.feed.searchPosts`` with an app password.

Search needs a logged-in session (unauthenticated search was switched off in 2025), so the
source logs in with ``com.atproto.server.createSession`` and keeps the tokens in memory only;
when the access token expires (``400 ExpiredToken``) it refreshes the session, and logs in
again if that fails too. Bluesky search ANDs the words of a query and ignores ``OR``, so each
search term is its own request series with its own position in the cursor; a poll stopped by
``max_pages`` remembers the unread window and fills it on the next poll before moving on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from monitor.models import Mention
from monitor.sources.base import (
    PollResult,
    SourceError,
    SourceSettings,
    TopicTerms,
    require_secrets,
)
from monitor.sources.http import check_status, json_body, send
from monitor.sources.items import lenient, parse_instant, trusted
from monitor.sources.window import UnreadWindow, dump_windows, load_windows

DEFAULT_BASE_URL = "https://bsky.social/xrpc/"
SEARCH = "app.bsky.feed.searchPosts"
CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
POST_URL = "https://bsky.app/profile/{}/post/{}"
# Bluesky's rate-limit windows are five minutes; wait that long when a 429 does not say.
DEFAULT_BACKOFF = timedelta(minutes=5)
# Answers to an expired or revoked token; the session is renewed and the request repeated once.
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})

_COUNTERS = {
    "likeCount": "likes",
    "repostCount": "reposts",
    "replyCount": "replies",
    "quoteCount": "quotes",
}


@dataclass(frozen=True, kw_only=True)
class BlueskySettings(SourceSettings):
    """Keys of a Bluesky source in settings.toml."""

    handle_env: str = "BLUESKY_HANDLE"
    password_env: str = "BLUESKY_APP_PASSWORD"
    # Search queries, one request series each (Lucene-style syntax: phrases in quotes, -word,
    # from:handle). Empty uses the topic's terms without # and @, multi-word terms as phrases.
    query: list[str] | None = None
    limit: int = 100
    # Each poll re-reads this far behind its position: the search index adds posts a little
    # after they were written, and a post indexed late must not fall behind the cursor.
    overlap: timedelta = timedelta(minutes=2)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not 1 <= self.limit <= 100:
            found.append(("limit", "must be between 1 and 100"))
        if self.query is not None and not any(term.strip() for term in self.query):
            found.append(("query", "must name at least one search query (or be left out)"))
        if self.overlap < timedelta(0):
            found.append(("overlap", "must not be negative"))
        return found


def search_queries(terms: Sequence[str]) -> list[str]:
    """Topic terms as Bluesky queries: ``#``/``@`` stripped, duplicates gone, phrases quoted.

    >>> search_queries(["Acme", "#acme", "@acme.example", "Acme Cloud"])
    ['Acme', 'acme.example', '"Acme Cloud"']
    """
    found: dict[str, str] = {}
    for term in terms:
        cleaned = term.strip().lstrip("#@").strip().replace('"', "")
        if cleaned:
            query = f'"{cleaned}"' if any(char.isspace() for char in cleaned) else cleaned
            found.setdefault(cleaned.casefold(), query)
    return list(found.values())


# Where one query stands, by when search sorts its posts; the cursor writes ISO 8601 in UTC.
_Position = UnreadWindow[datetime]


class BlueskySource:
    """Posts on Bluesky matching the topic's search queries."""

    settings_class: ClassVar[type[SourceSettings]] = BlueskySettings

    def __init__(
        self,
        settings: BlueskySettings,
        topic: TopicTerms,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.source_name
        self.queries = search_queries(settings.query if settings.query is not None else topic.terms)
        # The search filters by one language at most; with several, filter by none.
        self.lang = topic.languages[0] if len(topic.languages) == 1 else None
        self.xrpc = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/"
        self._environ = environ
        # Session tokens live in memory only, never in the cursor or the database.
        self._access_jwt: str | None = None
        self._refresh_jwt: str | None = None
        self.rate_limit: str | None = None

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        if not self.queries:
            raise SourceError(self.name, "no search queries: set query or give the topic terms")
        positions = load_windows(cursor, parse_instant, not_after=now)
        start = _Position(since=now - self.settings.lookback)
        mentions: dict[str, Mention] = {}
        skipped = 0
        truncated_queries = []
        for query in self.queries:
            found, bad, positions[query], truncated = self._poll_query(
                client, query, positions.get(query) or start, now
            )
            skipped += bad
            mentions.update((mention.id, mention) for mention in found)
            if truncated:
                truncated_queries.append(query)
        return PollResult(
            mentions=sorted(mentions.values(), key=lambda mention: mention.created_at),
            cursor=dump_windows({query: positions[query] for query in self.queries}, _iso),
            truncated=bool(truncated_queries),
            rate_limit=self.rate_limit,
            skipped=skipped,
            details={"truncated_queries": truncated_queries} if truncated_queries else {},
        )

    def _poll_query(
        self, client: httpx.Client, query: str, position: _Position, now: datetime
    ) -> tuple[list[Mention], int, _Position, bool]:
        """Read one query's unread window, newest first; answer its next position."""
        params: dict[str, Any] = {
            "q": query,
            "sort": "latest",
            "since": _iso(position.since - self.settings.overlap),
            "limit": self.settings.limit,
        }
        if position.until is not None:
            # ``until`` is exclusive; a second more re-reads the boundary instead of losing it.
            params["until"] = _iso(position.until + timedelta(seconds=1))
        if self.lang:
            params["lang"] = self.lang
        mentions: list[Mention] = []
        skipped = 0
        newest: datetime | None = None
        oldest: datetime | None = None
        pages = 0
        while True:
            body = self._call(client, SEARCH, params, now)
            posts, next_cursor = self._page(body)
            pages += 1
            for post in posts:
                mention = self._mention(post)
                if mention is None:
                    skipped += 1
                    continue
                mentions.append(mention)
                # Search orders by the earlier of written and indexed, and a client clock can
                # claim the future or the year 1: never let one post move the position past
                # now, nor stretch the unread window to a placeholder date.
                sort_at = trusted(_sort_at(post) or mention.created_at, now)
                if sort_at is None:
                    continue
                newest = sort_at if newest is None else max(newest, sort_at)
                oldest = sort_at if oldest is None else min(oldest, sort_at)
            if not posts or not next_cursor:
                return mentions, skipped, position.caught_up(newest), False
            if pages >= self.settings.max_pages:
                return mentions, skipped, position.stopped(newest, oldest), True
            params["cursor"] = next_cursor

    def _page(self, body: Any) -> tuple[list[Any], str | None]:
        if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
            raise SourceError(self.name, "unexpected response from searchPosts: no 'posts' list")
        next_cursor = body.get("cursor")
        return body["posts"], next_cursor if isinstance(next_cursor, str) and next_cursor else None

    # -- XRPC calls and the session ------------------------------------------------------------

    def _call(
        self, client: httpx.Client, method: str, params: Mapping[str, Any], now: datetime
    ) -> Any:
        """GET an XRPC query with the session, renewing it once if the token has expired."""
        if self._access_jwt is None:
            self._login(client, now)
        response = self._send(client, "GET", method, now, params=params, token=self._access_jwt)
        if _xrpc_error(response) in _TOKEN_ERRORS:
            self._renew(client, now)
            response = self._send(client, "GET", method, now, params=params, token=self._access_jwt)
        self._check(response, now)
        return json_body(response, self.name)

    def _renew(self, client: httpx.Client, now: datetime) -> None:
        """A fresh access token: refresh the session, or log in again if that fails."""
        self._access_jwt = None
        if self._refresh_jwt is not None:
            response = self._send(client, "POST", REFRESH_SESSION, now, token=self._refresh_jwt)
            if response.status_code == 200 and self._store_session(response):
                return
            if response.status_code == 429 or response.status_code >= 500:
                self._check(response, now)
            self._refresh_jwt = None
        self._login(client, now)

    def _login(self, client: httpx.Client, now: datetime) -> None:
        handle, password = require_secrets(
            self.name,
            [self.settings.handle_env, self.settings.password_env],
            self._environ,
            purpose="cannot log in to Bluesky",
        )
        response = self._send(
            client,
            "POST",
            CREATE_SESSION,
            now,
            json_data={"identifier": handle, "password": password},
        )
        if response.status_code in (400, 401):
            error = _xrpc_error(response) or f"HTTP {response.status_code}"
            raise SourceError(
                self.name,
                f"Bluesky login as {handle} refused ({error}): check {self.settings.handle_env} "
                f"and {self.settings.password_env} (an app password, not the account password)",
            )
        self._check(response, now)
        if not self._store_session(response):
            raise SourceError(self.name, "Bluesky login answered without session tokens")

    def _store_session(self, response: httpx.Response) -> bool:
        try:
            body = json.loads(response.content)
        except ValueError:
            return False
        access = body.get("accessJwt") if isinstance(body, dict) else None
        refresh = body.get("refreshJwt") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access or not isinstance(refresh, str):
            return False
        self._access_jwt, self._refresh_jwt = access, refresh
        return True

    def _send(
        self,
        client: httpx.Client,
        verb: str,
        method: str,
        now: datetime,
        *,
        params: Mapping[str, Any] | None = None,
        json_data: Any = None,
        token: str | None = None,
    ) -> httpx.Response:
        url = self.xrpc + method
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = send(
            client, self.name, verb, url, params=params, headers=headers, json_data=json_data
        )
        self.rate_limit = _rate_limit(response) or self.rate_limit
        return response

    def _check(self, response: httpx.Response, now: datetime) -> None:
        """Raise for a failed call, with the XRPC error name where the server gave one."""
        if response.status_code == 400:
            error = _xrpc_error(response) or "bad request"
            message = _xrpc_message(response)
            raise SourceError(
                self.name, f"{error} from {response.url.path}" + (f": {message}" if message else "")
            )
        check_status(response, self.name, now, default_backoff=_reset_wait(response, now))

    # -- posts -----------------------------------------------------------------------------------

    @lenient
    def _mention(self, post: Any) -> Mention | None:
        """One post view as a mention; None when it lacks what a mention needs."""
        if not isinstance(post, dict):
            return None
        uri, author, record = post.get("uri"), post.get("author"), post.get("record")
        if not isinstance(uri, str) or not uri.startswith("at://"):
            return None
        if not isinstance(author, dict) or not isinstance(record, dict):
            return None
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            return None
        try:
            created_at = parse_instant(record.get("createdAt"))
        except ValueError:
            return None
        handle = author.get("handle")
        did = author.get("did")
        profile = handle if isinstance(handle, str) and handle != "handle.invalid" else did
        rkey = uri.rstrip("/").rsplit("/", 1)[-1]
        return Mention(
            source=self.name,
            id=uri,
            created_at=created_at,
            text=text.strip(),
            lang=_language(record.get("langs")),
            author=profile if isinstance(profile, str) and profile else None,
            url=POST_URL.format(profile, rkey) if isinstance(profile, str) and profile else None,
            engagement={
                key: post[field]
                for field, key in _COUNTERS.items()
                if isinstance(post.get(field), int) and not isinstance(post.get(field), bool)
            },
        )


def _sort_at(post: Mapping[str, Any]) -> datetime | None:
    """When search sorts the post: the earlier of its ``createdAt`` and ``indexedAt``."""
    stamps = []
    record = post.get("record")
    for value in (
        record.get("createdAt") if isinstance(record, dict) else None,
        post.get("indexedAt"),
    ):
        try:
            stamps.append(parse_instant(value))
        except ValueError:
            continue
    return min(stamps, default=None)


def _language(langs: Any) -> str | None:
    """The post's first declared language as a primary subtag (``"en-US"`` → ``"en"``)."""
    if isinstance(langs, list) and langs and isinstance(langs[0], str) and langs[0].strip():
        return langs[0].strip().split("-")[0].lower()
    return None


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _xrpc_error(response: httpx.Response) -> str | None:
    """The XRPC error name (``ExpiredToken``, ``InvalidRequest`` ...) of a failed call."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _xrpc_message(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message[:200] if isinstance(message, str) else None


def _reset_wait(response: httpx.Response, now: datetime) -> timedelta:
    """How long until ``ratelimit-reset`` (epoch seconds), else the default backoff."""
    reset = response.headers.get("ratelimit-reset", "").strip()
    if not reset.isdigit():
        return DEFAULT_BACKOFF
    return max(datetime.fromtimestamp(int(reset), tz=UTC) - now, timedelta(seconds=1))


def _rate_limit(response: httpx.Response) -> str | None:
    remaining = response.headers.get("ratelimit-remaining")
    if remaining is None:
        return None
    limit = response.headers.get("ratelimit-limit", "?")
    reset = response.headers.get("ratelimit-reset", "")
    when = _iso(datetime.fromtimestamp(int(reset), tz=UTC)) if reset.isdigit() else "?"
    return f"{remaining} of {limit} requests left, resets {when}"

"""Reddit: new posts that match the topic, and new comments in the subreddits it names.

Authenticates as an app (OAuth client credentials from ``REDDIT_CLIENT_ID`` and
``REDDIT_CLIENT_SECRET``) and keeps the token until shortly before it expires. Posts come from
``/search?sort=new&type=link``. Reddit's documented search finds posts, subreddits and users
but not comments, so comments are read from ``/r/<subs>/comments`` (newest first) when
``subreddits`` is set, and kept when they name one of the topic's terms.

Both listings are newest first. A poll reads down to the newest item of the previous poll; when
``max_pages`` stops it earlier, it keeps the ``after`` cursor and finishes the gap next time.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from monitor.models import Mention
from monitor.secrets import read_secret
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms, url_problem
from monitor.sources.http import check_status, json_body, retry_after_from, send
from monitor.sources.items import ITEM_ERRORS, parse_instant, scan_newest_first
from monitor.sources.window import ListingPosition, latest

DEFAULT_BASE_URL = "https://oauth.reddit.com/"
DEFAULT_AUTH_URL = "https://www.reddit.com/api/v1/access_token"
WEB_URL = "https://www.reddit.com"
PAGE_SIZE = 100
# Renew the token this long before Reddit says it expires, so no request races the expiry.
TOKEN_MARGIN = timedelta(minutes=1)
# Reddit's rate-limit window is ten minutes; wait one when it does not say how long.
DEFAULT_BACKOFF = timedelta(minutes=10)


@dataclass(frozen=True, kw_only=True)
class RedditSettings(SourceSettings):
    """Keys of a Reddit source in settings.toml."""

    # A Reddit search query; empty builds one from the topic's terms.
    query: str = ""
    auth_url: str = DEFAULT_AUTH_URL
    client_id_env: str = "REDDIT_CLIENT_ID"
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    # Restrict the search to these subreddits (names without "r/") and watch their comments.
    subreddits: list[str] = field(default_factory=list)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        bad = [name for name in self.subreddits if not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name)]
        if bad:
            found.append(("subreddits", f"not subreddit names (write them without r/): {bad}"))
        if problem := url_problem(self.auth_url):
            found.append(("auth_url", problem))
        return found


def search_terms(terms: list[str] | tuple[str, ...]) -> list[str]:
    """The topic's terms as Reddit finds them: without ``#``/``@`` and without duplicates.

    >>> search_terms(["Acme", "#acme", "@acme", "Acme Corp"])
    ['Acme', 'Acme Corp']
    """
    seen: dict[str, str] = {}
    for term in terms:
        word = term.strip().lstrip("#@").replace('"', "").strip()
        if word:
            seen.setdefault(word.casefold(), word)
    return list(seen.values())


def build_query(terms: list[str]) -> str:
    """A Reddit search query matching any of ``terms``.

    >>> build_query(["Acme", "Acme Corp"])
    'Acme OR "Acme Corp"'
    """
    return " OR ".join(f'"{t}"' if any(c.isspace() for c in t) else t for t in terms)


# Where each listing stands, in epoch seconds (``created_utc``); the gap's token is a fullname.
_Listing = ListingPosition[float]


@dataclass
class _Page:
    mentions: list[Mention]
    skipped: int
    after: str | None
    reached_known: bool
    top: float | None


class RedditSource:
    """Posts (and, with ``subreddits``, comments) from Reddit that match the topic."""

    settings_class: ClassVar[type[SourceSettings]] = RedditSettings

    def __init__(self, settings: RedditSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.topic = topic
        self.name = settings.source_name
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/"
        self.terms = search_terms(list(topic.terms))
        self.query = settings.query or build_query(self.terms)
        self._matcher = re.compile(
            "|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in self.terms) or r"(?!)",
            re.IGNORECASE,
        )
        # The app token and when to stop using it. Lives as long as the source object.
        self._token: tuple[str, datetime] | None = None
        self._rate_limit: str | None = None
        self._exhausted = False

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        if not self.query.strip():
            raise SourceError(self.name, "nothing to search: set query or give the topic terms")
        state = self._load_cursor(cursor, now)
        self._rate_limit, self._exhausted = None, False
        subs = "+".join(self.settings.subreddits)
        search_path = f"r/{subs}/search" if subs else "search"
        search_params = {"q": self.query, "sort": "new", "type": "link"}
        if subs:
            search_params["restrict_sr"] = "1"
        mentions, skipped, posts, truncated = self._walk(
            client, search_path, search_params, state["posts"], now
        )
        new_state = {"posts": posts.dump(float)}
        if subs:
            found, bad, comments, cut = self._walk(
                client, f"r/{subs}/comments", {}, state["comments"], now
            )
            mentions += [m for m in found if self._matcher.search(m.text)]
            skipped += bad
            truncated = truncated or cut
            new_state["comments"] = comments.dump(float)
        return PollResult(
            mentions,
            json.dumps(new_state),
            truncated=truncated,
            rate_limit=self._rate_limit,
            skipped=skipped,
            details={"query": self.query},
        )

    def _load_cursor(self, cursor: str | None, now: datetime) -> dict[str, _Listing]:
        try:
            raw = json.loads(cursor) if cursor else {}
        except ValueError:
            raise SourceError(self.name, f"unreadable cursor {cursor!r:.80}") from None
        if not isinstance(raw, dict):
            raise SourceError(self.name, f"unreadable cursor {cursor!r:.80}")
        return {
            key: _Listing.load(raw.get(key), float, not_after=now.timestamp())
            for key in ("posts", "comments")
        }

    def _walk(
        self,
        client: httpx.Client,
        path: str,
        params: dict[str, str],
        listing: _Listing,
        now: datetime,
    ) -> tuple[list[Mention], int, _Listing, bool]:
        """Read one listing down to what the last poll saw; return what is new and where it ends."""
        after = listing.after
        until = listing.floor(first_poll=(now - self.settings.lookback).timestamp())
        top = listing.carried_top
        mentions: list[Mention] = []
        skipped = 0
        for _ in range(self.settings.max_pages):
            if self._exhausted:
                break
            query = {**params, "limit": str(PAGE_SIZE), "raw_json": "1"}
            if after:
                query["after"] = after
            page = self._page(self._get(client, path, query, now), until, now)
            mentions += page.mentions
            skipped += page.skipped
            top = latest(top, page.top)
            after = page.after
            if page.reached_known or after is None:
                return mentions, skipped, listing.caught_up(top), False
        # The page cap (or the rate limit) stopped us above the last known item: keep the gap.
        return mentions, skipped, listing.stopped(after, until, top), True

    def _page(self, response: httpx.Response, until: float, now: datetime) -> _Page:
        body = json_body(response, self.name)
        data = body.get("data") if isinstance(body, dict) else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            raise SourceError(self.name, "unexpected response: not a listing (data.children)")
        found = [self._mention(child) for child in children]
        dated = [(m, created) for m, created in found if m is not None and created is not None]
        mentions, top, reached_known = scan_newest_first(dated, until, None, now)
        skipped = len(found) - len(dated)
        after = data.get("after") if isinstance(data, dict) else None
        return _Page(
            mentions, skipped, after if isinstance(after, str) else None, reached_known, top
        )

    def _mention(self, child: Any) -> tuple[Mention | None, float | None]:
        try:
            kind, item = child["kind"], child["data"]
            created = float(item["created_utc"])
            permalink = str(item["permalink"])
            if kind == "t3":
                title, body = str(item["title"]), str(item.get("selftext") or "")
                text = f"{title}\n\n{body}" if body else title
            elif kind == "t1":
                text = str(item["body"])
            else:
                return None, None
            fullname = str(item.get("name") or f"{kind}_{item['id']}")
            created_at = parse_instant(created)
        except ITEM_ERRORS:
            return None, None
        author = item.get("author")
        engagement = {
            ours: value
            for theirs, ours in (("score", "score"), ("ups", "likes"), ("num_comments", "replies"))
            if isinstance(value := item.get(theirs), int) and not isinstance(value, bool)
        }
        mention = Mention(
            source=self.name,
            id=fullname,
            created_at=created_at,
            text=text,
            author=author if isinstance(author, str) and author != "[deleted]" else None,
            url=WEB_URL + permalink,
            engagement=engagement,
        )
        return mention, created

    def _get(
        self, client: httpx.Client, path: str, params: dict[str, str], now: datetime
    ) -> httpx.Response:
        """GET an API path with the app token; renew the token once if Reddit rejects it."""
        cached = self._token is not None and now < self._token[1]
        response = self._send(client, path, params, self._access_token(client, now))
        if response.status_code == 401 and cached:
            # Reddit may revoke a token before it expires; a fresh one tells whether it was that.
            self._token = None
            response = self._send(client, path, params, self._access_token(client, now))
        self._note_rate_limit(response, now)
        self._check(response, now, f"check {self.settings.client_id_env} and its secret")
        return response

    def _send(
        self, client: httpx.Client, path: str, params: dict[str, str], token: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return send(client, self.name, "GET", self.base_url + path, params=params, headers=headers)

    def _access_token(self, client: httpx.Client, now: datetime) -> str:
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        client_id = read_secret(self.settings.client_id_env)
        secret = read_secret(self.settings.client_secret_env)
        if not client_id or not secret:
            raise SourceError(
                self.name,
                f"no app credentials: set {self.settings.client_id_env} and "
                f"{self.settings.client_secret_env}",
            )
        url = self.settings.auth_url
        grant = {"grant_type": "client_credentials"}
        response = send(client, self.name, "POST", url, data=grant, auth=(client_id, secret))
        self._check(
            response,
            now,
            f"check {self.settings.client_id_env} and {self.settings.client_secret_env}",
        )
        body = json_body(response, self.name)
        token = body.get("access_token") if isinstance(body, dict) else None
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            # Reddit answers bad grants with 200 and {"error": "..."}.
            reason = body.get("error") if isinstance(body, dict) else None
            raise SourceError(
                self.name,
                f"no access token from {url} ({reason or 'unexpected response'}); "
                f"check {self.settings.client_id_env} and {self.settings.client_secret_env}",
            )
        lifetime = timedelta(seconds=expires_in if isinstance(expires_in, int) else 3600)
        self._token = (token, now + max(lifetime - TOKEN_MARGIN, timedelta(0)))
        return token

    def _check(self, response: httpx.Response, now: datetime, advice: str) -> None:
        status = response.status_code
        url = response.request.url.copy_with(query=None)
        if status == 429:
            wait = _reset_wait(response) or retry_after_from(response, now) or DEFAULT_BACKOFF
            raise SourceError(
                self.name, f"rate limited (429) by {url}; retrying after {wait}", retry_after=wait
            )
        if status in (401, 403):
            raise SourceError(self.name, f"{status} from {url}: access denied; {advice}")
        check_status(response, self.name, now, default_backoff=DEFAULT_BACKOFF)

    def _note_rate_limit(self, response: httpx.Response, now: datetime) -> None:
        """Remember Reddit's budget; when it is spent, stop paging instead of earning a 429."""
        remaining = response.headers.get("x-ratelimit-remaining")
        used = response.headers.get("x-ratelimit-used")
        wait = _reset_wait(response)
        if remaining is None:
            return
        text = f"{remaining} requests left" + (f", {used} used" if used else "")
        if wait is not None:
            text += f", window resets at {(now + wait).isoformat(timespec='seconds')}"
        self._rate_limit = text
        with contextlib.suppress(ValueError):
            self._exhausted = float(remaining) < 1


def _reset_wait(response: httpx.Response) -> timedelta | None:
    """``X-Ratelimit-Reset``: seconds until Reddit's rate-limit window starts again."""
    try:
        seconds = float(response.headers.get("x-ratelimit-reset", ""))
    except ValueError:
        return None
    return timedelta(seconds=max(seconds, 1))

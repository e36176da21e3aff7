"""X (Twitter) API v2 recent search: posts that name the topic, with their authors' reach.

Polls ``GET /2/tweets/search/recent`` with an app-only bearer token (``X_BEARER_TOKEN``). The
cursor is the newest post id seen (``since_id``); a poll stopped by ``max_pages`` keeps the
``next_token`` and finishes that result set on the next poll before it starts a new one, so a
burst is not cut in half. With ``counts = true`` it also fetches ``/2/tweets/counts/recent``
per minute: X's own volume series, available on the Pro plan and above. A plan without it
answers 403, which is recorded in ``details`` and never fails the search itself.

Every post returned counts against the plan's monthly read cap, so ``max_pages`` x
``max_results`` (default 5 x 100) bounds what one poll can spend; a ``since_id`` poll in a calm
hour returns only the handful of new posts. What a search page becomes is read in
:mod:`monitor.sources.x_posts`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from monitor.models import Mention
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms, require_secret
from monitor.sources.http import check_status, json_body, retry_after_from, send
from monitor.sources.items import ITEM_ERRORS, parse_instant, trusted
from monitor.sources.x_posts import error_detail, parse_page

DEFAULT_BASE_URL = "https://api.twitter.com/"
SEARCH_PATH = "2/tweets/search/recent"
COUNTS_PATH = "2/tweets/counts/recent"
TWEET_FIELDS = "created_at,lang,public_metrics,author_id,note_tweet"
USER_FIELDS = "username,public_metrics"
# Recent search only reaches back seven days; stay a little inside so the request is valid.
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=5)
# X's rate-limit windows are 15 minutes; wait one when a 429 does not say for how long.
DEFAULT_BACKOFF = timedelta(minutes=15)
# Post ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits.
SNOWFLAKE_EPOCH_MS = 1288834974657


@dataclass(frozen=True, kw_only=True)
class XSettings(SourceSettings):
    """Keys of an X source in settings.toml."""

    token_env: str = "X_BEARER_TOKEN"
    # A full X search query; empty builds one from the topic's terms.
    query: str = ""
    # Applied only to the query built from terms: leave out reposts, keep the topic's languages.
    exclude_retweets: bool = True
    filter_languages: bool = True
    max_results: int = 100
    counts: bool = False

    def problems(self) -> list[tuple[str, str]]:
        if not 10 <= self.max_results <= 100:
            return [("max_results", "must be between 10 and 100 (the API's limits)")]
        return []


def build_query(
    terms: list[str] | tuple[str, ...],
    languages: list[str] | tuple[str, ...],
    *,
    exclude_retweets: bool,
    filter_languages: bool,
) -> str:
    """An X search query matching any of ``terms``, e.g. ``(Acme OR #acme) -is:retweet lang:de``.

    >>> build_query(["Acme", "Acme Corp"], ["de", "en"], exclude_retweets=True,
    ...             filter_languages=True)
    '(Acme OR "Acme Corp") -is:retweet (lang:de OR lang:en)'
    """
    parts = [_any_of([_quoted(term) for term in terms if term.strip()])]
    if exclude_retweets:
        parts.append("-is:retweet")
    if filter_languages and languages:
        parts.append(_any_of([f"lang:{lang}" for lang in languages]))
    return " ".join(parts)


def _quoted(term: str) -> str:
    term = term.strip().replace('"', "")
    return f'"{term}"' if any(ch.isspace() for ch in term) else term


def _any_of(clauses: list[str]) -> str:
    return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"


def snowflake_instant(post_id: str) -> datetime:
    """When the post with this id was created (X ids encode their creation time).

    ``ValueError`` when the id is no number or names a time no calendar holds.
    """
    return parse_instant(((int(post_id) >> 22) + SNOWFLAKE_EPOCH_MS) / 1000)


def trusted_id(post_id: Any, now: datetime) -> str | None:
    """A post id a cursor may keep: numeric, and created at a believable time (not ahead)."""
    if not isinstance(post_id, str) or not post_id.isdigit():
        return None
    try:
        return post_id if trusted(snowflake_instant(post_id), now) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class _Cursor:
    """Newest id fully caught up to, plus a result set left half-read by the page cap."""

    since_id: str | None = None
    # The query window and token of an unfinished result set, and the newest id it showed.
    resume_token: str | None = None
    resume_since_id: str | None = None
    resume_start_time: str | None = None
    resume_newest_id: str | None = None

    @classmethod
    def load(cls, text: str | None, source: str) -> _Cursor:
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            return cls(**{key: raw.get(key) for key in cls.__dataclass_fields__})
        except (ValueError, TypeError, AttributeError):
            raise SourceError(source, f"unreadable cursor {text[:80]!r}") from None

    def dump(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if v is not None})


class XSource:
    """Posts from X's recent search that match the topic."""

    settings_class: ClassVar[type[SourceSettings]] = XSettings

    def __init__(self, settings: XSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.topic = topic
        self.name = settings.source_name
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/"
        self.query = settings.query or build_query(
            list(topic.terms),
            list(topic.languages),
            exclude_retweets=settings.exclude_retweets,
            filter_languages=settings.filter_languages,
        )

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        if not self.query.strip("() "):
            raise SourceError(self.name, "nothing to search: set query or give the topic terms")
        token = require_secret(self.name, self.settings.token_env, purpose="no bearer token")
        headers = {"Authorization": f"Bearer {token}"}
        state = _Cursor.load(cursor, self.name)

        resuming = bool(state.resume_token) and self._still_searchable(state, now)
        if resuming:
            window = {"since_id": state.resume_since_id, "start_time": state.resume_start_time}
            next_token: str | None = state.resume_token
            newest = state.resume_newest_id
        else:
            window = self._window(state.since_id, now)
            next_token, newest = None, None

        mentions: list[Mention] = []
        skipped = 0
        rate_limit: str | None = None
        pages = 0
        while pages < self.settings.max_pages:
            params: dict[str, Any] = {
                "query": self.query,
                "max_results": self.settings.max_results,
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": USER_FIELDS,
                **{k: v for k, v in window.items() if v},
            }
            if next_token:
                params["next_token"] = next_token
            response = self._send(client, SEARCH_PATH, params, headers)
            if resuming and response.status_code == 400:
                # The saved next_token was refused (expired): start a fresh result set
                # rather than failing on the same cursor forever.
                window = self._window(state.since_id, now)
                next_token, newest, resuming = None, None, False
                continue
            resuming = False
            pages += 1
            self._check(response, now)
            rate_limit = _rate_limit_text(response) or rate_limit
            page_mentions, page_skipped, meta = parse_page(
                self.name, json_body(response, self.name)
            )
            mentions += page_mentions
            skipped += page_skipped
            newest = _max_id(newest, trusted_id(meta.get("newest_id"), now))
            next_token = meta.get("next_token") or None
            if next_token is None:
                break

        details: dict[str, Any] = {"query": self.query}
        if self.settings.counts:
            details.update(self._counts(client, headers, now))
        if next_token is not None:
            unfinished = _Cursor(
                since_id=state.since_id,
                resume_token=next_token,
                resume_since_id=window.get("since_id"),
                resume_start_time=window.get("start_time"),
                resume_newest_id=newest,
            )
            return PollResult(
                mentions, unfinished.dump(), truncated=True, rate_limit=rate_limit,
                skipped=skipped, details=details,
            )  # fmt: skip
        done = _Cursor(since_id=_max_id(state.since_id, newest))
        return PollResult(
            mentions, done.dump(), rate_limit=rate_limit, skipped=skipped, details=details
        )

    def _still_searchable(self, state: _Cursor, now: datetime) -> bool:
        """Whether an unfinished result set's window is still inside the searchable week."""
        oldest = now - SEARCH_WINDOW
        if trusted_id(state.resume_since_id, now):
            return snowflake_instant(state.resume_since_id or "") > oldest
        try:
            return parse_instant(state.resume_start_time) > oldest
        except ValueError:
            return False

    def _window(self, since_id: str | None, now: datetime) -> dict[str, str | None]:
        """``since_id`` when it is still inside the searchable week, else a ``start_time``."""
        oldest = now - SEARCH_WINDOW
        if trusted_id(since_id, now) and snowflake_instant(since_id or "") > oldest:
            return {"since_id": since_id, "start_time": None}
        # First poll, or the monitor was down longer than X remembers: take what is left.
        start = now - self.settings.lookback if not since_id else oldest
        return {"since_id": None, "start_time": _x_time(max(start, oldest))}

    def _counts(
        self, client: httpx.Client, headers: dict[str, str], now: datetime
    ) -> dict[str, Any]:
        """Per-minute counts for the lookback window; a failure is reported, not raised."""
        params = {
            "query": self.query,
            "granularity": "minute",
            "start_time": _x_time(now - min(self.settings.lookback, SEARCH_WINDOW)),
        }
        response = self._send(client, COUNTS_PATH, params, headers)
        if response.status_code == 403:
            note = "counts endpoint not available on this X plan (403); set counts = false"
            return {"counts_error": note}
        try:
            self._check(response, now)
        except SourceError as exc:
            return {"counts_error": f"counts not fetched: {exc.message}"}
        body = json_body(response, self.name)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return {"counts_error": "counts not fetched: unexpected response (no data list)"}
        series = []
        for bucket in data:
            try:
                series.append(
                    {
                        "start_at": parse_instant(bucket["start"]),
                        "end_at": parse_instant(bucket["end"]),
                        "count": int(bucket["tweet_count"]),
                    }
                )
            except ITEM_ERRORS:
                continue
        return {"counts": series}

    def _send(
        self, client: httpx.Client, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        """One GET of an API path; only transport failures are raised here (see ``_check``)."""
        return send(client, self.name, "GET", self.base_url + path, params=params, headers=headers)

    def _check(self, response: httpx.Response, now: datetime) -> None:
        """Raise :class:`SourceError` for a failed response, with X's own explanation."""
        status = response.status_code
        url = response.request.url.copy_with(query=None)
        if status == 429:
            wait = _reset_wait(response, now) or retry_after_from(response, now) or DEFAULT_BACKOFF
            raise SourceError(
                self.name, f"rate limited (429) by {url}; retrying after {wait}", retry_after=wait
            )
        if status in (401, 403):
            raise SourceError(
                self.name,
                f"{status} from {url}: access denied; check {self.settings.token_env}"
                f"{_problem_detail(response)}",
            )
        if status == 400:
            # X explains a bad query or an expired next_token in the body; pass that on.
            raise SourceError(self.name, f"400 from {url}{_problem_detail(response)}")
        check_status(response, self.name, now, default_backoff=DEFAULT_BACKOFF)


def _x_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _max_id(a: str | None, b: Any) -> str | None:
    """The larger of two numeric post ids (ids grow with time), ignoring missing ones."""
    candidates = [x for x in (a, b) if isinstance(x, str) and x.isdigit()]
    return max(candidates, key=int) if candidates else None


def _reset_wait(response: httpx.Response, now: datetime) -> timedelta | None:
    """Time until ``x-rate-limit-reset`` (epoch seconds), when the header is there."""
    reset = response.headers.get("x-rate-limit-reset", "")
    if not reset.isdigit():
        return None
    return max(datetime.fromtimestamp(int(reset), tz=UTC) - now, timedelta(seconds=1))


def _rate_limit_text(response: httpx.Response) -> str | None:
    remaining = response.headers.get("x-rate-limit-remaining")
    limit = response.headers.get("x-rate-limit-limit")
    reset = response.headers.get("x-rate-limit-reset", "")
    if remaining is None:
        return None
    text = f"{remaining}/{limit} requests left" if limit else f"{remaining} requests left"
    if reset.isdigit():
        text += f", window resets at {_x_time(datetime.fromtimestamp(int(reset), tz=UTC))}"
    return text


def _problem_detail(response: httpx.Response) -> str:
    """X's explanation from an error body (``detail`` or ``errors[].message``), if any."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    # ``errors`` names the exact problem (e.g. the query's syntax); ``detail`` is generic.
    specific = error_detail(body.get("errors"))
    if not specific and isinstance(body.get("detail"), str):
        return f": {body['detail'][:200]}"
    return specific

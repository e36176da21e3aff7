"""YouTube: new comments under the brand's own videos, from the Data API's ``commentThreads``.

Watches the configured ``video_ids`` and/or every video of ``channel_id``
(``allThreadsRelatedToChannelId``), newest first (``order=time``), with an API key
(``YOUTUBE_API_KEY``, sent as a header, never in the URL). Comments under the brand's own
videos are all about it, so they are not filtered by the topic's terms. Only top-level comments
are read; replies show up as ``replies`` engagement.

Quota: every ``commentThreads.list`` call costs 1 unit of the project's daily quota (10,000 by
default), which resets at midnight Pacific time. Each watched video or channel costs at least
one call per poll: at the default 5-minute interval that is 288 units a day per target, and a
poll never makes more than ``max_calls`` (default 20) calls, so one source spends at most
288 x 20 = 5,760 units a day. ``problems()`` refuses settings whose worst case exceeds
``daily_quota``. A spent quota (403 ``quotaExceeded``) pauses the source until the reset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from monitor.models import Mention
from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms, require_secret
from monitor.sources.http import check_status, json_body, retry_after_from, send
from monitor.sources.items import ITEM_ERRORS, lenient, parse_instant, scan_newest_first
from monitor.sources.window import ListingPosition

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3/"
PAGE_SIZE = 100
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")
# Reasons (``error.errors[].reason``) that concern one video, not the whole source.
SKIP_REASONS = {
    "commentsDisabled": "comments_disabled",
    "videoNotFound": "not_found",
    "channelNotFound": "not_found",
}
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})
# How long to pause after a short-term rate limit that does not say how long.
DEFAULT_BACKOFF = timedelta(minutes=1)
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SHORT_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


@dataclass(frozen=True, kw_only=True)
class YouTubeSettings(SourceSettings):
    """Keys of a YouTube source in settings.toml."""

    # Five minutes keeps a handful of videos well inside the default daily quota.
    interval: timedelta = timedelta(minutes=5)
    key_env: str = "YOUTUBE_API_KEY"
    video_ids: list[str] = field(default_factory=list)
    channel_id: str = ""
    # API calls (= quota units) one poll may spend across all videos.
    max_calls: int = 20
    daily_quota: int = 10_000

    @property
    def targets(self) -> list[str]:
        """What to read, as ``video:<id>`` / ``channel:<id>`` keys (also the cursor's keys)."""
        keys = [f"video:{video}" for video in self.video_ids]
        return keys + ([f"channel:{self.channel_id}"] if self.channel_id else [])

    def problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not self.targets:
            problems.append(("video_ids", "set video_ids or channel_id (what to watch)"))
        if self.max_calls < max(len(self.targets), 1):
            problems.append(
                ("max_calls", f"must be at least the number of videos and channels watched "
                 f"({len(self.targets)}) so each is read every poll")
            )  # fmt: skip
        polls_per_day = timedelta(days=1) / max(self.interval, timedelta(seconds=1))
        worst_case = int(polls_per_day * self.max_calls)
        if worst_case > self.daily_quota:
            problems.append(
                ("max_calls", f"up to {worst_case} quota units a day at interval {self.interval},"
                 f" more than daily_quota {self.daily_quota}; raise interval or lower max_calls")
            )  # fmt: skip
        return problems


def next_quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, when YouTube's daily quota starts again."""
    local = now.astimezone(QUOTA_TIMEZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=QUOTA_TIMEZONE)
    return midnight.astimezone(now.tzinfo)


# Where one video's (or channel's) comments stand. The cursor writes instants in ISO 8601
# and calls the gap's page token ``page_token``.
_Thread = ListingPosition[datetime]
_TOKEN_KEY = "page_token"


class _Budget:
    def __init__(self, calls: int) -> None:
        self.left = calls


class YouTubeSource:
    """Top-level comments under the configured YouTube videos or channel."""

    settings_class: ClassVar[type[SourceSettings]] = YouTubeSettings

    def __init__(self, settings: YouTubeSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.topic = topic
        self.name = settings.source_name
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + "/"

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        targets = self.settings.targets
        if not targets:
            raise SourceError(self.name, "nothing to watch: set video_ids or channel_id")
        key = require_secret(self.name, self.settings.key_env, purpose="no API key")
        saved, start = self._load_cursor(cursor, now)
        # A poll cut short by the call cap starts the next one where it stopped, so a long
        # list of videos is read round-robin instead of starving its tail.
        order = targets[start % len(targets) :] + targets[: start % len(targets)]
        budget = _Budget(self.settings.max_calls)
        mentions: list[Mention] = []
        skipped = 0
        unreadable: dict[str, list[str]] = {}
        threads: dict[str, _Thread] = {}
        truncated = False
        next_start = 0
        for position, target in enumerate(order):
            state = saved.get(target, _Thread())
            if budget.left <= 0:
                threads[target] = state
                if not truncated:
                    truncated, next_start = True, targets.index(target)
                continue
            try:
                found, bad, threads[target], cut = self._read(
                    client, target, state, key, budget, now
                )
            except _Unreadable as exc:
                unreadable.setdefault(exc.reason, []).append(target.partition(":")[2])
                threads[target] = state
                continue
            mentions += found
            skipped += bad
            if cut and not truncated:
                truncated, next_start = True, targets.index(order[position])
        details: dict[str, Any] = {
            "calls": self.settings.max_calls - budget.left,
            **{reason: ids for reason, ids in unreadable.items()},
        }
        dumped = {t: s.dump(datetime.isoformat, token_key=_TOKEN_KEY) for t, s in threads.items()}
        new_cursor = {"threads": dumped, "start": next_start}
        return PollResult(
            mentions, json.dumps(new_cursor), truncated=truncated, skipped=skipped, details=details
        )

    def _load_cursor(self, cursor: str | None, now: datetime) -> tuple[dict[str, _Thread], int]:
        try:
            raw = json.loads(cursor) if cursor else {}
        except ValueError:
            raise SourceError(self.name, f"unreadable cursor {cursor!r:.80}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("threads", {}), dict):
            raise SourceError(self.name, f"unreadable cursor {cursor!r:.80}")
        threads = {
            target: _Thread.load(state, parse_instant, token_key=_TOKEN_KEY, not_after=now)
            for target, state in raw.get("threads", {}).items()
        }
        start = raw.get("start", 0)
        return threads, start if isinstance(start, int) else 0

    def _read(
        self,
        client: httpx.Client,
        target: str,
        state: _Thread,
        key: str,
        budget: _Budget,
        now: datetime,
    ) -> tuple[list[Mention], int, _Thread, bool]:
        """New comments of one video or channel, down to the newest one the last poll saw."""
        kind, _, target_id = target.partition(":")
        resuming = state.resuming
        page_token = state.after
        until = state.floor(first_poll=now - self.settings.lookback)
        top = state.carried_top
        mentions: list[Mention] = []
        skipped = 0
        pages = 0
        while pages < self.settings.max_pages and budget.left > 0:
            params: dict[str, Any] = {
                "part": "snippet",
                "order": "time",
                "maxResults": PAGE_SIZE,
                "textFormat": "plainText",
                "videoId" if kind == "video" else "allThreadsRelatedToChannelId": target_id,
            }
            if page_token:
                params["pageToken"] = page_token
            budget.left -= 1
            response = self._send(client, params, key)
            if resuming and response.status_code == 400:
                # The saved page token was refused (expired): read the gap again from the top
                # rather than failing on the same cursor forever.
                page_token, resuming = None, False
                continue
            resuming = False
            pages += 1
            self._check(response, now)
            body = json_body(response, self.name)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise SourceError(self.name, f"unexpected response for {target}: no items list")
            found = [self._mention(item) for item in items]
            skipped += found.count(None)
            dated = [(m, m.created_at) for m in found if m is not None]
            new, top, reached_known = scan_newest_first(dated, until, top, now)
            mentions += new
            token = body.get("nextPageToken")
            page_token = token if isinstance(token, str) and token else None
            if reached_known or page_token is None:
                return mentions, skipped, state.caught_up(top), False
        return mentions, skipped, state.stopped(page_token, until, top), True

    @lenient
    def _mention(self, item: Any) -> Mention | None:
        try:
            thread = item["snippet"]
            comment = thread["topLevelComment"]
            snippet = comment["snippet"]
            comment_id = str(comment["id"])
            created_at = parse_instant(snippet["publishedAt"])
            text = snippet.get("textOriginal", snippet.get("textDisplay"))
            if not isinstance(text, str):
                return None
        except ITEM_ERRORS:
            return None
        video = snippet.get("videoId") or thread.get("videoId")
        channel = snippet.get("channelId") or thread.get("channelId")
        url = (
            f"https://www.youtube.com/watch?v={video}&lc={comment_id}"
            if video
            else f"https://www.youtube.com/channel/{channel}"
        )
        author = snippet.get("authorDisplayName")
        engagement = {
            ours: value
            for holder, theirs, ours in (
                (snippet, "likeCount", "likes"),
                (thread, "totalReplyCount", "replies"),
            )
            if isinstance(value := holder.get(theirs), int) and not isinstance(value, bool)
        }
        return Mention(
            source=self.name,
            id=comment_id,
            created_at=created_at,
            text=text,
            author=author if isinstance(author, str) else None,
            url=url,
            engagement=engagement,
        )

    def _send(self, client: httpx.Client, params: dict[str, Any], key: str) -> httpx.Response:
        """One ``commentThreads.list`` call; only transport failures are raised here."""
        url = self.base_url + "commentThreads"
        # The key goes in a header so it never shows up in a logged URL.
        return send(client, self.name, "GET", url, params=params, headers={"X-Goog-Api-Key": key})

    def _check(self, response: httpx.Response, now: datetime) -> None:
        """Raise for a failed call; :class:`_Unreadable` when only this video is affected."""
        status = response.status_code
        if status < 400:
            check_status(response, self.name, now)
            return
        reason, message = _google_error(response)
        url = response.request.url.copy_with(query=None)
        if reason in QUOTA_REASONS:
            reset_at = next_quota_reset(now)
            raise SourceError(
                self.name,
                f"daily YouTube quota spent ({reason}); it resets at {reset_at.isoformat()}",
                retry_after=reset_at - now,
            )
        if reason in SHORT_LIMIT_REASONS or status == 429:
            wait = retry_after_from(response, now) or DEFAULT_BACKOFF
            raise SourceError(
                self.name, f"rate limited by {url} ({reason}); retrying after {wait}",
                retry_after=wait,
            )  # fmt: skip
        if reason in SKIP_REASONS:
            raise _Unreadable(SKIP_REASONS[reason])
        if status in (400, 401, 403):
            # A 400 is our request's fault unless Google says the key is bad.
            key_problem = status != 400 or reason in KEY_REASONS
            advice = f"; check {self.settings.key_env}" if key_problem else ""
            explanation = message or reason or "access denied"
            raise SourceError(self.name, f"{status} from {url}: {explanation}{advice}")
        check_status(response, self.name, now)


class _Unreadable(Exception):
    """One video cannot be read (comments off, deleted): skip it, keep the others."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _google_error(response: httpx.Response) -> tuple[str | None, str]:
    """``(reason, message)`` from a Google API error body; ``(None, "")`` when it has none.

    The reason is the first of ``error.errors[].reason``, unless ``error.details[].reason``
    says the key itself is bad (Google answers an invalid key with a generic "badRequest").
    """
    try:
        error = json.loads(response.content)["error"]
        # Google's messages carry HTML links; the log wants the words.
        message = re.sub(r"<[^>]+>", "", str(error.get("message", "")))[:200]
        reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
        details = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        return None, ""
    for reason in [*(r for r in details if r in KEY_REASONS), *reasons]:
        if isinstance(reason, str):
            return reason, message
    return None, message

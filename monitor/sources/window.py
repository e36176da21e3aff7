"""Where a newest-first read stands between polls, as kept in a source's cursor.

Platforms list new items newest first, so a poll reads from the top down to what the previous
poll saw. When ``max_pages`` stops it before it gets there, the rest is left unread, and the
next poll must fill that gap before it moves on, or a burst is cut in half. Two shapes of API
need two ways to remember that:

- :class:`ListingPosition`: a listing paged by an opaque token (Reddit ``after``, YouTube
  ``pageToken``, Graph ``after``). The gap is resumed from the token of the page where the poll
  stopped.
- :class:`UnreadWindow`: a search filtered by time (HN ``numericFilters``, Bluesky
  ``since``/``until``). The gap is a time window, asked for again from its first page.

Both are generic in how an instant is written (epoch seconds or an aware datetime), and read and
write the cursor JSON each source has always stored, through its own ``decode``/``encode``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

# An instant as a source compares it: epoch seconds (whole or not) or an aware datetime.
Instant = TypeVar("Instant", int, float, datetime)
_In = TypeVar("_In")
_T = TypeVar("_T")
_Out = TypeVar("_Out")


def latest(*instants: Instant | None) -> Instant | None:
    """The latest of the given instants, ignoring missing ones (None when all are missing).

    >>> latest(None, 3.0, 5.0), latest(None, None)
    (5.0, None)
    """
    present = [instant for instant in instants if instant is not None]
    return max(present) if present else None


@dataclass(frozen=True)
class ListingPosition(Generic[Instant]):
    """Where one token-paged, newest-first listing stands.

    ``newest`` is the newest item read so far; a poll reads down to it. A poll stopped by the
    page cap leaves a gap: continue from page token ``after`` down to ``until``; ``top``, the
    newest item that poll saw, becomes ``newest`` once the gap is closed.

    >>> first = ListingPosition[float]()
    >>> first.floor(first_poll=100.0)
    100.0
    >>> capped = first.stopped(after="t3_x", until=100.0, top=180.0)
    >>> capped.resuming, capped.floor(first_poll=150.0), capped.carried_top
    (True, 100.0, 180.0)
    >>> capped.caught_up(top=capped.carried_top)
    ListingPosition(newest=180.0, after=None, until=None, top=None)
    >>> capped.dump(float)
    {'after': 't3_x', 'until': 100.0, 'top': 180.0}
    >>> ListingPosition.load({"newest": 180.0, "after": None}, float)
    ListingPosition(newest=180.0, after=None, until=None, top=None)
    """

    newest: Instant | None = None
    after: str | None = None
    until: Instant | None = None
    top: Instant | None = None

    @property
    def resuming(self) -> bool:
        """Whether an earlier poll left a gap that this one continues from ``after``."""
        return self.after is not None

    @property
    def carried_top(self) -> Instant | None:
        """The newest item seen before this poll reads its first page (the gap's ``top``)."""
        return self.top if self.resuming else None

    def floor(self, first_poll: Instant) -> Instant:
        """How far down this poll reads: the gap's end, else ``newest``, else ``first_poll``."""
        if self.resuming and self.until is not None:
            return self.until
        return self.newest if self.newest is not None else first_poll

    def caught_up(self, top: Instant | None) -> ListingPosition[Instant]:
        """The position after a poll reached what was read before (or the listing's end)."""
        return ListingPosition(newest=latest(self.newest, top))

    def stopped(
        self, after: str | None, until: Instant, top: Instant | None
    ) -> ListingPosition[Instant]:
        """The position after the page cap stopped a poll above ``until``: keep the gap."""
        return ListingPosition(newest=self.newest, after=after, until=until, top=top)

    @classmethod
    def load(
        cls,
        raw: Any,
        decode: Callable[[Any], Instant],
        *,
        token_key: str = "after",
        not_after: Instant | None = None,
    ) -> ListingPosition[Instant]:
        """A position from its cursor JSON; an unreadable one starts afresh from the lookback.

        ``token_key`` is the page token's name in the JSON (YouTube's cursors say
        ``page_token``). A position after ``not_after`` (the poll's time) is unreadable too:
        an untrusted clock once pushed it into the future, where it would hide every item until
        then; re-reading the lookback instead loses nothing (ingest is idempotent).
        """
        if not isinstance(raw, dict):
            return cls()
        try:
            return cls(
                newest=_not_after(_maybe(decode, raw.get("newest")), not_after),
                after=raw.get(token_key),
                until=_not_after(_maybe(decode, raw.get("until")), not_after),
                top=_not_after(_maybe(decode, raw.get("top")), not_after),
            )
        except (ValueError, TypeError):
            return cls()

    def dump(self, encode: Callable[[Instant], Any], *, token_key: str = "after") -> dict[str, Any]:
        """The cursor JSON of this position: only the fields that are set."""
        fields = {
            "newest": _maybe(encode, self.newest),
            token_key: self.after,
            "until": _maybe(encode, self.until),
            "top": _maybe(encode, self.top),
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class UnreadWindow(Generic[Instant]):
    """Where one time-filtered, newest-first search stands.

    Everything up to ``since`` has been read. After a poll stopped early, ``until`` marks the
    oldest item it read (the window between ``since`` and ``until`` is unread) and
    ``resume_since`` the newest, which becomes ``since`` once the window is filled.

    >>> start = UnreadWindow(since=100)
    >>> capped = start.stopped(newest=300, oldest=250)
    >>> capped
    UnreadWindow(since=100, until=250, resume_since=300)
    >>> capped.stopped(newest=240, oldest=200)
    UnreadWindow(since=100, until=200, resume_since=300)
    >>> capped.caught_up(newest=240)
    UnreadWindow(since=300, until=None, resume_since=None)
    >>> start.caught_up(newest=None)
    UnreadWindow(since=100, until=None, resume_since=None)
    >>> capped.dump(int)
    {'since': 100, 'until': 250, 'resume_since': 300}
    """

    since: Instant
    until: Instant | None = None
    resume_since: Instant | None = None

    def caught_up(self, newest: Instant | None) -> UnreadWindow[Instant]:
        """The position after a poll read its window to the end; ``newest`` is the newest read."""
        since = self.resume_since if self.resume_since is not None else self.since
        return UnreadWindow(since=max(since, newest) if newest is not None else since)

    def stopped(self, newest: Instant | None, oldest: Instant | None) -> UnreadWindow[Instant]:
        """The position after the page cap stopped a poll that read ``newest`` to ``oldest``."""
        if newest is None or oldest is None:
            return self  # nothing datable read; try the same window again
        if self.until is not None:
            return UnreadWindow(self.since, oldest, self.resume_since)
        return UnreadWindow(self.since, oldest, newest)

    @classmethod
    def load(
        cls, raw: Any, decode: Callable[[Any], Instant], not_after: Instant | None = None
    ) -> UnreadWindow[Instant]:
        """A position from its cursor JSON; ``ValueError`` (or ``KeyError``) when unreadable.

        So is a position after ``not_after`` (see :meth:`ListingPosition.load`).
        """
        if not isinstance(raw, dict):
            raise ValueError(f"not a window position: {raw!r:.80}")
        since = _not_after(decode(raw["since"]), not_after)
        until, resume_since = raw.get("until"), raw.get("resume_since")
        if until is None or resume_since is None:
            return cls(since)
        return cls(
            since, _not_after(decode(until), not_after), _not_after(decode(resume_since), not_after)
        )

    def dump(self, encode: Callable[[Instant], Any]) -> dict[str, Any]:
        """The cursor JSON of this position (the window only while one is left)."""
        data = {"since": encode(self.since)}
        if self.until is not None and self.resume_since is not None:
            data |= {"until": encode(self.until), "resume_since": encode(self.resume_since)}
        return data


def load_windows(
    cursor: str | None, decode: Callable[[Any], Instant], not_after: Instant | None = None
) -> dict[str, UnreadWindow[Instant]]:
    """Each search's window from a ``{"terms": {search: position}}`` cursor.

    An unreadable cursor (an older version, a hand-edited database) gives no windows, so every
    search starts again from the lookback instead of failing forever.
    """
    if not cursor:
        return {}
    try:
        terms = json.loads(cursor)["terms"]
        return {search: UnreadWindow.load(raw, decode, not_after) for search, raw in terms.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def dump_windows(
    windows: Mapping[str, UnreadWindow[Instant]], encode: Callable[[Instant], Any]
) -> str:
    """The cursor text that :func:`load_windows` reads back."""
    terms = {search: window.dump(encode) for search, window in windows.items()}
    return json.dumps({"terms": terms}, sort_keys=True)


def _not_after(instant: _T, limit: _T | None) -> _T:
    """``instant``; ``ValueError`` when it is later than ``limit`` (None checks nothing)."""
    if instant is not None and limit is not None and instant > limit:  # type: ignore[operator]
        raise ValueError(f"position {instant!r} is after {limit!r}")
    return instant


def _maybe(convert: Callable[[_In], _Out], value: _In | None) -> _Out | None:
    return None if value is None else convert(value)

"""Reading a platform's items into mentions: times from remote clocks, and conversion that skips
an odd item instead of failing the poll.

Remote clocks are not trusted (see :data:`monitor.sources.base.MAX_CLOCK_SKEW`): an item whose
time cannot be believed is still handed to the pipeline, which drops and counts it, but it never
moves a cursor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ParamSpec

from monitor.models import Mention
from monitor.sources.base import EARLIEST_PLAUSIBLE, MAX_CLOCK_SKEW, plausible
from monitor.sources.window import Instant, latest


def parse_instant(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 text or epoch seconds; ``ValueError`` otherwise.

    Numbers no calendar holds (``10**19``) are a ``ValueError`` too, not an ``OverflowError``.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if not isinstance(value, str) or not value:
            raise ValueError(f"not a time: {value!r}")
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"not a time: {value!r:.40}") from exc


def trusted(instant: Instant | None, now: datetime) -> Instant | None:
    """A remote instant as a cursor may keep it: None when implausible, never after ``now``.

    Works on epoch seconds and on datetimes, as each source keeps its cursor.

    >>> now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    >>> trusted(int(now.timestamp()) - 60, now) == int(now.timestamp()) - 60
    True
    >>> trusted(int(now.timestamp()) + 30, now) == int(now.timestamp())  # a little ahead
    True
    >>> trusted(int(now.timestamp()) + 365 * 86400, now), trusted(0, now), trusted(10**19, now)
    (None, None, None)
    """
    if instant is None:
        return None
    if isinstance(instant, datetime):
        if not plausible(instant, now):
            return None
        return now if instant > now else instant
    if not EARLIEST_PLAUSIBLE.timestamp() <= instant <= (now + MAX_CLOCK_SKEW).timestamp():
        return None
    return min(instant, type(instant)(now.timestamp()))


def scan_newest_first(
    dated: Sequence[tuple[Mention, Instant]], until: Instant, top: Instant | None, now: datetime
) -> tuple[list[Mention], Instant | None, bool]:
    """One page of a newest-first listing read against its position (see ``ListingPosition``).

    Answers the mentions newer than ``until``, the newest believable time seen (``top``
    carried on), and whether the page reached what an earlier poll read. An item whose time
    cannot be believed neither moves the position nor ends the walk (the pipeline drops it).
    """
    new: list[Mention] = []
    reached_known = False
    for mention, created in dated:
        believed = trusted(created, now)
        if believed is None:
            new.append(mention)
            continue
        top = latest(top, believed)
        if believed < until:
            reached_known = True
            continue
        new.append(mention)
    return new, top, reached_known


# What converting one item may raise when the platform sent something odd: a missing field, a
# wrong type, a number out of range. Any of these skips that item, never the poll.
ITEM_ERRORS = (LookupError, TypeError, ValueError, ArithmeticError, AttributeError)

_Args = ParamSpec("_Args")


def lenient(
    convert: Callable[_Args, Mention | None],
) -> Callable[_Args, Mention | None]:
    """``convert`` (one platform item → a mention) with conversion errors read as "skip it".

    The caller counts a None as a skipped item, so one absurd item (``created_at_i = 10**19``,
    a list where a string belongs) costs that item and not the poll.
    """

    @functools.wraps(convert)
    def converting(*args: _Args.args, **kwargs: _Args.kwargs) -> Mention | None:
        try:
            return convert(*args, **kwargs)
        except ITEM_ERRORS:
            return None

    return converting

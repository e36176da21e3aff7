"""The contract every mention source fulfils: its settings, what a poll answers, how it fails.

A source is configured by a settings dataclass (its keys in settings.toml) and polled by the
ingest step with an ``httpx.Client``, the last cursor it returned and the current time. It
answers with the mentions it found and its next cursor, or raises :class:`SourceError`. It never
writes to the database and never reads the clock: the pipeline stores mentions and cursor
together, so a crash between the two cannot lose or double a mention. The helpers sources share
for that are in :mod:`monitor.sources.http` (requests and their failures) and
:mod:`monitor.sources.items` (platform items and their times).

A *streaming* source (:class:`Stream`, a sibling of :class:`Source`) holds a connection open
instead and hands what it reads to a :class:`StreamSink` in batches; the sink stores each batch
with the stream's cursor in one transaction, the same guarantee by another road.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import httpx

from monitor.models import Mention
from monitor.secrets import read_secret
from monitor.sources.limits import ByteSize, ResponseLimits, format_size

USER_AGENT = "shitstorm-monitor/0.1 (+https://github.com/shitstorm-monitor)"


class SourceError(Exception):
    """A poll that failed. It names the source; the bucket it spans becomes incomplete.

    ``retry_after`` is set when the platform asked us to wait (429, ``Retry-After``, rate-limit
    reset headers); the scheduler then skips this source until that time instead of hammering.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.retry_after = retry_after


# Bounds of the shared keys: below MIN_INTERVAL a poll loop only burns rate limits; a timeout
# shorter than MIN_TIMEOUT fails every poll; MAX_RESPONSE keeps four threads well under the
# unit's MemoryMax.
MIN_INTERVAL = timedelta(seconds=1)
MIN_TIMEOUT = timedelta(seconds=1)
MAX_PAGES = 1000
MIN_RESPONSE = 1024
MAX_RESPONSE = 256 * 1024 * 1024
DEFAULT_MAX_RESPONSE = ByteSize(10 * 1024 * 1024)


@dataclass(frozen=True, kw_only=True)
class SourceSettings:
    """Keys every source accepts. Subclasses add their own; a field without default is required."""

    type: str
    # Unique within a topic; defaults to the type. Stored with each mention and in poll records.
    name: str = ""
    interval: timedelta = timedelta(seconds=60)
    # API root. Empty means the platform's own; tests and self-hosted instances set their own.
    base_url: str = ""
    # How many pages one poll may follow before it stops and continues next time.
    max_pages: int = 5
    # httpx's timeout, which bounds each network read (and connecting) ...
    timeout: timedelta = timedelta(seconds=20)
    # ... and the deadline for a whole answer, redirects included: a slow drip cannot hold a
    # poll longer than this.
    deadline: timedelta = timedelta(seconds=60)
    # The largest answer read, counted after decompression (a gzip bomb stops here).
    max_response_size: ByteSize = DEFAULT_MAX_RESPONSE
    # How far back the very first poll (no cursor yet) reaches, so a new topic does not pull
    # years of history into its first buckets.
    lookback: timedelta = timedelta(hours=1)

    @property
    def source_name(self) -> str:
        return self.name or self.type

    @property
    def limits(self) -> ResponseLimits:
        return ResponseLimits(self.deadline, self.max_response_size)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field checks beyond types, as ``(key, message)`` pairs. None by default."""
        return []

    def common_problems(self) -> list[tuple[str, str]]:
        """The checks of the keys every source shares (subclasses keep to :meth:`problems`)."""
        found = []
        if self.interval < MIN_INTERVAL:
            found.append(("interval", f"must be at least {MIN_INTERVAL.total_seconds():g}s"))
        for key in ("timeout", "deadline"):
            if getattr(self, key) < MIN_TIMEOUT:
                found.append((key, f"must be at least {MIN_TIMEOUT.total_seconds():g}s"))
        if self.timeout > self.deadline:
            deadline = f"{self.deadline.total_seconds():g}s"
            found.append(("timeout", f"must not be longer than deadline ({deadline})"))
        if not 1 <= self.max_pages <= MAX_PAGES:
            found.append(("max_pages", f"must be between 1 and {MAX_PAGES}"))
        if not MIN_RESPONSE <= self.max_response_size <= MAX_RESPONSE:
            found.append(
                (
                    "max_response_size",
                    f"must be between {format_size(MIN_RESPONSE)} and {format_size(MAX_RESPONSE)}",
                )
            )
        if self.lookback < timedelta(0):
            found.append(("lookback", "must not be negative"))
        if self.base_url and (problem := url_problem(self.base_url)):
            found.append(("base_url", problem))
        return found


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL with a host, or None when it is one.

    >>> url_problem("https://example.org/api/"), url_problem("example.org")
    (None, "expected an http:// or https:// URL, got 'example.org'")
    """
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError, ValueError):
        return f"not a URL: {value!r}"
    if url.scheme not in ("http", "https") or not url.host:
        return f"expected an http:// or https:// URL, got {value!r}"
    return None


@dataclass(frozen=True)
class TopicTerms:
    """What a source needs to know about the topic it watches."""

    name: str
    terms: Sequence[str]
    languages: Sequence[str] = ()


@dataclass(frozen=True)
class PollResult:
    """What one poll found. ``cursor`` is opaque to everyone but the source that made it."""

    mentions: list[Mention]
    cursor: str | None
    # True when the page limit stopped the poll before it had caught up.
    truncated: bool = False
    # Human-readable rate-limit state for ``shitstorm sources test``, when the platform tells.
    rate_limit: str | None = None
    # Items the source skipped because they were malformed (logged by the pipeline).
    skipped: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)


class Source(Protocol):
    """One configured source of one topic."""

    name: str

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult: ...


class SourceFactory(Protocol):
    """A source class: built from its validated settings and the topic it watches."""

    settings_class: ClassVar[type[SourceSettings]]

    def __call__(self, settings: Any, topic: TopicTerms) -> Source: ...


def require_secret(
    source: str,
    var: str,
    environ: Mapping[str, str] | None = None,
    *,
    purpose: str = "missing credential",
) -> str:
    """The secret in ``var`` (see :func:`monitor.secrets.read_secret`), or a SourceError.

    The error says ``"{purpose}: set {var}"``: it names the variable to set, never a value.
    """
    return require_secrets(source, [var], environ, purpose=purpose)[0]


def require_secrets(
    source: str,
    variables: Sequence[str],
    environ: Mapping[str, str] | None = None,
    *,
    purpose: str = "missing credentials",
) -> list[str]:
    """The secrets in ``variables``, in order, or a SourceError naming those that are missing."""
    values = [read_secret(var, environ) for var in variables]
    missing = [var for var, value in zip(variables, values, strict=True) if not value]
    if missing:
        raise SourceError(source, f"{purpose}: set {' and '.join(missing)}")
    return [value for value in values if value]


# Remote clocks are not trusted. A created time later than this after our ``now`` is a broken
# or hostile clock (a post cannot be fetched before it is written), and one before
# EARLIEST_PLAUSIBLE is a placeholder (epoch 0, year 1) rather than a date. Such items are not
# stored (the pipeline counts them), and a source never moves a cursor past ``now`` on them.
MAX_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)


def plausible(created_at: datetime, now: datetime) -> bool:
    """Whether a remote created time can be believed at ``now`` (see ``MAX_CLOCK_SKEW``)."""
    return EARLIEST_PLAUSIBLE <= created_at <= now + MAX_CLOCK_SKEW


# -- streaming sources -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One topic's use of a stream: the topic, its source settings and where it stopped."""

    topic: TopicTerms
    settings: SourceSettings
    # The cursor stored for (topic, source), opaque to all but the stream; None on first start.
    cursor: str | None = None

    @property
    def source_name(self) -> str:
        return self.settings.source_name


@dataclass(frozen=True)
class StreamBatch:
    """What a stream read since its last batch; the sink stores it in one transaction.

    ``mentions`` holds, per subscription (by its index in the stream's list), the posts that
    matched it; ``deleted`` the platform ids of posts deleted meanwhile. ``cursor`` resumes the
    stream right after this batch, and ``position_at`` is the stream time it stands for: a
    bucket counts as read past its end once a stored batch's ``position_at`` has passed it.
    """

    mentions: Mapping[int, Sequence[Mention]]
    deleted: Sequence[str]
    cursor: str
    position_at: datetime
    events: int
    skipped: int = 0


class StreamSink(Protocol):
    """Where a stream delivers; implemented by the daemon (store) and ``sources test`` (print)."""

    def connected(self, url: str) -> None:
        """A connection is open and reading."""

    def save(self, batch: StreamBatch) -> None:
        """Store ``batch`` atomically. Raising makes the stream resume from the last saved one."""

    def failed(self, error: str) -> None:
        """The stream cannot read (cannot connect, or stalled): its buckets are incomplete."""


class Stream(Protocol):
    """One long-lived connection shared by the subscriptions of every topic that uses it."""

    name: str

    def run(self, sink: StreamSink, stop: threading.Event) -> None:
        """Read until ``stop`` is set, reconnecting with backoff; never raises."""


class StreamFactory(Protocol):
    """A streaming source class, registered by type like a :class:`SourceFactory`."""

    settings_class: ClassVar[type[SourceSettings]]

    @staticmethod
    def connection_key(settings: Any) -> tuple[str, ...]:
        """Subscriptions with equal keys share one connection."""

    def __call__(
        self,
        subscriptions: Sequence[Subscription],
        clock: Callable[[], datetime],
        *,
        resume: bool = True,
    ) -> Stream:
        """The stream for ``subscriptions``; ``resume=False`` reads live, ignoring cursors."""

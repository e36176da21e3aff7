"""The contract every mention source fulfils, and the HTTP error translation they share.

A source is configured by a settings dataclass (its keys in settings.toml) and polled by the
ingest step with an ``httpx.Client``, the last cursor it returned and the current time. It
answers with the mentions it found and its next cursor, or raises :class:`SourceError`. It never
writes to the database and never reads the clock: the pipeline stores mentions and cursor
together, so a crash between the two cannot lose or double a mention.

A *streaming* source (:class:`Stream`, a sibling of :class:`Source`) holds a connection open
instead and hands what it reads to a :class:`StreamSink` in batches; the sink stores each batch
with the stream's cursor in one transaction, the same guarantee by another road.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, ParamSpec, Protocol

import httpx

from monitor.models import Mention
from monitor.secrets import read_secret
from monitor.sources.limits import (
    ByteSize,
    DeadlineExceeded,
    ResponseLimits,
    ResponseTooLarge,
    format_size,
)
from monitor.sources.window import Instant, latest

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


def retry_after_from(response: httpx.Response, now: datetime) -> timedelta | None:
    """How long the server asked us to wait, from ``Retry-After`` (seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


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


def send(
    client: httpx.Client,
    source: str,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    json_data: Any = None,
    data: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    """One request whose transport failures (timeouts, refused connections) become SourceError.

    The status is left to the caller, for platforms whose errors need their own reading (else
    use :func:`fetch`). The error names the exception's class but not its text, which can echo
    a header value such as a token.
    """
    try:
        return client.request(
            method,
            url,
            params=params,
            headers=headers,
            json=json_data,
            data=data,
            auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth,
        )
    except httpx.HTTPError as exc:
        raise transport_error(source, url, exc, detail=False) from None


def fetch(
    client: httpx.Client,
    source: str,
    url: str,
    now: datetime,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    default_backoff: timedelta = timedelta(minutes=1),
) -> httpx.Response:
    """GET ``url`` and turn every transport or HTTP failure into a :class:`SourceError`.

    A 304 is returned as is (the caller asked for it with a conditional request).
    """
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise transport_error(source, url, exc, detail=True) from None
    check_status(response, source, now, default_backoff=default_backoff)
    return response


def transport_error(source: str, url: str, exc: httpx.HTTPError, *, detail: bool) -> SourceError:
    """The SourceError for a request that got no usable answer.

    Our own limits say what they are; httpx's text is added only with ``detail``, because it can
    echo a header value such as a token.
    """
    if isinstance(exc, DeadlineExceeded | ResponseTooLarge):
        return SourceError(source, f"gave up on {url}: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return SourceError(source, f"timed out fetching {url}")
    text = f": {exc}" if detail else ""
    return SourceError(source, f"cannot fetch {url}: {exc.__class__.__name__}{text}")


def check_status(
    response: httpx.Response,
    source: str,
    now: datetime,
    *,
    default_backoff: timedelta = timedelta(minutes=1),
) -> None:
    """Raise :class:`SourceError` for any status but 2xx and 304, with advice where we have it."""
    status = response.status_code
    if 200 <= status < 300 or status == 304:
        return
    url = str(response.request.url.copy_with(query=None)) if response.request else "?"
    if status == 429:
        wait = retry_after_from(response, now) or default_backoff
        raise SourceError(
            source, f"rate limited (429) by {url}; retrying after {wait}", retry_after=wait
        )
    if status in (401, 403):
        raise SourceError(
            source, f"{status} from {url}: access denied; check your token or credentials"
        )
    if status >= 500:
        raise SourceError(
            source, f"server error {status} from {url}", retry_after=retry_after_from(response, now)
        )
    raise SourceError(source, f"unexpected HTTP {status} from {url}")


def json_body(response: httpx.Response, source: str) -> Any:
    """The decoded JSON body, or :class:`SourceError` when it is an HTML error page or garbage."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "unknown content type")
        raise SourceError(
            source, f"expected JSON from {response.request.url}, got {kind}: {response.text[:80]!r}"
        ) from None


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


# Remote clocks are not trusted. A created time later than this after our ``now`` is a broken
# or hostile clock (a post cannot be fetched before it is written), and one before
# EARLIEST_PLAUSIBLE is a placeholder (epoch 0, year 1) rather than a date. Such items are not
# stored (the pipeline counts them), and a source never moves a cursor past ``now`` on them.
MAX_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)


def plausible(created_at: datetime, now: datetime) -> bool:
    """Whether a remote created time can be believed at ``now`` (see ``MAX_CLOCK_SKEW``)."""
    return EARLIEST_PLAUSIBLE <= created_at <= now + MAX_CLOCK_SKEW


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

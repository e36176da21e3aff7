"""One request to a platform, with every way it can fail turned into a :class:`SourceError`.

Transport failures (timeouts, refused connections, our own size and time limits) and HTTP
statuses become errors that name the source and the URL, with advice where there is some
(429 and ``Retry-After`` set when the scheduler may try again), and never echo a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from monitor.sources.base import SourceError
from monitor.sources.limits import DeadlineExceeded, ResponseTooLarge


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

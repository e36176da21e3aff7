"""What a failed Slack Web API call means: retry later, wait out a rate limit, fix the setup
(the alert waits for it), or give the message up (only when Slack rejects the message itself).

Shared by the alerter and the setup check (``shitstorm slack check``), so both name a bad
token, a missing scope or an unknown channel in the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from slack_sdk.errors import SlackApiError

from alerts.base import AlertError

# Errors a retry alone cannot fix, in words that say what to change.
SLACK_ERRORS: Final[Mapping[str, str]] = {
    "channel_not_found": "channel {channel} not found (use the channel id, e.g. C0123ABC, "
    "or check the name)",
    "not_in_channel": "the app is not a member of channel {channel}: invite it with "
    "/invite @<app name>",
    "is_archived": "channel {channel} is archived",
    "invalid_auth": "the bot token (SLACK_BOT_TOKEN) is invalid",
    "not_authed": "no bot token (SLACK_BOT_TOKEN) was sent",
    "account_inactive": "the bot token belongs to a deactivated app or workspace",
    "token_revoked": "the bot token (SLACK_BOT_TOKEN) was revoked",
    "token_expired": "the bot token (SLACK_BOT_TOKEN) has expired",
    "missing_scope": "the Slack app lacks a scope for {method} (see "
    "deploy/slack-app-manifest.yaml)",
    "invalid_blocks": "Slack rejected the message blocks ({detail})",
    "msg_too_long": "the message is too long for Slack",
    "no_text": "the message has no text",
    "restricted_action": "the workspace does not allow the app to post in {channel}",
}
# The message itself is wrong: no fix of the setup will deliver it, so it is dropped.
CONTENT_ERRORS: Final = frozenset({"invalid_blocks", "msg_too_long", "no_text"})
# The token is wrong: every call to the workspace fails the same way until a person fixes it,
# so the whole alerter is held back this long at a time (the daemon's token check, every
# minute while it fails, says when it works again) instead of trying each notification.
TOKEN_ERRORS: Final = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
TOKEN_HOLD: Final = timedelta(minutes=1)


class SlackCallError(AlertError):
    """An ``AlertError`` that keeps Slack's error code, so callers can react to one."""

    def __init__(
        self,
        alerter: str,
        message: str,
        *,
        code: str,
        permanent: bool = False,
        retry_after: timedelta | None = None,
        needs_fixing: bool = False,
    ) -> None:
        super().__init__(
            alerter,
            message,
            permanent=permanent,
            retry_after=retry_after,
            needs_fixing=needs_fixing,
        )
        self.code = code


def translate(alerter: str, error: SlackApiError, method: str, channel: str) -> SlackCallError:
    """Slack's answer to a failed call as an ``AlertError`` that says what to do about it."""
    response = error.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = response.data if isinstance(response.data, Mapping) else {}
    code = str(data.get("error") or f"HTTP {status}")
    if status == 429 or code == "ratelimited":
        retry_after = retry_after_of(response.headers)
        return SlackCallError(
            alerter,
            f"{method} rate limited (retry after {retry_after.total_seconds():.0f}s)",
            code="ratelimited",
            retry_after=retry_after,
        )
    if status >= 500:
        return SlackCallError(alerter, f"{method} failed: Slack answered HTTP {status}", code=code)
    if code in SLACK_ERRORS:
        detail = "; ".join(str(e) for e in data.get("errors") or []) or code
        if code == "missing_scope" and data.get("needed"):
            detail = f"needs {data['needed']}"
        message = SLACK_ERRORS[code].format(channel=channel, method=method, detail=detail)
        if code == "missing_scope":
            message += f" ({detail})"
        if code in CONTENT_ERRORS:
            return SlackCallError(alerter, f"{method}: {message}", code=code, permanent=True)
        # A setup error: the alert waits for the fix (held, not dropped).
        return SlackCallError(
            alerter,
            f"{method}: {message}",
            code=code,
            retry_after=TOKEN_HOLD if code in TOKEN_ERRORS else None,
            needs_fixing=True,
        )
    # Unknown ok:false errors (e.g. internal_error, fatal_error, request_timeout) are
    # treated as transient: the outbox retries them with backoff (retry_initial doubling
    # up to retry_max) for as long as they last.
    return SlackCallError(alerter, f"{method} failed: {code}", code=code)


def retry_after_of(headers: Any) -> timedelta:
    """Slack's ``Retry-After`` in seconds; 30 s when it is missing or unreadable."""
    value = None
    if isinstance(headers, Mapping):
        for key, header in headers.items():
            if str(key).lower() == "retry-after":
                value = header[0] if isinstance(header, list) and header else header
    try:
        return timedelta(seconds=max(1, int(str(value))))
    except (TypeError, ValueError):
        return timedelta(seconds=30)


def describe(error: BaseException) -> str:
    # URLError's str() is "<urlopen error ...>"; the reason is what a human needs.
    reason = getattr(error, "reason", None)
    return str(reason) if reason is not None else f"{type(error).__name__}: {error}"

"""Is Slack set up? The token (``auth.test``), its scopes, the channels, and a test post.

``shitstorm slack test`` runs all of it and prints one screen; the daemon runs the token check
(:func:`check_token`) at start, on reload and while it fails, so a wrong token shows in the log,
``/healthz`` and ``status`` long before the first storm. Calls go through the same
:class:`~alerts.slack.SlackAlerter` plumbing as delivery, so a problem reads as delivery would
report it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts.base import AlertError
from alerts.slack import _CHANNEL_ID as CHANNEL_ID
from alerts.slack import SlackAlerter
from alerts.slack_errors import SLACK_ERRORS, retry_after_of
from monitor.secrets import SecretLookup, read_secret
from monitor.settings import Settings, SlackSettings
from monitor.store import Check, Store

log = logging.getLogger("alerts.slack_check")

Status = Literal["ok", "warn", "fail"]
# The daemon re-checks a failing token this often, and a good one this often (a revoked token
# or an uninstalled app then shows in /healthz within the hour, not at the next storm).
RETRY_EVERY = timedelta(minutes=1)
RECHECK_EVERY = timedelta(hours=1)
TEST_TEXT = (
    "Shitstorm monitor: test message from `shitstorm slack test` (deleted again right away)."
)


@dataclass(frozen=True)
class Finding:
    status: Status
    what: str  # "token", "scopes", "#social-alerts", "test post"
    detail: str


@dataclass(frozen=True)
class Identity:
    """What ``auth.test`` says about the token: never the token itself."""

    team: str
    team_id: str
    user: str
    user_id: str
    bot_id: str | None
    scopes: frozenset[str] | None  # None when Slack did not say (no x-oauth-scopes header)

    def describe(self) -> str:
        return f"workspace {self.team} ({self.team_id}), bot @{self.user} ({self.user_id})"


@dataclass
class SlackTestReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, status: Status, what: str, detail: str) -> None:
        self.findings.append(Finding(status, what, detail))

    @property
    def failed(self) -> bool:
        return any(f.status == "fail" for f in self.findings)

    def render(self) -> str:
        width = max([len(f.what) for f in self.findings] + [8])
        marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
        lines = [f"  {marks[f.status]}  {f.what:<{width}}  {f.detail}" for f in self.findings]
        problems = sum(f.status == "fail" for f in self.findings)
        warnings = sum(f.status == "warn" for f in self.findings)
        verdict = "Slack is ready" if not problems else f"{problems} problem(s) to fix"
        if warnings:
            verdict += f", {warnings} warning(s)"
        return "\n".join([*lines, verdict])


class SlackCheckError(Exception):
    """The token check failed; the message says why in words, never with the token.

    ``retry_after`` is Slack's ``Retry-After`` when it answered 429: a limit for the whole
    workspace, which the outbox then honours too.
    """

    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def web_client(slack: SlackSettings, token: str | None) -> WebClient:
    return WebClient(token=token, base_url=slack.api_url, timeout=10)


def check_token(client: WebClient, token_var: str) -> Identity:
    """``auth.test``: who the token is; :class:`SlackCheckError` when Slack refuses it."""
    try:
        response = client.auth_test()
    except SlackApiError as error:
        data = error.response.data if isinstance(error.response.data, Mapping) else {}
        status = int(getattr(error.response, "status_code", 0) or 0)
        code = str(data.get("error") or f"HTTP {status}")
        if status == 429:
            raise SlackCheckError(
                "auth.test failed: Slack answered HTTP 429",
                retry_after=retry_after_of(error.response.headers),
            ) from None
        if status >= 500:
            raise SlackCheckError(f"auth.test failed: Slack answered HTTP {status}") from None
        message = SLACK_ERRORS.get(code, "auth.test failed: {code}").format(
            code=code, channel="", method="auth.test", detail=code
        )
        raise SlackCheckError(message.replace("SLACK_BOT_TOKEN", token_var)) from None
    except (SlackClientError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise SlackCheckError(f"cannot reach Slack at {client.base_url}: {reason}") from None
    data = response.data if isinstance(response.data, Mapping) else {}
    return Identity(
        team=str(data.get("team") or "?"),
        team_id=str(data.get("team_id") or "?"),
        user=str(data.get("user") or "?"),
        user_id=str(data.get("user_id") or "?"),
        bot_id=str(data["bot_id"]) if data.get("bot_id") else None,
        scopes=_scopes(response.headers),
    )


def record_token_check(
    store: Store,
    slack: SlackSettings,
    environ: Mapping[str, str] | None,
    now: datetime,
    *,
    announce: bool,
) -> Check:
    """Run ``auth.test`` for the daemon and store the result for ``/healthz`` and ``status``.

    Logs who the token is when ``announce`` (start, reload) or when it recovers, and every
    failure; never the token.
    """
    before = store.check("slack")
    try:
        identity = check_token(
            web_client(slack, read_secret(slack.token_env, environ)), slack.token_env
        )
    except SlackCheckError as exc:
        store.save_check("slack", False, str(exc), now)
        if exc.retry_after is not None:
            store.set_rate_limit("slack", now + exc.retry_after, str(exc))
        log.error(
            "Slack check failed: %s; alerts cannot reach Slack (retrying every %ds)",
            exc,
            RETRY_EVERY.total_seconds(),
        )
    else:
        store.save_check("slack", True, identity.describe(), now)
        if announce or before is None or not before.ok:
            log.info("Slack: connected to %s", identity.describe())
    check = store.check("slack")
    assert check is not None
    return check


def token_check_due(check: Check | None, now: datetime) -> bool:
    if check is None:
        return True
    return now - check.checked_at >= (RECHECK_EVERY if check.ok else RETRY_EVERY)


def needed_scopes(
    slack: SlackSettings, channels: Sequence[str], *, private: bool = False
) -> dict[str, str]:
    """Scope → why it is needed, for these settings (see deploy/slack-app-manifest.yaml)."""
    needed = {"chat:write": "post and update incident messages"}
    if slack.upload_charts:
        needed["files:write"] = "upload the chart into the thread (upload_charts = true)"
    needed["channels:history"] = "find an earlier post after a crash"
    if private:
        needed["groups:history"] = "the same in private channels"
    if any(not CHANNEL_ID.match(channel) for channel in channels):
        needed["channels:read"] = "resolve channel names to ids (or configure channel ids)"
    if slack.allowed_group:
        needed["usergroups:read"] = "read the members of allowed_group"
    return needed


def run_slack_test(
    settings: Settings,
    token: SecretLookup,
    *,
    channels: Sequence[str] = (),
    post: bool = True,
) -> SlackTestReport:
    """Everything ``shitstorm slack test`` checks, stopping where nothing else can work."""
    report = SlackTestReport()
    slack = settings.slack
    if slack is None:
        report.add("fail", "settings", "no [slack] table in the settings: add one with a channel")
        return report
    if token.value is None:
        report.add(
            "fail",
            "token",
            token.problem or f"not set: put the bot token (xoxb-…) in {slack.token_env}",
        )
        return report
    client = web_client(slack, token.value)
    try:
        identity = check_token(client, slack.token_env)
    except SlackCheckError as exc:
        report.add("fail", "token", f"{slack.token_env} ({token.origin}): {exc}")
        return report
    report.add("ok", "token", f"{slack.token_env} ({token.origin}): {identity.describe()}")
    wanted = list(channels) or _configured_channels(settings)
    # Delivery's own channel lookup and error wording: what fails here fails there the same way.
    alerter = SlackAlerter(client, slack.channel, upload_charts=slack.upload_charts)
    ids, private = {}, False
    for channel in wanted:
        found = _check_channel(alerter, channel, report)
        if found is not None:
            ids[channel], is_private = found
            private = private or is_private
    _check_scopes(identity, needed_scopes(slack, wanted, private=private), report)
    for channel, channel_id in ids.items():
        if post:
            _test_post(alerter, channel, channel_id, report)
    if not post:
        report.add("ok", "test post", "skipped (--dry-run): nothing was posted")
    return report


def _configured_channels(settings: Settings) -> list[str]:
    assert settings.slack is not None
    channels = [settings.slack.channel]
    for topic in settings.topics:
        if topic.channel and topic.channel not in channels:
            channels.append(topic.channel)
    return channels


def _check_channel(
    alerter: SlackAlerter, channel: str, report: SlackTestReport
) -> tuple[str, bool] | None:
    """The channel's id and whether it is private, when the bot can post there."""
    try:
        channel_id = alerter._resolve_channel(channel)
        info = alerter._call("conversations.info", channel, channel=channel_id)
    except AlertError as exc:
        report.add("fail", channel, _plain(exc))
        return None
    data: Mapping[str, Any] = info.get("channel") or {}
    kind = "private channel" if data.get("is_private") else "channel"
    if data.get("is_archived"):
        report.add("fail", channel, f"{kind} {channel_id} is archived")
        return None
    if not data.get("is_member", True):
        report.add(
            "fail",
            channel,
            f"{kind} {channel_id}: the bot is not a member: invite it with /invite @<app name>",
        )
        return None
    report.add("ok", channel, f"{kind} {channel_id}, the bot is a member")
    return channel_id, bool(data.get("is_private"))


def _check_scopes(identity: Identity, needed: Mapping[str, str], report: SlackTestReport) -> None:
    if identity.scopes is None:
        report.add("warn", "scopes", "Slack did not list the token's scopes; not checked")
        return
    missing = [f"{scope} ({why})" for scope, why in needed.items() if scope not in identity.scopes]
    if missing:
        report.add(
            "fail",
            "scopes",
            "missing "
            + "; ".join(missing)
            + " — add them in deploy/slack-app-manifest.yaml and reinstall the app",
        )
    else:
        report.add("ok", "scopes", ", ".join(sorted(needed)))


def _test_post(
    alerter: SlackAlerter, channel: str, channel_id: str, report: SlackTestReport
) -> None:
    try:
        posted = alerter._call("chat.postMessage", channel, channel=channel_id, text=TEST_TEXT)
    except AlertError as exc:
        report.add("fail", "test post", f"{channel}: {_plain(exc)}")
        return
    try:
        alerter._call("chat.delete", channel, channel=channel_id, ts=posted.get("ts"))
    except AlertError as exc:
        report.add(
            "warn", "test post", f"posted in {channel} but could not delete it: {_plain(exc)}"
        )
        return
    report.add("ok", "test post", f"posted a test message in {channel} and deleted it")


def _plain(error: AlertError) -> str:
    """The alerter's message without its "slack: " prefix."""
    return error.message


def _scopes(headers: Any) -> frozenset[str] | None:
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if str(key).lower() == "x-oauth-scopes":
            text = value[0] if isinstance(value, list) and value else value
            return frozenset(s.strip() for s in str(text).split(",") if s.strip())
    return None

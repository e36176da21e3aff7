"""Deliver notifications to Slack: one message per incident, updated in place, with a thread.

The first notification of an incident posts the message (``chat.postMessage``, with message
metadata naming the incident); later ones re-render it from the latest snapshot
(``chat.update``) and add a short thread reply for what deserves attention (severity up,
escalation, acknowledgement, resolution, reopening). The chart goes into the thread.

Delivery is at-least-once from the outbox, so this alerter makes repeats harmless: when an
earlier attempt may have posted already (``retrying``), it finds that post by its metadata in
``conversations.history`` and updates it, and it tags thread replies and source notices with the
notification id so a retried one is not posted twice.

Rate limits are not waited out here: slack_sdk's ``RateLimitErrorRetryHandler`` would sleep
for ``Retry-After`` inside the deliver job and hold up every other notification, so it is
removed from the client and a 429 becomes ``AlertError(retry_after=...)``, for the outbox to
hold back every notification to this workspace until it has passed. slack_sdk's default
one-shot retry of dropped connections is kept.

Charts go into the thread named after their notification, so a retry (after a crash, or after
the upload itself failed) looks for the file and uploads it only when it is not there yet.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from alerts import slack_blocks, source_status
from alerts.base import AlertError
from alerts.slack_errors import SLACK_ERRORS, SlackCallError, describe, translate
from monitor.models import Notification, NotificationKind

log = logging.getLogger(__name__)

THREAD_KINDS: Final = frozenset(
    {
        NotificationKind.OPENED,
        NotificationKind.REOPENED,
        NotificationKind.SEVERITY_UP,
        NotificationKind.ESCALATED,
        NotificationKind.ACKNOWLEDGED,
        NotificationKind.RESOLVED,
    }
)
CHART_KINDS: Final = frozenset(
    {NotificationKind.OPENED, NotificationKind.REOPENED, NotificationKind.SEVERITY_UP}
)
# A chart whose upload keeps failing for a passing reason is retried with its notification
# this many times in all, then given up: a chart must not hold back the incident for long.
CHART_TRIES: Final = 3
REPLY_EVENT_TYPE: Final = "shitstorm_notification"
# Metadata of a "source failing" / "source back" notice, so a retried one is found, not reposted.
SOURCE_STATUS_EVENT_TYPE: Final = "shitstorm_source_status"
# 5 × 200 messages back. (Slack's 2025 limits of 15 messages a minute on conversations.history
# apply to commercially distributed apps only, not to a workspace's own internal app.)
HISTORY_PAGES: Final = 5
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


class SlackAlerter:
    """Posts and updates incident messages in one Slack channel (or a per-topic override)."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        *,
        name: str = "slack",
        upload_charts: bool = True,
    ) -> None:
        self.client = client
        self.channel = channel
        self.name = name
        self.upload_charts = upload_charts
        self._channel_ids: dict[str, str] = {}
        # See the module docstring: a 429 must reach the outbox, not block the deliver job.
        client.retry_handlers = [
            h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)
        ]

    # -- the Alerter protocol ----------------------------------------------------------------

    def send(
        self, notification: Notification, message_ref: str | None, *, retrying: bool
    ) -> str | None:
        payload = notification.payload
        channel = str(payload.get("channel") or self.channel)
        if notification.kind in (NotificationKind.SOURCE_DOWN, NotificationKind.SOURCE_UP):
            self._source_status(notification, channel, check_first=retrying)
            return None
        if notification.incident_id is None:
            raise AlertError(
                self.name, f"{notification.kind} notification without incident", permanent=True
            )

        ref = _parse_ref(message_ref)
        if ref is None and retrying:
            ref = self._find_incident_post(channel, notification.incident_id)
        blocks = slack_blocks.incident_blocks(payload)
        text = slack_blocks.incident_text(payload)
        metadata = {
            "event_type": slack_blocks.METADATA_EVENT_TYPE,
            "event_payload": {"incident_id": notification.incident_id, "topic": notification.topic},
        }
        posted_now = False
        if ref is not None:
            try:
                self._call(
                    "chat.update",
                    ref[0],
                    channel=ref[0],
                    ts=ref[1],
                    blocks=blocks,
                    text=text,
                    metadata=metadata,
                )
            except SlackCallError as error:
                if error.code != "message_not_found":
                    raise
                # Someone deleted the message: post a fresh one rather than go silent.
                ref = None
        if ref is None:
            response = self._call(
                "chat.postMessage",
                channel,
                channel=channel,
                blocks=blocks,
                text=text,
                metadata=metadata,
                unfurl_links=False,
            )
            ref = (str(response["channel"]), str(response["ts"]))
            posted_now = True

        # On a retry the reply and the chart may be in the thread already: look before posting.
        check_first = retrying and not posted_now
        if notification.kind in THREAD_KINDS:
            self._thread_reply(notification, ref, check_first=check_first)
        if notification.kind in CHART_KINDS and self.upload_charts:
            self._upload_chart(notification, ref, check_first=check_first)
        return json.dumps({"channel": ref[0], "ts": ref[1]})

    # -- steps -------------------------------------------------------------------------------

    def _source_status(
        self, notification: Notification, channel: str, *, check_first: bool
    ) -> None:
        if check_first and self._find_post(
            channel, SOURCE_STATUS_EVENT_TYPE, "notification_id", notification.id
        ):
            return
        text = source_status.plain_source_status_text(notification.kind, notification.payload)
        mrkdwn = source_status.source_status_text(notification.kind, notification.payload)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}]
        metadata = {
            "event_type": SOURCE_STATUS_EVENT_TYPE,
            "event_payload": {"notification_id": notification.id, "topic": notification.topic},
        }
        self._call(
            "chat.postMessage",
            channel,
            channel=channel,
            text=text,
            blocks=blocks,
            metadata=metadata,
        )

    def _thread_reply(
        self, notification: Notification, ref: tuple[str, str], *, check_first: bool
    ) -> None:
        text = slack_blocks.thread_reply_text(notification.kind, notification.payload)
        if text is None:
            return
        if check_first and self._reply_exists(ref, notification.id):
            return
        self._call(
            "chat.postMessage",
            ref[0],
            channel=ref[0],
            thread_ts=ref[1],
            text=text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            # An escalation must be seen by people who do not follow the thread.
            reply_broadcast=notification.kind is NotificationKind.ESCALATED,
            metadata={
                "event_type": REPLY_EVENT_TYPE,
                "event_payload": {
                    "incident_id": notification.incident_id,
                    "notification_id": notification.id,
                },
            },
        )

    def _upload_chart(
        self, notification: Notification, ref: tuple[str, str], *, check_first: bool
    ) -> None:
        """Upload the notification's chart into the thread, once.

        The file is named after the notification, so a retry finds it in the thread. A passing
        failure (an outage, a rate limit) fails the notification, whose message and reply are
        out already: its retry finds them and uploads only the chart, up to
        :data:`CHART_TRIES` tries. A chart that cannot be drawn or is refused for good (no
        ``files:write``) is logged and skipped: the alert itself went out.
        """
        filename = f"incident-{notification.incident_id}-{notification.id}.png"
        if check_first and self._file_in_thread(ref, filename):
            return
        try:
            from alerts.chart import render_chart

            png = render_chart(notification.payload)
        except Exception as error:
            log.warning(
                "%s: the chart of incident %s could not be drawn: %s",
                self.name,
                notification.incident_id,
                describe(error),
            )
            return
        if png is None:
            return
        try:
            self.client.files_upload_v2(
                channel=ref[0],
                thread_ts=ref[1],
                content=png,
                filename=filename,
                title=f"{notification.topic}: volume and negative posts",
                alt_txt="Volume and negative posts over time, with the expected band",
            )
        except SlackApiError as error:
            self._chart_failed(notification, translate(self.name, error, "files upload", ref[0]))
        except (SlackClientError, URLError, OSError, ValueError) as error:
            failure = AlertError(self.name, f"chart upload failed: {describe(error)}")
            self._chart_failed(notification, failure)

    def _chart_failed(self, notification: Notification, failure: AlertError) -> None:
        # A chart never waits for a fix of the setup (say a missing files:write scope): the
        # alert goes out without it.
        passing = not (failure.permanent or failure.needs_fixing)
        if passing and notification.attempts + 1 < CHART_TRIES:
            raise failure
        log.warning(
            "%s: giving up on the chart of incident %s: %s",
            self.name,
            notification.incident_id,
            failure.message,
        )

    def _file_in_thread(self, ref: tuple[str, str], filename: str) -> bool:
        response = self._call("conversations.replies", ref[0], channel=ref[0], ts=ref[1], limit=200)
        return any(
            file.get("name") == filename
            for message in response.get("messages") or []
            for file in message.get("files") or []
            if isinstance(file, Mapping)
        )

    def _find_incident_post(self, channel: str, incident_id: int) -> tuple[str, str] | None:
        """The earlier post of this incident, found by its metadata, or None."""
        event_type = slack_blocks.METADATA_EVENT_TYPE
        return self._find_post(channel, event_type, "incident_id", incident_id)

    def _find_post(
        self, channel: str, event_type: str, key: str, wanted: int
    ) -> tuple[str, str] | None:
        """The channel's recent message whose metadata has ``event_type`` and ``key = wanted``."""
        channel_id = self._resolve_channel(channel)
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            response = self._call(
                "conversations.history",
                channel,
                channel=channel_id,
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                event = metadata.get("event_payload") or {}
                if metadata.get("event_type") == event_type and _same_id(event.get(key), wanted):
                    return channel_id, str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return None

    def _reply_exists(self, ref: tuple[str, str], notification_id: int) -> bool:
        response = self._call(
            "conversations.replies",
            ref[0],
            channel=ref[0],
            ts=ref[1],
            include_all_metadata=True,
            limit=200,
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            event = metadata.get("event_payload") or {}
            if metadata.get("event_type") == REPLY_EVENT_TYPE and _same_id(
                event.get("notification_id"), notification_id
            ):
                return True
        return False

    def _resolve_channel(self, channel: str) -> str:
        """The channel id for a name: conversations.history accepts ids only."""
        if _CHANNEL_ID.match(channel):
            return channel
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel.lstrip("#")
        cursor: str | None = None
        while True:
            response = self._call(
                "conversations.list",
                channel,
                limit=1000,
                cursor=cursor,
                exclude_archived=True,
                types="public_channel,private_channel",
            )
            for found in response.get("channels") or []:
                if found.get("name") == name:
                    self._channel_ids[channel] = str(found["id"])
                    return str(found["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                raise AlertError(
                    self.name,
                    SLACK_ERRORS["channel_not_found"].format(channel=channel),
                    needs_fixing=True,
                )

    def _call(self, method: str, channel: str, /, **kwargs: Any) -> Mapping[str, Any]:
        """Call a Web API method, translating every failure into an ``AlertError``."""
        arguments = {k: v for k, v in kwargs.items() if v is not None}
        try:
            response = (
                self.client.api_call(method, json=arguments)
                if method.startswith("chat.")
                else self.client.api_call(method, params=arguments)
            )
        except SlackApiError as error:
            raise translate(self.name, error, method, channel) from error
        except (SlackClientError, URLError, OSError, ValueError) as error:
            raise AlertError(self.name, f"{method} failed: {describe(error)}") from error
        data = response.data
        return data if isinstance(data, Mapping) else {}


def _parse_ref(message_ref: str | None) -> tuple[str, str] | None:
    if not message_ref:
        return None
    try:
        ref = json.loads(message_ref)
        return str(ref["channel"]), str(ref["ts"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring unreadable Slack message reference %r", message_ref)
        return None


def _same_id(value: Any, wanted: int) -> bool:
    try:
        return int(value) == wanted
    except (TypeError, ValueError):
        return False

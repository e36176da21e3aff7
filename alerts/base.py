"""The contract between the outbox and the alerters that deliver its notifications."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from monitor.models import Notification


class AlertError(Exception):
    """A delivery that failed.

    ``permanent`` failures are not retried: the notification itself cannot be delivered (a
    message Slack rejects). The others are retried with backoff, after ``retry_after`` when the
    service said how long to wait (for every notification to that destination).
    ``needs_fixing`` marks a failure only a person can end — a revoked token, an unknown
    channel, a missing scope: it is logged as an error with what to change, and the
    notification waits for the fix instead of being dropped.
    """

    def __init__(
        self,
        alerter: str,
        message: str,
        *,
        permanent: bool = False,
        retry_after: timedelta | None = None,
        needs_fixing: bool = False,
    ) -> None:
        super().__init__(f"{alerter}: {message}")
        self.alerter = alerter
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.needs_fixing = needs_fixing


class Alerter(Protocol):
    """Delivers notifications to one destination.

    ``message_ref`` is what this alerter returned for an earlier notification of the same
    incident (for Slack: the channel and ``ts`` of the incident's message), so it can update
    that message instead of posting a new one. ``retrying`` is true when an earlier attempt of
    this very notification may have reached the destination before the process died; the
    alerter must then look before it posts again. The return value is stored as the incident's
    message reference for the next notification.
    """

    name: str

    def send(
        self, notification: Notification, message_ref: str | None, *, retrying: bool
    ) -> str | None: ...

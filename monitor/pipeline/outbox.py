"""Delivering the outbox: in order, with backoff, rate limits, and superseded updates skipped."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from alerts.base import Alerter, AlertError
from monitor import metrics
from monitor.models import Notification, NotificationKind
from monitor.pipeline.context import Context
from monitor.store import Store

log = logging.getLogger("monitor.pipeline")


def deliver(ctx: Context, alerters: Mapping[str, Alerter], now: datetime) -> int:
    """Send what the outbox holds, in order per incident; returns how many were sent.

    A notification is counted as attempted before it is sent, so after a crash mid-send the
    alerter knows to look before posting again. While a notification waits for its retry, the
    later ones of its incident (or, for source notices, its topic) wait behind it, in this run
    and the next (order matters: "resolved" must not overtake "opened"). A rate limit
    (``retry_after``) holds back every notification of that alerter — one Slack workspace — until
    it has passed, in this run, the next ones and after a restart.
    """
    store = ctx.store
    started = time.perf_counter()
    sent = 0
    for notification in store.due_notifications(now, limit=500):
        # Read for each one: another job (the Slack token check) may have been told to wait.
        if notification.alerter in store.rate_limits(now) or store.waits_behind(notification):
            continue
        alerter = alerters.get(notification.alerter)
        if alerter is None:
            continue
        if _superseded(store, notification, now):
            continue
        message_ref = (
            store.message_ref(notification.incident_id, alerter.name)
            if notification.incident_id is not None
            else None
        )
        store.begin_attempt(notification.id)
        try:
            ref = alerter.send(notification, message_ref, retrying=notification.attempts > 0)
        except AlertError as exc:
            _failed(ctx, notification, exc, now)
            if exc.retry_after is not None and not exc.permanent:
                # The wait counts from when the answer came, not from when this run began.
                answered_at = now + timedelta(seconds=time.perf_counter() - started)
                _rate_limited(store, notification.alerter, exc, answered_at)
            continue
        except Exception as exc:  # an alerter bug must not stop the outbox
            log.exception("%s: delivering notification %d crashed", alerter.name, notification.id)
            _failed(ctx, notification, AlertError(alerter.name, str(exc)), now)
            continue
        with store.transaction():
            if ref is not None and notification.incident_id is not None:
                store.set_message_ref(notification.incident_id, alerter.name, ref)
            store.mark_sent(notification.id, now)
        sent += 1
    counts = store.notification_counts()
    metrics.NOTIFICATIONS_PENDING.set(sum(n for (_, s), n in counts.items() if s == "pending"))
    metrics.NOTIFICATIONS_FAILED.set(sum(n for (_, s), n in counts.items() if s == "failed"))
    return sent


def _rate_limited(store: Store, alerter: str, exc: AlertError, answered_at: datetime) -> None:
    """Record that ``alerter`` must not be called before its ``Retry-After`` (a rate limit, or
    a hold while its token is wrong) has passed."""
    assert exc.retry_after is not None
    until = answered_at + exc.retry_after
    store.set_rate_limit(alerter, until, exc.message)
    log.warning(
        "%s: held back (%s); no notification goes out before %s",
        alerter,
        exc.message,
        until.isoformat(timespec="seconds"),
    )


def _superseded(store: Store, notification: Notification, now: datetime) -> bool:
    """An update followed by a newer snapshot of the same incident need not be sent.

    Every incident payload is a full snapshot, so when updates come faster than Slack takes
    them only the latest is sent (``chat.update`` coalescing).
    """
    if notification.kind is not NotificationKind.UPDATED or notification.incident_id is None:
        return False
    if not store.pending_after(notification):
        return False
    store.mark_superseded(notification.id, now)
    return True


def _failed(ctx: Context, notification: Notification, exc: AlertError, now: datetime) -> None:
    if exc.permanent:
        log.error(
            "%s: notification %d failed for good: %s", exc.alerter, notification.id, exc.message
        )
        ctx.store.mark_failed(notification.id, exc.message)
        return
    # A Retry-After is not this notification's own: deliver() holds back the whole alerter.
    alerts = ctx.settings.alerts
    wait = min(alerts.retry_initial * (2 ** min(notification.attempts, 16)), alerts.retry_max)
    # A failure only a person can end is an error: the alert waits for the fix, and says so.
    log.log(
        logging.ERROR if exc.needs_fixing else logging.WARNING,
        "%s: notification %d not delivered (%s); retrying in %s",
        exc.alerter,
        notification.id,
        exc.message,
        wait,
    )
    ctx.store.mark_retry(notification.id, exc.message, now + wait)

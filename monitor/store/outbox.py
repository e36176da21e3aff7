"""The outbox: notifications waiting to be delivered, alerters' rate limits, and the message
each alerter posted for an incident (Slack's ``ts``), so updates edit it instead of posting anew.

Raw ``sqlite3`` for the delivery loop's queries and state changes (it runs every few seconds);
the message reference is an sqlite-utils upsert.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from monitor.models import Notification, NotificationKind
from monitor.store.base import Connection, instant, iso

_COLUMNS = "id, alerter, kind, topic, incident_id, created_at, payload, attempts"


class OutboxTables(Connection):
    def add_notification(
        self,
        alerter: str,
        kind: NotificationKind,
        topic: str,
        incident_id: int | None,
        at: datetime,
        payload: Mapping[str, Any],
    ) -> int:
        cursor = self.conn.execute(
            "INSERT INTO notifications (alerter, kind, topic, incident_id, created_at, payload, "
            "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (alerter, kind.value, topic, incident_id, iso(at), json.dumps(payload), iso(at)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]:
        """Pending notifications whose time has come, oldest first."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE status = 'pending' "
            "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        return [_notification(r) for r in rows]

    def pending_after(self, notification: Notification) -> list[Notification]:
        """Later pending notifications of the same incident and alerter (for coalescing)."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE status = 'pending' AND alerter = ? "
            "AND incident_id = ? AND id > ? ORDER BY id",
            (notification.alerter, notification.incident_id, notification.id),
        ).fetchall()
        return [_notification(r) for r in rows]

    def waits_behind(self, notification: Notification) -> bool:
        """Whether an earlier notification of the same incident (or, without one, the same
        topic) and alerter is still pending: this one must not overtake it."""
        where, key = (
            ("incident_id = ?", notification.incident_id)
            if notification.incident_id is not None
            else ("incident_id IS NULL AND topic = ?", notification.topic)
        )
        row = self.conn.execute(
            f"SELECT 1 FROM notifications WHERE status = 'pending' AND alerter = ? AND {where} "
            "AND id < ? LIMIT 1",
            (notification.alerter, key, notification.id),
        ).fetchone()
        return row is not None

    def begin_attempt(self, notification_id: int) -> None:
        """Count an attempt *before* sending, so a crash mid-send is known on restart."""
        self.conn.execute(
            "UPDATE notifications SET attempts = attempts + 1 WHERE id = ?", (notification_id,)
        )

    def mark_sent(self, notification_id: int, at: datetime) -> None:
        self.conn.execute(
            "UPDATE notifications SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
            (iso(at), notification_id),
        )

    def mark_superseded(self, notification_id: int, at: datetime) -> None:
        self.conn.execute(
            "UPDATE notifications SET status = 'superseded', sent_at = ? WHERE id = ?",
            (iso(at), notification_id),
        )

    def mark_retry(self, notification_id: int, error: str, next_attempt_at: datetime) -> None:
        self.conn.execute(
            "UPDATE notifications SET last_error = ?, next_attempt_at = ? WHERE id = ?",
            (error, iso(next_attempt_at), notification_id),
        )

    def mark_failed(self, notification_id: int, error: str) -> None:
        self.conn.execute(
            "UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ?",
            (error, notification_id),
        )

    def notification_counts(self) -> dict[tuple[str, str], int]:
        """Outbox rows by (alerter, status)."""
        rows = self.conn.execute(
            "SELECT alerter, status, count(*) FROM notifications GROUP BY alerter, status"
        ).fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def notifications(self, incident_id: int | None = None) -> list[tuple[Notification, str]]:
        """Every notification (of ``incident_id``, or all) with its status, oldest first."""
        sql = f"SELECT {_COLUMNS}, status FROM notifications"
        params: tuple[Any, ...] = ()
        if incident_id is not None:
            sql += " WHERE incident_id = ?"
            params = (incident_id,)
        rows = self.conn.execute(sql + " ORDER BY id", params).fetchall()
        return [(_notification(r[:8]), r[8]) for r in rows]

    def rate_limits(self, now: datetime) -> dict[str, datetime]:
        """Until when each rate-limited alerter must not be called, for limits still in force."""
        rows = self.conn.execute(
            "SELECT alerter, until_at FROM rate_limits WHERE until_at > ?", (iso(now),)
        ).fetchall()
        return {str(r[0]): instant(r[1]) for r in rows}

    def set_rate_limit(self, alerter: str, until: datetime, reason: str) -> None:
        """Hold ``alerter`` back until ``until``; an earlier end never shortens a later one."""
        # Raw SQL: the upsert keeps the later of two ends, which sqlite-utils cannot express.
        self.conn.execute(
            "INSERT INTO rate_limits (alerter, until_at, reason) VALUES (?, ?, ?) "
            "ON CONFLICT (alerter) DO UPDATE SET until_at = max(until_at, excluded.until_at), "
            "reason = excluded.reason",
            (alerter, iso(until), reason),
        )

    def message_ref(self, incident_id: int, alerter: str) -> str | None:
        row = self.conn.execute(
            "SELECT ref FROM messages WHERE incident_id = ? AND alerter = ?",
            (incident_id, alerter),
        ).fetchone()
        return None if row is None else str(row[0])

    def set_message_ref(self, incident_id: int, alerter: str, ref: str) -> None:
        self.db.table("messages").upsert(
            {"incident_id": incident_id, "alerter": alerter, "ref": ref},
            pk=("incident_id", "alerter"),
        )


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=row[0],
        alerter=row[1],
        kind=NotificationKind(row[2]),
        topic=row[3],
        incident_id=row[4],
        created_at=instant(row[5]),
        payload=json.loads(row[6]),
        attempts=row[7],
    )

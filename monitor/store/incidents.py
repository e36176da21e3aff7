"""Incidents, the events in their lives (opened, acknowledged, escalated ...) and silences.

Incidents are written through sqlite-utils (a few writes per incident, off the ingest path);
the lookups the evaluate step makes for every bucket stay raw ``sqlite3``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from monitor.models import Incident, IncidentStatus
from monitor.store.base import Connection, from_iso, instant, iso


@dataclass(frozen=True)
class Silence:
    id: int
    topic: str
    start_at: datetime
    end_at: datetime
    reason: str | None
    created_by: str | None


class IncidentEvent(NamedTuple):
    """One step in an incident's life: ``kind`` is a notification kind, ``actor`` who did it.

    A named tuple, so ``for at, kind, actor in store.incident_events(id)`` reads as it did.
    """

    at: datetime
    kind: str
    actor: str | None


_COLUMNS = (
    "id, topic, status, severity, opened_at, updated_at, last_anomaly_at, peak_severity, "
    "acknowledged_at, acknowledged_by, resolved_at, resolved_by, feedback, triggered_at, "
    "escalations, last_escalated_at, reopened"
)


class IncidentTables(Connection):
    def save_incident(self, incident: Incident) -> Incident:
        """Insert a new incident (``id`` 0) or update a stored one; returns it with its id."""
        values = _incident_row(incident)
        table = self.db.table("incidents")
        if incident.id == 0:
            del values["id"]
            new_id = table.insert(values).last_pk
            assert new_id is not None
            return self.incident(int(new_id))
        del values["id"]
        table.update(incident.id, values)
        return incident

    def incident(self, incident_id: int) -> Incident:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()
        if row is None:
            raise KeyError(incident_id)
        return _incident(row)

    def active_incident(self, topic: str) -> Incident | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE topic = ? "
            "AND status != 'resolved' ORDER BY id DESC LIMIT 1",
            (topic,),
        ).fetchone()
        return None if row is None else _incident(row)

    def active_incidents(self) -> list[Incident]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE status != 'resolved' ORDER BY id"
        ).fetchall()
        return [_incident(r) for r in rows]

    def last_resolved_incident(self, topic: str) -> Incident | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE topic = ? "
            "AND status = 'resolved' ORDER BY resolved_at DESC LIMIT 1",
            (topic,),
        ).fetchone()
        return None if row is None else _incident(row)

    def incidents(self, topic: str | None = None, limit: int | None = None) -> list[Incident]:
        """Incidents (of ``topic``, or all), newest first."""
        sql = f"SELECT {_COLUMNS} FROM incidents"
        params: list[Any] = []
        if topic is not None:
            sql += " WHERE topic = ?"
            params.append(topic)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_incident(r) for r in self.conn.execute(sql, params)]

    def add_incident_event(
        self, incident_id: int, at: datetime, kind: str, actor: str | None
    ) -> None:
        self.conn.execute(
            "INSERT INTO incident_events (incident_id, at, kind, actor) VALUES (?, ?, ?, ?)",
            (incident_id, iso(at), kind, actor),
        )

    def incident_events(self, incident_id: int) -> list[IncidentEvent]:
        rows = self.conn.execute(
            "SELECT at, kind, actor FROM incident_events WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        ).fetchall()
        return [IncidentEvent(instant(r[0]), r[1], r[2]) for r in rows]

    def add_silence(
        self, topic: str, start: datetime, end: datetime, reason: str | None, by: str | None
    ) -> int:
        cursor = self.conn.execute(
            "INSERT INTO silences (topic, start_at, end_at, reason, created_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (topic, iso(start), iso(end), reason, by),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def silence_at(self, topic: str, at: datetime) -> tuple[datetime, str | None] | None:
        """The end and reason of a silence covering ``at``, if any."""
        row = self.conn.execute(
            "SELECT end_at, reason FROM silences WHERE topic = ? AND start_at <= ? AND end_at > ? "
            "ORDER BY end_at DESC LIMIT 1",
            (topic, iso(at), iso(at)),
        ).fetchone()
        return None if row is None else (instant(row[0]), row[1])

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, newest first; with ``active_at``, only those covering that instant."""
        sql = "SELECT id, topic, start_at, end_at, reason, created_by FROM silences"
        params: tuple[Any, ...] = ()
        if active_at is not None:
            sql += " WHERE start_at <= ? AND end_at > ?"
            params = (iso(active_at), iso(active_at))
        rows = self.conn.execute(sql + " ORDER BY id DESC", params).fetchall()
        return [Silence(r[0], r[1], instant(r[2]), instant(r[3]), r[4], r[5]) for r in rows]

    def end_silence(self, silence_id: int, at: datetime) -> None:
        """End a silence at ``at`` (kept as a record of who silenced what, and for how long)."""
        self.conn.execute("UPDATE silences SET end_at = ? WHERE id = ?", (iso(at), silence_id))


def _incident_row(incident: Incident) -> dict[str, Any]:
    def opt(value: datetime | None) -> str | None:
        return None if value is None else iso(value)

    return {
        "id": incident.id,
        "topic": incident.topic,
        "status": incident.status.value,
        "severity": incident.severity,
        "opened_at": iso(incident.opened_at),
        "updated_at": iso(incident.updated_at),
        "last_anomaly_at": iso(incident.last_anomaly_at),
        "peak_severity": incident.peak_severity,
        "acknowledged_at": opt(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": opt(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "feedback": incident.feedback,
        "triggered_at": opt(incident.triggered_at),
        "escalations": incident.escalations,
        "last_escalated_at": opt(incident.last_escalated_at),
        "reopened": incident.reopened,
    }


def _incident(row: tuple[Any, ...]) -> Incident:
    return Incident(
        id=row[0],
        topic=row[1],
        status=IncidentStatus(row[2]),
        severity=row[3],
        opened_at=instant(row[4]),
        updated_at=instant(row[5]),
        last_anomaly_at=instant(row[6]),
        peak_severity=row[7],
        acknowledged_at=from_iso(row[8]),
        acknowledged_by=row[9],
        resolved_at=from_iso(row[10]),
        resolved_by=row[11],
        feedback=row[12],
        triggered_at=from_iso(row[13]),
        escalations=row[14],
        last_escalated_at=from_iso(row[15]),
        reopened=row[16],
    )

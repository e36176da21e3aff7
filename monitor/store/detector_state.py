"""Detector state: each topic's pickled detectors, so a restart resumes where it stopped.

Written through sqlite-utils' upsert: once per topic and evaluation, off the ingest path.
"""

from __future__ import annotations

from datetime import datetime

from monitor.store.base import Connection, instant, iso


class DetectorStateTables(Connection):
    def save_detector_state(
        self, topic: str, fingerprint: str, last_end_at: datetime, state: bytes
    ) -> None:
        self.db.table("detector_state").upsert(
            {
                "topic": topic,
                "fingerprint": fingerprint,
                "last_end_at": iso(last_end_at),
                "state": state,
            },
            pk="topic",
        )

    def detector_state(self, topic: str) -> tuple[str, datetime, bytes] | None:
        """The saved ``(fingerprint, last_end_at, state)`` of ``topic``'s detectors, if any."""
        row = self.conn.execute(
            "SELECT fingerprint, last_end_at, state FROM detector_state WHERE topic = ?", (topic,)
        ).fetchone()
        return None if row is None else (row[0], instant(row[1]), bytes(row[2]))

"""Shared helpers for pipeline-level tests: settings files, recorded streams, instants."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.models import Incident, IncidentStatus
from monitor.settings import Settings, load_settings

BASE_SETTINGS = """
[monitor]
database = "monitor.db"
bucket = "1m"
lateness = "10s"

[detection]
warmup = "1h"

[http]
listen = "127.0.0.1:0"
"""

ALERTS = """
[alerts]
console = "on"
"""

TOPIC = """
[[topics]]
name = "acme"
terms = ["Acme", "#acme"]
languages = ["en"]
"""


def at(hour: int, minute: int = 0, second: int = 0, day: int = 2) -> datetime:
    """An instant on a fixed Monday (2026-03-02) in UTC."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def write_settings(folder: Path, *parts: str) -> Path:
    path = folder / "settings.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def settings_in(folder: Path, *parts: str) -> Settings:
    return load_settings(write_settings(folder, *parts), environ={})


NEGATIVE = "Acme is terrible, I hate this awful company"
POSITIVE = "I like Acme, really nice product"


def calm_then_storm(
    start: datetime,
    *,
    minutes: int = 180,
    storm_at: int = 150,
    storm_minutes: int = 15,
    calm_per_minute: int = 3,
    storm_per_minute: int = 12,
    storm_text: str = NEGATIVE,
    seed: int = 1,
) -> list[dict[str, Any]]:
    """A recorded stream: steady chatter (20 % negative), then a burst of ``storm_text`` posts."""
    rng = random.Random(seed)
    lines: list[dict[str, Any]] = []
    number = 0
    for minute in range(minutes):
        bucket_at = start + timedelta(minutes=minute)
        storm = storm_at <= minute < storm_at + storm_minutes
        for index in range(calm_per_minute + (storm_per_minute if storm else 0)):
            number += 1
            if storm and index >= calm_per_minute:
                text = storm_text
            else:
                text = NEGATIVE if rng.random() < 0.2 else POSITIVE
            created = bucket_at + timedelta(seconds=rng.randrange(60))
            lines.append(
                {
                    "id": str(number),
                    "source": "hackernews",
                    "created_at": created.isoformat(),
                    "text": text,
                    "lang": "en",
                    "author": f"user{number % 17}",
                }
            )
    return lines


def write_jsonl(path: Path, lines: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def open_incident_at_noon(severity: int = 3) -> Incident:
    """An unsaved open incident on "acme": opened at 12:00, alerted at 12:05."""
    return Incident(
        id=0,
        topic="acme",
        status=IncidentStatus.OPEN,
        severity=severity,
        opened_at=at(12),
        updated_at=at(12, 5),
        last_anomaly_at=at(12, 5),
        peak_severity=severity,
        triggered_at=at(12, 5),
    )


def wait_for(
    condition: Callable[[], bool],
    timeout: float = 5.0,
    context: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until it holds; for effects that happen on another thread.
    ``context`` says what was going on when it did not (a daemon's log, say)."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        tick.wait(0.01)
    detail = f":\n{context()}" if context is not None else ""
    raise AssertionError(f"condition not reached in time{detail}")

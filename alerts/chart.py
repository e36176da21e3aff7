"""Draw an incident's recent history as a PNG: volume, negative posts, the expected band, the storm.

Rendered with matplotlib's Agg backend (no display, safe in a daemon thread) from the
``series`` of the notification payload, so the chart shows exactly what the detector saw.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no GUI backend in a daemon

from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure

from alerts.slack_blocks import parse_at, severity_label

MIN_POINTS = 2


def _points(series: Any) -> list[tuple[datetime, Mapping[str, Any]]]:
    if not isinstance(series, Sequence):
        return []
    points = []
    for row in series:
        if isinstance(row, Mapping):
            start_at = parse_at(row.get("start_at"))
            if start_at is not None:
                points.append((start_at, row))
    points.sort(key=lambda p: p[0])
    return points


def _x(at: datetime) -> float:
    """Matplotlib's date number for an instant (what a date axis plots)."""
    return float(date2num(at))  # type: ignore[no-untyped-call]


def _number(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def render_chart(payload: Mapping[str, Any], *, width_px: int = 1000,
                 height_px: int = 420) -> bytes | None:
    """The PNG bytes of the chart, or None when the payload has too little series to draw."""
    points = _points(payload.get("series"))
    if len(points) < MIN_POINTS:
        return None
    # Plain floats on the x axis (matplotlib's date numbers) keep the typed API happy.
    times = [_x(at) for at, _ in points]
    volume = [_number(row, "volume") for _, row in points]
    negative = [_number(row, "negative") for _, row in points]
    expected = [_number(row, "expected") for _, row in points]
    expected_high = [_number(row, "expected_high") for _, row in points]

    # Figure() rather than pyplot: no global figure registry to leak or to share across threads.
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    axes = figure.add_subplot()
    axes.fill_between(times, 0, expected_high, step="post", color="#4c9be8", alpha=0.18,
                      label="expected negative (band)")
    axes.step(times, expected, where="post", color="#4c9be8", linewidth=1, linestyle="--",
              label="expected negative")
    axes.step(times, volume, where="post", color="#888888", linewidth=1.2, label="all posts")
    axes.step(times, negative, where="post", color="#d62728", linewidth=2,
              label="negative posts")

    width = times[1] - times[0]
    for x, (_, row) in zip(times, points, strict=True):
        if row.get("anomalous"):
            axes.axvspan(x, x + width, color="#d62728", alpha=0.12, linewidth=0)
        if row.get("complete") is False:
            axes.axvspan(x, x + width, color="#000000", alpha=0.06, hatch="//", linewidth=0)

    incident = payload.get("incident")
    incident = incident if isinstance(incident, Mapping) else {}
    opened_at = parse_at(incident.get("opened_at"))
    opened_x = _x(opened_at) if opened_at is not None else None
    if opened_x is not None and times[0] <= opened_x <= times[-1] + width:
        axes.axvline(opened_x, color="#d62728", linewidth=1, linestyle=":")
        axes.annotate("storm", (opened_x, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(3, -12), textcoords="offset points", color="#d62728")

    severity = int(incident.get("severity") or 0)
    topic = str(payload.get("topic") or "?")
    axes.set_title(f"{topic} — severity {severity_label(severity)} (times in UTC)", fontsize=11)
    axes.set_ylabel("posts per bucket")
    axes.set_ylim(bottom=0)
    axes.xaxis_date(UTC)
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
    axes.grid(True, alpha=0.25)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    figure.autofmt_xdate()
    figure.tight_layout()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

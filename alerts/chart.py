"""Draw an incident's recent history as a PNG: the storm up close, and the day around it.

Rendered with matplotlib's Agg backend (no display, safe in a daemon thread) from the
``series`` of the notification payload, so the chart shows exactly what the detector saw.

Two panels: the main one shows the storm with a few hours of calm before it, so it is a shape
and not a sliver at the right edge; the small one above shows the last day for scale, with the
close-up span marked. The band is the *usual range* of negative posts (where about 95 % of calm
buckets of that hour fall), and every time is in the topic's time zone.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no GUI backend in a daemon

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, DateFormatter, date2num
from matplotlib.figure import Figure

from alerts.formatting import format_clock, parse_at, zone_of
from alerts.wording import headline

MIN_POINTS = 2
# Calm shown before the storm in the close-up: at least this much, and at least as long as
# the storm itself, so the reader sees what "usual" looks like next to it.
MIN_CONTEXT = timedelta(hours=2)
NEGATIVE = "#d62728"
BAND = "#4c9be8"
VOLUME = "#888888"


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


def close_up_start(
    points: list[tuple[datetime, Mapping[str, Any]]], opened_at: datetime | None
) -> datetime:
    """Where the close-up begins: ``MIN_CONTEXT`` or the storm's length before it opened."""
    first, last = points[0][0], points[-1][0]
    if opened_at is None:
        return max(first, last - 2 * MIN_CONTEXT)
    context = max(MIN_CONTEXT, last - opened_at)
    return max(first, opened_at - context)


def _draw(
    axes: Axes,
    points: list[tuple[datetime, Mapping[str, Any]]],
    width: float,
    *,
    volume: bool,
    labels: bool,
) -> None:
    times = [_x(at) for at, _ in points]
    # A step plot drawn "post" ends at the last bucket's start: repeat it at its end.
    edges = [*times, times[-1] + width]

    def values(key: str) -> list[float]:
        column = [_number(row, key) for _, row in points]
        return [*column, column[-1]]

    if volume:
        # All posts on their own axis: a big brand's volume would flatten the negative line.
        right = axes.twinx()
        right.step(
            edges,
            values("volume"),
            where="post",
            color=VOLUME,
            linewidth=1,
            alpha=0.8,
            label="all posts (right axis)" if labels else None,
        )
        right.set_ylim(bottom=0)
        right.set_ylabel("all posts per bucket", color=VOLUME)
        right.tick_params(axis="y", colors=VOLUME)
        axes.set_zorder(right.get_zorder() + 1)  # the negative line above the grey one
        axes.patch.set_visible(False)
    axes.fill_between(
        edges,
        0,
        values("expected_high"),
        step="post",
        color=BAND,
        alpha=0.25,
        linewidth=0,
        label="usual range of negative posts" if labels else None,
    )
    axes.step(
        edges,
        values("negative"),
        where="post",
        color=NEGATIVE,
        linewidth=2,
        label="negative posts" if labels else None,
    )
    for i, (start, end) in enumerate(
        _runs(times, points, width, lambda r: bool(r.get("anomalous")))
    ):
        axes.axvspan(
            start,
            end,
            color=NEGATIVE,
            alpha=0.12,
            linewidth=0,
            label="flagged as storm" if labels and i == 0 else None,
        )
    for i, (start, end) in enumerate(
        _runs(times, points, width, lambda r: r.get("complete") is False)
    ):
        axes.axvspan(
            start,
            end,
            color="#000000",
            alpha=0.07,
            hatch="//",
            linewidth=0,
            label="gap (a source failed)" if labels and i == 0 else None,
        )
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.25)


def _runs(
    times: list[float],
    points: list[tuple[datetime, Mapping[str, Any]]],
    width: float,
    marked: Callable[[Mapping[str, Any]], bool],
) -> list[tuple[float, float]]:
    """Consecutive marked buckets as ``(start, end)`` spans: one shaded area per run, not one
    per bucket (a long storm would otherwise draw hundreds)."""
    runs: list[tuple[float, float]] = []
    for x, (_, row) in zip(times, points, strict=True):
        if not marked(row):
            continue
        if runs and abs(runs[-1][1] - x) < width / 2:
            runs[-1] = (runs[-1][0], x + width)
        else:
            runs.append((x, x + width))
    return runs


def _time_axis(axes: Axes, zone: tzinfo) -> None:
    axes.xaxis_date(zone)
    axes.xaxis.set_major_locator(AutoDateLocator(tz=zone))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=zone))  # type: ignore[no-untyped-call]


def render_chart(
    payload: Mapping[str, Any], *, width_px: int = 1000, height_px: int = 560
) -> bytes | None:
    """The PNG bytes of the chart, or None when the payload has too little series to draw."""
    points = _points(payload.get("series"))
    if len(points) < MIN_POINTS:
        return None
    zone = zone_of(payload)
    width = _x(points[1][0]) - _x(points[0][0])
    incident = payload.get("incident")
    incident = incident if isinstance(incident, Mapping) else {}
    opened_at = parse_at(incident.get("opened_at"))
    start = close_up_start(points, opened_at)
    close = [p for p in points if p[0] >= start]
    if len(close) < MIN_POINTS:
        close = points[-MIN_POINTS:]

    # Figure() rather than pyplot: no global figure registry to leak or to share across threads.
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    overview, main = figure.subplots(2, 1, height_ratios=(1, 3))
    main.set_zorder(1)

    _draw(overview, points, width, volume=False, labels=False)
    overview.axvspan(
        _x(close[0][0]), _x(close[-1][0]) + width, color="#000000", alpha=0.06, linewidth=0
    )
    span_hours = (points[-1][0] - points[0][0]).total_seconds() / 3600
    overview.set_title(
        f"Negative posts over the last {span_hours:.0f} h (shaded: the close-up)",
        fontsize=9,
        loc="left",
    )
    _time_axis(overview, zone)
    overview.tick_params(labelsize=8)

    _draw(main, close, width, volume=True, labels=True)
    if opened_at is not None and close[0][0] <= opened_at <= close[-1][0]:
        main.axvline(_x(opened_at), color=NEGATIVE, linewidth=1, linestyle=":")
        # Left of the line when the storm is young and the line near the right edge.
        late = opened_at - close[0][0] > (close[-1][0] - close[0][0]) * 0.7
        # At the foot of the line: the top is where the storm's peak is drawn.
        main.annotate(
            f"opened {format_clock(opened_at, zone)}",
            (_x(opened_at), 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(-4 if late else 4, 4),
            textcoords="offset points",
            color=NEGATIVE,
            fontsize=9,
            ha="right" if late else "left",
        )
    label = format_clock(points[-1][0], zone).split(" ", 1)[1]
    main.set_title(headline(payload), fontsize=11, loc="left")
    main.set_ylabel("negative posts per bucket", color=NEGATIVE)
    main.set_xlabel(f"time ({label})")
    _time_axis(main, zone)
    handles = [h for axes in figure.axes for h in axes.get_legend_handles_labels()[0]]
    figure.legend(
        handles=handles, loc="lower center", ncols=len(handles), fontsize=8, frameon=False
    )
    figure.tight_layout(rect=(0, 0.04, 1, 1))

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

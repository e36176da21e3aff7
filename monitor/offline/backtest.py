"""``shitstorm backtest``: replay a count series through the daemon's detector and incident rules.

The series is a CSV of ``timestamp,value`` (the NAB format). Each row becomes a complete bucket
whose negative volume and total volume are ``value`` (a bare count has no sentiment, so the
share stays constant and never blocks an alert). The detector built from the settings judges
each bucket and :func:`alerts.incidents.advance` moves the incident, exactly as in the daemon;
a row's ``alert`` is 1 when that pages somebody (opened, reopened, severity up).

With labelled anomaly windows (NAB's ``windows.json``) it also prints the NAB score under the
three profiles, the windows detected and missed, false alarms per week and detection delays.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TextIO

from alerts.incidents import IncidentPolicy, advance
from detectors import Decision, DetectionSettings, build_detector
from monitor.models import Bucket, Incident
from monitor.offline import nab
from monitor.offline.progress import progress as progress_of

# Inputs shorter than this finish before a progress bar would be worth drawing.
_PROGRESS_MIN_ROWS = 5000


class BacktestError(Exception):
    """An input the backtest cannot use; the message names the file and what is wrong."""


@dataclass(frozen=True)
class BacktestRow:
    """One judged bucket of the replay."""

    start_at: datetime
    value: float
    decision: Decision
    alert: bool


def read_series(path: Path) -> list[tuple[datetime, float]]:
    """``(start_at, value)`` rows of a ``timestamp,value`` CSV; naive timestamps are UTC."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"timestamp", "value"} <= set(reader.fieldnames):
                raise BacktestError(f"{path}: expected a header with columns timestamp,value")
            rows = [
                (_parse_instant(row["timestamp"], path, n), _parse_value(row["value"], path, n))
                for n, row in enumerate(reader, start=2)
            ]
    except OSError as error:
        raise BacktestError(f"{path}: cannot read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise BacktestError(f"{path}: not a UTF-8 text file") from error
    if len(rows) < 2:
        raise BacktestError(f"{path}: needs at least two rows to know the bucket width")
    for (earlier, _), (later, _) in pairwise(rows):
        if later <= earlier:
            raise BacktestError(f"{path}: timestamps must increase ({later} after {earlier})")
    return rows


def _parse_instant(text: str | None, path: Path, line: int) -> datetime:
    try:
        at = datetime.fromisoformat((text or "").strip())
    except ValueError as error:
        raise BacktestError(f"{path}:{line}: bad timestamp {text!r}") from error
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _parse_value(text: str | None, path: Path, line: int) -> float:
    try:
        value = float((text or "").strip())
    except ValueError as error:
        raise BacktestError(f"{path}:{line}: bad value {text!r}") from error
    if not value >= 0:  # also rejects NaN
        raise BacktestError(f"{path}:{line}: value must be a count (>= 0), got {text!r}")
    return value


def bucket_width(starts: Sequence[datetime]) -> timedelta:
    """The series' bucket width: the most common step (a gap must not widen every bucket)."""
    return statistics.mode(later - earlier for earlier, later in pairwise(starts))


def replay(
    series: Sequence[tuple[datetime, float]],
    settings: DetectionSettings,
    *,
    topic: str = "backtest",
    policy: IncidentPolicy | None = None,
    progress: bool = False,
) -> list[BacktestRow]:
    """Judge every row with a fresh detector and the incident machine, as the daemon would."""
    policy = policy or IncidentPolicy()
    detector = build_detector(settings, UTC)
    width = bucket_width([at for at, _ in series])
    incident: Incident | None = None
    last_resolved: Incident | None = None
    rows: list[BacktestRow] = []
    show = progress and len(series) >= _PROGRESS_MIN_ROWS
    for start_at, value in progress_of(series, label=topic, unit="bucket", enabled=show):
        count = round(value)
        bucket = Bucket(topic, start_at, start_at + width, count, count, 0)
        decision = detector.observe(bucket)
        transition = advance(incident, decision, bucket, policy, last_resolved)
        incident = transition.incident
        if incident is not None and not incident.is_active:
            last_resolved, incident = incident, None
        rows.append(BacktestRow(start_at, value, decision, transition.alerts))
    return rows


def read_windows(path: Path, series: Path) -> list[tuple[datetime, datetime]]:
    """The labelled windows of ``series`` from a NAB ``windows.json`` (or a bare list)."""
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BacktestError(f"{path}: cannot read ({error.strerror or error})") from error
    except ValueError as error:
        raise BacktestError(f"{path}: not valid JSON ({error})") from error
    if isinstance(labels, dict):
        # NAB keys are paths relative to its data directory ("realTweets/x.csv").
        matches = [key for key in labels if series.as_posix().endswith(key)]
        if not matches:
            matches = [key for key in labels if Path(key).name == series.name]
        if len(matches) != 1:
            raise BacktestError(f"{path}: no single entry for {series.name}")
        labels = labels[matches[0]]
    try:
        return [
            (_parse_instant(start, path, 0), _parse_instant(end, path, 0)) for start, end in labels
        ]
    except (TypeError, ValueError) as error:
        raise BacktestError(f"{path}: windows must be [start, end] pairs") from error


def score(
    rows: Sequence[BacktestRow], windows: Sequence[tuple[datetime, datetime]]
) -> dict[str, nab.FileScore]:
    """NAB score of the replay's alert column under each profile."""
    rows_in = nab.window_rows([row.start_at for row in rows], windows)
    alerts = [row.alert for row in rows]
    return {profile.name: nab.score_file(alerts, rows_in, profile) for profile in nab.PROFILES}


def print_scores(
    rows: Sequence[BacktestRow],
    windows: Sequence[tuple[datetime, datetime]],
    stdout: TextIO,
) -> dict[str, nab.FileScore]:
    """Print the NAB scores, detections, misses, false alarms per week and delays."""
    scores = score(rows, windows)
    for profile in nab.PROFILES:
        value = nab.normalised([scores[profile.name]], profile)
        print(f"NAB {profile.name}: {value:.1f}", file=stdout)
    standard = scores["standard"]
    width = bucket_width([row.start_at for row in rows])
    scored = rows[nab.probation_rows(len(rows)) :]
    weeks = (scored[-1].start_at - scored[0].start_at + width) / timedelta(weeks=1) if scored else 0
    per_week = standard.false_alarms / weeks if weeks else 0.0
    print(
        f"windows: {standard.windows}, detected: {standard.detected}, "
        f"missed: {standard.windows - standard.detected}, "
        f"false alarms: {standard.false_alarms} ({per_week:.2f} per week)",
        file=stdout,
    )
    for delay in standard.delays:
        print(f"delay from window start to first alert: {_duration(delay * width)}", file=stdout)
    return scores


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def write_output(rows: Sequence[BacktestRow], path: Path) -> None:
    """``timestamp,value,score,alert`` per row."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value", "score", "alert"])
        for row in rows:
            writer.writerow(
                [
                    row.start_at.strftime("%Y-%m-%d %H:%M:%S"),
                    f"{row.value:g}",
                    f"{row.decision.score:.4f}",
                    int(row.alert),
                ]
            )


def draw_plot(
    rows: Sequence[BacktestRow],
    windows: Sequence[tuple[datetime, datetime]],
    path: Path,
    title: str,
    threshold: float,
) -> None:
    """Series with its normal band and alerts above, scores below, labelled windows shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [row.start_at for row in rows]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(14, 6), sharex=True)
    top.plot(times, [row.value for row in rows], linewidth=0.5, label="value")
    top.plot(
        times,
        [row.decision.expected_negative_high for row in rows],
        linewidth=0.5,
        color="grey",
        label="upper edge of normal",
    )
    alerts = [row for row in rows if row.alert]
    top.scatter(
        [row.start_at for row in alerts],
        [row.value for row in alerts],
        color="red",
        s=12,
        label="alert",
        zorder=3,
    )
    top.set_yscale("symlog")
    top.legend(loc="upper left")
    top.set_title(title)
    bottom.plot(times, [row.decision.score for row in rows], linewidth=0.5, label="score")
    bottom.axhline(threshold, color="red", linewidth=0.5, label="threshold")
    bottom.legend(loc="upper left")
    for axis in (top, bottom):
        for start, end in windows:
            axis.axvspan(start, end, color="orange", alpha=0.2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def run_backtest(
    series: Path,
    *,
    output: Path | None,
    detector: str | None,
    labels: Path | None,
    plot: Path | None,
    settings: DetectionSettings,
    progress: bool,
    stdout: TextIO,
) -> int:
    """The ``backtest`` command: replay, then write, score and draw what was asked for."""
    if detector is not None:
        settings = replace(settings, detector=detector)
    problems = settings.problems()
    if problems:
        key, message = problems[0]
        print(f"error: detection.{key}: {message}", file=stdout)
        return 2
    inputs = _read_inputs(series, labels, stdout)
    if inputs is None:
        return 2
    points, windows = inputs
    rows = replay(points, settings, topic=series.stem, progress=progress)
    if output is not None:
        write_output(rows, output)
    alerts = sum(row.alert for row in rows)
    print(f"{series.name}: {len(rows)} buckets, {alerts} alerts ({settings.detector})", file=stdout)
    if labels is not None:
        print_scores(rows, windows, stdout)
    if plot is not None:
        width = bucket_width([at for at, _ in points])
        bar = settings.opening_threshold(width, tone=False)
        draw_plot(rows, windows, plot, series.name, bar)
    return 0


def run_injected(
    series: Path, settings: DetectionSettings, labels: Path | None, stdout: TextIO
) -> int:
    """``backtest --inject``: the series as mention volume with a tone, storms injected."""
    import random

    from monitor.offline.calibrate import print_calibration
    from monitor.offline.toned import toned_series

    inputs = _read_inputs(series, labels, stdout)
    if inputs is None:
        return 2
    points, windows = inputs
    width = bucket_width([at for at, _ in points])
    buckets, _ = toned_series(points, width, random.Random(series.stem), topic=series.stem)
    print(
        f"{series.name}: {len(buckets)} buckets read as mention volume, about 15% of it "
        f"negative, the share wandering from day to day"
        + (f"; {len(windows)} labelled windows left out" if windows else ""),
        file=stdout,
    )
    return print_calibration(buckets, settings, UTC, stdout, avoid=windows)


def _read_inputs(
    series: Path, labels: Path | None, stdout: TextIO
) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, datetime]]] | None:
    """The series and its labelled windows, or None after printing what is wrong."""
    try:
        points = read_series(series)
        windows = read_windows(labels, series) if labels is not None else []
    except BacktestError as error:
        print(f"error: {error}", file=stdout)
        return None
    return points, windows

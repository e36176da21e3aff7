"""The Numenta Anomaly Benchmark (NAB) score of a column of alerts, as pure functions.

NAB rewards an alert early in a labelled anomaly window (the earliest row of a window is worth
``A_TP``, its last row almost nothing), charges ``A_FP`` for an alert far from any window and
``A_FN`` for a window without any alert. Only the first alert in a window counts. The first
``min(15 %, 750)`` rows are a probation period that is not scored. Scores over a set of files
are normalised so that a detector that never fires scores 0 and a perfect one 100.

Reference: Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms – the Numenta
Anomaly Benchmark", 2015, and ``../shared/data/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Profile:
    """NAB's weights for a true positive, a false positive and a missed window."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP", 1.0, 0.22, 1.0),
    Profile("reward_low_FN", 1.0, 0.11, 2.0),
)


@dataclass(frozen=True)
class FileScore:
    """One file under one profile: the raw score and what made it up."""

    score: float
    windows: int
    detected: int
    false_alarms: int
    # Rows from each detected window's start to its first alert, in window order.
    delays: tuple[int, ...]


def scaled_sigmoid(x: float) -> float:
    """NAB's ``σ(x) = 2 / (1 + e^(5x)) − 1``, and −1 beyond ``x > 3``.

    Examples
    --------
    >>> from monitor.offline.nab import scaled_sigmoid
    >>> scaled_sigmoid(0.0)
    0.0
    >>> round(scaled_sigmoid(-1.0), 4)
    0.9866
    >>> scaled_sigmoid(3.5)
    -1.0

    """
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def probation_rows(rows: int) -> int:
    """Rows at the start of a file that are not scored: ``min(floor(0.15 n), 750)``."""
    return min(math.floor(0.15 * rows), 750)


def window_rows(
    timestamps: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]
) -> list[tuple[int, int]]:
    """Each window ``[start, end]`` (inclusive) as the first and last row index inside it.

    Windows that contain no row are dropped.
    """
    found: list[tuple[int, int]] = []
    for start, end in windows:
        inside = [i for i, at in enumerate(timestamps) if start <= at <= end]
        if inside:
            found.append((inside[0], inside[-1]))
    return sorted(found)


def score_file(
    alerts: Sequence[bool], windows: Sequence[tuple[int, int]], profile: Profile
) -> FileScore:
    """NAB score of one file's alert column against its windows (row indices, inclusive).

    Examples
    --------
    Ten rows, one window over rows 4–7: an alert on its first row earns ``A_TP``; one alert far
    before it costs ``A_FP``; a file without alerts costs ``A_FN`` (probation is 1 row here).

    >>> from monitor.offline.nab import PROFILES, score_file
    >>> standard = PROFILES[0]
    >>> hit = [False] * 10
    >>> hit[4] = True
    >>> score_file(hit, [(4, 7)], standard).score
    1.0
    >>> hit[1] = True
    >>> round(score_file(hit, [(4, 7)], standard).score, 2)
    0.89
    >>> score_file([False] * 10, [(4, 7)], standard).score
    -1.0

    """
    probation = probation_rows(len(alerts))
    kept = [(left, right) for left, right in windows if right >= probation]
    best: list[float | None] = [None] * len(kept)
    first_rows: list[int | None] = [None] * len(kept)
    score = 0.0
    false_alarms = 0
    window_index = 0  # the first window not entirely before the current row
    for i, flagged in enumerate(alerts):
        while window_index < len(kept) and kept[window_index][1] < i:
            window_index += 1
        if not flagged or i < probation:
            continue
        if window_index < len(kept) and kept[window_index][0] <= i:
            left, right = kept[window_index]
            width = right - left + 1
            weight = scaled_sigmoid(-(right - i + 1) / width) * profile.a_tp / scaled_sigmoid(-1.0)
            current = best[window_index]
            if current is None or weight > current:
                best[window_index] = weight
            if first_rows[window_index] is None:
                first_rows[window_index] = i - left
            continue
        false_alarms += 1
        if window_index == 0:
            score -= profile.a_fp
        else:
            left, right = kept[window_index - 1]
            width = right - left + 1
            score += scaled_sigmoid(abs(i - right) / max(width - 1, 1)) * profile.a_fp
    for best_weight in best:
        score += -profile.a_fn if best_weight is None else best_weight
    delays = tuple(row for row in first_rows if row is not None)
    return FileScore(
        score=score,
        windows=len(kept),
        detected=len(delays),
        false_alarms=false_alarms,
        delays=delays,
    )


def normalised(scores: Sequence[FileScore], profile: Profile) -> float:
    """``100 · (S − S_null) / (S_perfect − S_null)`` over a set of files (0 without windows).

    Examples
    --------
    >>> from monitor.offline.nab import PROFILES, FileScore, normalised
    >>> perfect = FileScore(score=2.0, windows=2, detected=2, false_alarms=0, delays=(0, 0))
    >>> missed = FileScore(score=-2.0, windows=2, detected=0, false_alarms=0, delays=())
    >>> normalised([perfect, missed], PROFILES[0])
    50.0

    """
    windows = sum(s.windows for s in scores)
    if windows == 0:
        return 0.0
    null = -profile.a_fn * windows
    perfect = profile.a_tp * windows
    return 100.0 * (sum(s.score for s in scores) - null) / (perfect - null)

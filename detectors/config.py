"""The ``[detection]`` table of settings.toml: which detector, and the alert policy around it.

One default configuration serves every topic. The opening bar is not a z threshold to tune but
follows from a false-alarm budget a person can reason about (``sensitivity``): roughly one
false page per topic per quarter, month or week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

# The registry lives in ``detectors/__init__.py``; its names are repeated here so this module
# stays importable on its own (the settings loader imports it before any detector exists).
DETECTOR_NAMES = ("seasonal", "level")

# False pages per topic and week that each sensitivity allows: one a quarter, a month, a week.
SENSITIVITIES: dict[str, float] = {"fewer": 1 / 13, "balanced": 1 / 4.35, "more": 1.0}


@dataclass(frozen=True, kw_only=True)
class DetectionSettings:
    """How buckets become decisions: the detector's memory and the policy's thresholds."""

    # Name of the count detector: "seasonal" knows hour-of-day and day-of-week; "level" only
    # compares with the recent past, like most commercial tools (kept as a yardstick).
    detector: str = "seasonal"
    # How many false pages a topic may raise: "fewer" (about one a quarter), "balanced" (one a
    # month) or "more" (one a week, and storms are caught a little sooner). Sets the opening
    # bar; ``threshold`` overrides it for experts.
    sensitivity: str = "balanced"
    # Score that opens a storm, in standard deviations of the evidence; None: from sensitivity.
    threshold: float | None = None
    # No alert until this much complete history has been learnt (a restart rebuilt from stored
    # buckets counts as history, so it opens no blind window).
    warmup: timedelta = timedelta(days=1)
    # A storm needs at least this many negative mentions in the evidence window: "0 vs 3" is
    # not a storm, however improbable it is.
    min_negative: int = 8
    # Once in a storm, buckets stay flagged while the score stays above this: low enough that a
    # storm's lulls do not split it into several incidents, each paging again.
    hold_threshold: float = 3.0
    # Only buckets scoring below this teach the baseline: the baseline is the topic's calm,
    # so bursts and slowly building storms do not raise it.
    learn_below: float = 1.5
    # Evidence is also summed over the last 3, 9, 27 ... buckets up to this span: a storm that
    # is 3x the usual volume but small per bucket becomes certain within a few buckets.
    accumulate: timedelta = timedelta(hours=3)
    # How fast the baseline level follows slow drifts (half-life). Shorter follows trends
    # better; longer resists being dragged down by a silent outage or a slow-building storm.
    level_half_life: timedelta = timedelta(hours=48)
    # Memory of the hour-of-day / day-of-week profile and of the noise level (half-life).
    profile_half_life: timedelta = timedelta(days=14)
    # Memory of the usual tone, negative per neutral mention (half-life): short, so a day whose
    # tone wanders is soon the norm; storms are never learnt and elevated buckets only clipped.
    share_half_life: timedelta = timedelta(hours=12)
    # After this long without a calm bucket (flagged or elevated throughout), the detector
    # accepts the new level as normal (a lasting change of popularity must not keep an
    # incident open for ever).
    relearn_after: timedelta = timedelta(days=1)

    @property
    def false_alarms_per_week(self) -> float:
        """The false-alarm budget of ``sensitivity``, per topic and week."""
        return SENSITIVITIES.get(self.sensitivity, SENSITIVITIES["balanced"])

    def opening_threshold(
        self, width: timedelta = timedelta(minutes=5), *, tone: bool = True
    ) -> float:
        """The score that opens a storm for buckets of ``width``: ``threshold`` if set, else
        the bar the false-alarm budget allows (:func:`threshold_for_budget`), higher for a
        series without ``tone`` (only total counts)."""
        if self.threshold is not None:
            return self.threshold
        bar = threshold_for_budget(self.false_alarms_per_week, width)
        return bar if tone else bar + COUNT_ONLY_MARGIN

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field checks beyond types, as ``(key, message)`` pairs."""
        found: list[tuple[str, str]] = []
        if self.detector not in DETECTOR_NAMES:
            choices = ", ".join(DETECTOR_NAMES)
            found.append(
                ("detector", f"unknown detector {self.detector!r}; choose one of: {choices}")
            )
        if self.sensitivity not in SENSITIVITIES:
            choices = ", ".join(SENSITIVITIES)
            message = f"unknown sensitivity {self.sensitivity!r}; choose one of: {choices}"
            found.append(("sensitivity", message))
        if self.min_negative < 1:
            found.append(("min_negative", "must be at least 1"))
        threshold = self.opening_threshold()
        if self.threshold is not None and not 0 < self.threshold < 100:
            found.append(("threshold", "must be positive (and below 100)"))
        elif not 0 < self.hold_threshold <= threshold:
            found.append(("hold_threshold", "must be positive and at most the opening threshold"))
        if not 0 < self.learn_below <= threshold:
            found.append(("learn_below", "must be positive and at most the opening threshold"))
        for key in ("level_half_life", "profile_half_life", "share_half_life"):
            if getattr(self, key) <= timedelta(0):
                found.append((key, "must be a positive duration"))
        if self.warmup < timedelta(0):
            found.append(("warmup", "must not be negative"))
        if self.accumulate < timedelta(0):
            found.append(("accumulate", "must not be negative"))
        if self.relearn_after <= timedelta(0):
            found.append(("relearn_after", "must be a positive duration"))
        return found


# How often calm data crosses a bar, measured once on real series (the five NAB realTweets
# series with a wandering tone, three seeds, 93 topic-weeks: ``python
# benchmarks/storm_bench.py --sweep``, posts read by the default scorer): at 4.0 about 0.2
# false pages per topic-week for 5-minute buckets, and each unit of score higher about e^2.8
# times fewer (0.90 at 3.5, 0.53 at 3.75, 0.11 at 4.25, 0.05 at 4.5). A heavier tail than the
# normal distribution's, as real data has. Re-measured with the posts' probabilities summed
# (``--sweep``, the default reading since): 0.78, 0.44, 0.23, 0.15, 0.06 from 3.5 to 4.5, the
# same curve within its noise. A different scorer reads tone differently: measure again after
# changing it.
_REFERENCE_BAR = 4.0
_REFERENCE_RATE = 0.21
_REFERENCE_WIDTH = timedelta(minutes=5)
_TAIL_SLOPE = 2.8
# A series without tone (only total counts) cannot tell a burst of attention from a storm, so
# its scores have the bursts' heavy tail: the same budget needs a bar this much higher
# (measured on the same series as counts only: ``python benchmarks/detect_bench.py``).
COUNT_ONLY_MARGIN = 1.5


def threshold_for_budget(false_alarms_per_week: float, width: timedelta) -> float:
    """The opening bar that spends about ``false_alarms_per_week`` on calm data.

    Narrower buckets are judged more often, so the same budget needs a slightly higher bar.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from detectors.config import SENSITIVITIES, threshold_for_budget
    >>> five = timedelta(minutes=5)
    >>> [round(threshold_for_budget(SENSITIVITIES[name], five), 2) for name in SENSITIVITIES]
    [4.36, 3.97, 3.44]

    """
    judged = _REFERENCE_WIDTH / width if width > timedelta(0) else 1.0
    rate = _REFERENCE_RATE * judged / max(false_alarms_per_week, 1e-6)
    return _REFERENCE_BAR + math.log(rate) / _TAIL_SLOPE


def calm_weeks_between(score: float, width: timedelta = _REFERENCE_WIDTH) -> float:
    """How many weeks of calm pass, on average, between buckets scoring this high: "how
    sure" in terms a person can weigh (the same calibration as :func:`threshold_for_budget`).

    Examples
    --------
    >>> from detectors.config import calm_weeks_between
    >>> round(calm_weeks_between(4.0), 1), calm_weeks_between(6.0) > 52
    (4.8, True)

    """
    judged = _REFERENCE_WIDTH / width if width > timedelta(0) else 1.0
    rate = _REFERENCE_RATE * judged * math.exp(-_TAIL_SLOPE * (score - _REFERENCE_BAR))
    return 1.0 / rate if rate > 0 else math.inf


def describe_chance(score: float, width: timedelta = _REFERENCE_WIDTH) -> str:
    """``calm_weeks_between`` as a phrase: "about once in 3 months of calm"."""
    weeks = calm_weeks_between(score, width)
    if weeks < 0.75:
        return f"by chance about {1 / weeks:.0f} times a week"
    if weeks < 1.5:
        return "by chance about once a week"
    if weeks < 8:
        return f"by chance about once in {weeks:.0f} weeks"
    if weeks < 104:
        return f"by chance about once in {weeks / 4.35:.0f} months"
    years = weeks / 52.2
    return (
        "by chance less than once in 100 years"
        if years >= 100
        else (f"by chance about once in {years:.0f} years")
    )

"""The ``[detection]`` table of settings.toml: which detector, and the alert policy around it.

One default configuration serves every topic; the defaults were chosen on public mention-volume
series (NAB realTweets) and synthetic storms, not fitted to any one series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# The registry lives in ``detectors/__init__.py``; its names are repeated here so this module
# stays importable on its own (the settings loader imports it before any detector exists).
DETECTOR_NAMES = ("seasonal", "level")
# Days of daily peaks behind ``routine_burst_days``: a week, so weekdays and weekends both count.
ROUTINE_LOOKBACK_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class DetectionSettings:
    """How buckets become decisions: the detector's memory and the policy's thresholds."""

    # Name of the count detector: "seasonal" knows hour-of-day and day-of-week; "level" only
    # compares with the recent past, like most commercial tools (kept as a yardstick).
    detector: str = "seasonal"
    # No alert until this much complete history has been learnt (a restart rebuilt from stored
    # buckets counts as history, so it opens no blind window).
    warmup: timedelta = timedelta(days=1)
    # A storm needs at least this many negative mentions in the evidence window: "0 vs 3" is
    # not a storm, however improbable it is.
    min_negative: int = 8
    # Score that opens a storm: standard deviations above the seasonal expectation, under a
    # noise model learnt per topic (a spiky topic needs a bigger spike for the same score).
    # The evidence is tested over several spans at once, hence a bar higher than the usual 3.
    threshold: float = 5.5
    # Once in a storm, buckets stay flagged while the score stays above this: low enough that a
    # storm's lulls do not split it into several incidents, each paging again.
    hold_threshold: float = 3.0
    # Only buckets scoring below this teach the baseline: the baseline is the topic's calm,
    # so bursts and slowly building storms do not raise it (noise is learnt from all buckets).
    learn_below: float = 1.5
    # Evidence is also summed over the last 3, 9, 27 ... buckets up to this span: a storm that
    # is 3x the usual volume but small per bucket shows within a few buckets instead of never.
    accumulate: timedelta = timedelta(hours=3)
    # How fast the baseline level follows slow drifts (half-life). Shorter follows trends
    # better; longer resists being dragged down by a silent outage or a slow-building storm.
    level_half_life: timedelta = timedelta(hours=48)
    # Memory of the hour-of-day / day-of-week profile and of the noise level (half-life).
    profile_half_life: timedelta = timedelta(days=14)
    # Memory of the usual negative share (half-life).
    share_half_life: timedelta = timedelta(days=3)
    # Over the span that looks like a storm, the negative share must be at least this many
    # standard errors above usual (0: not below usual). A volume spike of happy campaign posts,
    # misread negatives included, lowers the share and is not a shitstorm. A series that only
    # has a total count (share always 1) always passes.
    min_share_z: float = 0.0
    # Two independent signals agreeing need less of each: when the negative share is also at
    # least ``share_confirm_z`` standard errors above usual, a storm opens at
    # ``confirmed_threshold`` instead of ``threshold``. This is what catches a small topic's
    # 2 a.m. storm early. A count-only series (share always 1) never takes this path.
    confirmed_threshold: float = 4.0
    share_confirm_z: float = 3.0
    # A rise to this many times the usual negative volume, held for 45 minutes or more in most
    # of its buckets (and at least 3 x min_negative mentions), is a storm even when the topic's
    # noise model, widened by its bursts, would call it chance. 0: off.
    sustained_ratio: float = 15.0
    # A lone burst (one bucket that would open a storm on its own) must also stand this many
    # standard deviations above the topic's recent level whatever the hour: a single 5-minute
    # burst at a quiet hour that would be ordinary in the afternoon is a bot or one quoted
    # reply far more often than a storm. A storm that lasts is still judged against its own
    # hour over the longer spans (a 3x storm at 3 a.m. pages within two buckets). 0: off.
    lone_burst_level_z: float = 4.5
    # A lone burst no higher than the topic's daily peaks on this many of the last 7 days is
    # routine for it (a daily bot or newsletter) and pages nobody. 0: off.
    routine_burst_days: int = 3
    # After this long without a calm bucket (flagged or elevated throughout), the detector
    # accepts the new level as normal (a lasting change of popularity must not keep an
    # incident open for ever).
    relearn_after: timedelta = timedelta(days=1)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field checks beyond types, as ``(key, message)`` pairs."""
        found: list[tuple[str, str]] = []
        if self.detector not in DETECTOR_NAMES:
            choices = ", ".join(DETECTOR_NAMES)
            found.append(
                ("detector", f"unknown detector {self.detector!r}; choose one of: {choices}")
            )
        if not 0 <= self.routine_burst_days <= ROUTINE_LOOKBACK_DAYS:
            found.append(
                ("routine_burst_days", f"must be between 0 and {ROUTINE_LOOKBACK_DAYS}")
            )
        if self.sustained_ratio < 0 or 0 < self.sustained_ratio <= 1:
            found.append(("sustained_ratio", "must be 0 (off) or above 1"))
        if self.lone_burst_level_z < 0:
            found.append(("lone_burst_level_z", "must not be negative"))
        if self.min_negative < 1:
            found.append(("min_negative", "must be at least 1"))
        if self.threshold <= 0:
            found.append(("threshold", "must be positive"))
        if not 0 < self.confirmed_threshold <= self.threshold:
            found.append(("confirmed_threshold", "must be positive and at most threshold"))
        if not 0 < self.hold_threshold <= self.threshold:
            found.append(("hold_threshold", "must be positive and at most threshold"))
        if not 0 < self.learn_below <= self.threshold:
            found.append(("learn_below", "must be positive and at most threshold"))
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

"""The alert policy between detector scores and incidents, one instance per topic.

Scores alone cry wolf. The policy decides which buckets belong to a shitstorm:

- evidence is summed over the last few buckets as well, so a storm that is three times the usual
  volume shows within a few buckets even at 2 a.m., when each bucket holds only a handful;
- a storm needs a minimum negative volume ("0 vs 3" is not a storm) and a negative share that
  has not fallen (a campaign spike of happy posts is not a storm);
- a rise of ``sustained_ratio`` times the usual volume held for 45 minutes is a storm even when
  a bursty topic's wide noise model would call it chance;
- hysteresis: a storm opens above ``threshold`` and lasts while the score stays above
  ``hold_threshold``, so its tail is not split into several incidents;
- the baseline learns only from calm buckets (score below ``learn_below``): flagged buckets are
  never learnt (a long storm must not become the baseline) until a change has lasted
  ``relearn_after``; the noise model learns from every complete bucket (a topic that bursts
  often needs a bigger burst to page); incomplete buckets are neither judged nor learnt (a gap
  is not a calm) and break the evidence sum;
- a lone burst (one bucket opening a storm on its own) must also be surprising against the
  topic's recent level whatever the hour, and higher than the topic's routine daily peaks: one
  quoted reply at 3 a.m. or a daily bot is not a storm, while a storm that lasts is judged
  against its own hour over the longer spans;
- nothing is flagged until ``warmup`` of complete history has been learnt.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from datetime import timedelta
from typing import Any

from detectors.bursts import DailyPeaks
from detectors.config import ROUTINE_LOOKBACK_DAYS, DetectionSettings
from detectors.counts import CountForecast, count_at_z, count_z
from detectors.decision import Decision
from detectors.evidence import EvidenceWindows, Window
from detectors.seasonal import CountBaseline
from detectors.severity import severity
from detectors.share import NegativeShareDetector
from monitor.models import Bucket

# Summing evidence over more buckets than this costs time and adds little: past 64 buckets the
# sum is dominated by the level's own uncertainty.
_MAX_WINDOW = 64
# A sustained rise (``sustained_ratio``) must hold at least this long, and reach this many
# times ``min_negative``: a single burst or a handful of posts is never "sustained".
_SUSTAINED_FOR = timedelta(minutes=45)
_SUSTAINED_MIN_FACTOR = 3
# An elevated episode longer than this many buckets teaches the noise only its beginning.
_MAX_DEFERRED = 2048


# The share confirms only a sudden spike (the last few buckets): over hours, a small topic's
# share wanders enough that a lower bar there pages for chatter.
_CONFIRM_SPAN = 3
# Upper edge of the normal band drawn in charts, in the same standard deviations as the score.
NORMAL_BAND_Z = 2.0


class TopicDetector:
    """Scores a topic's buckets, applies the alert policy and learns from the normal ones.

    Deterministic and picklable: the daemon stores it between runs, or rebuilds it by observing
    the stored buckets again in order.

    Parameters
    ----------
    counts
        Baseline of the negative volume (a river anomaly detector with ``forecast_one``).
    share
        Baseline of the negative share.
    recent
        Baseline without hour or weekday (the recent level): the second opinion a lone burst
        needs.
    settings
        The ``[detection]`` settings: thresholds, warm-up, memory.

    Examples
    --------
    A day of 10 negative mentions out of 50 every 5 minutes, then a sudden 45 out of 85:

    >>> from datetime import UTC, datetime, timedelta
    >>> from detectors import DetectionSettings, build_detector
    >>> from monitor.models import Bucket
    >>> detector = build_detector(DetectionSettings(), UTC)
    >>> start, width = datetime(2026, 3, 2, tzinfo=UTC), timedelta(minutes=5)
    >>> def bucket(i, negative, volume):
    ...     at = start + i * width
    ...     return Bucket("acme", at, at + width, volume, negative, volume - negative - 20)
    >>> calm = [detector.observe(bucket(i, 10, 50)) for i in range(400)]
    >>> any(d.anomalous for d in calm), calm[-1].warming_up
    (False, False)
    >>> storm = detector.observe(bucket(400, 45, 85))
    >>> storm.anomalous, storm.severity
    (True, 3)
    >>> storm.reason
    '45 negative mentions in the last 5 min vs 10 expected (4.5×); 53% negative vs 20% usual'

    """

    def __init__(
        self,
        counts: CountBaseline,
        share: NegativeShareDetector,
        recent: CountBaseline,
        settings: DetectionSettings,
    ) -> None:
        self.counts = counts
        self.share = share
        self.recent = recent
        self.settings = settings
        self._threshold = settings.threshold
        self._hold = settings.hold_threshold
        self._warmup_hours = settings.warmup.total_seconds() / 3600.0
        self._relearn_hours = settings.relearn_after.total_seconds() / 3600.0
        self._learn_below = settings.learn_below
        self._evidence: EvidenceWindows | None = None  # sized by the first bucket's width
        self._sustained_buckets = 2  # _SUSTAINED_FOR in buckets, set with the evidence
        self._profile_hours = settings.profile_half_life.total_seconds() / 3600.0
        self._learned_hours = 0.0
        # Hours since the level last learnt: flagged or suspicious buckets in a row.
        self._unlearnt_hours = 0.0
        self._in_storm = False
        # The current elevated episode's buckets, for the noise model once it is over.
        self._elevated: list[dict[Hashable, Any]] = []
        # Each day's highest single-bucket score, and the latest bucket's score against the
        # recent level: what a lone burst is measured by.
        self._daily_peaks = DailyPeaks(ROUTINE_LOOKBACK_DAYS)
        self._recent_z = 0.0

    @property
    def warming_up(self) -> bool:
        """True until ``warmup`` of complete history has been learnt."""
        return self._learned_hours < self._warmup_hours

    def observe(self, bucket: Bucket) -> Decision:
        """Judge ``bucket``, then learn from it unless it looked elevated or was incomplete."""
        hours = bucket.width.total_seconds() / 3600.0
        x: dict[Hashable, Any] = {
            "start_at": bucket.start_at,
            "hours": hours,
            "count": bucket.negative,
        }
        forecast = self.counts.forecast_one(x)
        usual_share = self.share.usual_share
        warming_up = self.warming_up
        if not bucket.complete or hours <= 0:
            # A gap is not a calm, and a sum across a gap would compare unlike spans.
            if self._evidence is not None:
                self._evidence.clear()
            return self._decision(
                forecast,
                usual_share,
                warming_up,
                score=0.0,
                level=0,
                reason="incomplete bucket: a source failed or was not polled, so it is not judged",
            )

        evidence = self._evidence_for(bucket)
        evidence.push(float(bucket.negative), forecast.mean, float(bucket.volume))
        windows = evidence.windows(forecast.dispersion)
        score = max(w.z for w in windows)
        recent = self.recent.forecast_one(x)
        self._recent_z = count_z(bucket.negative, recent.mean, recent.dispersion)
        judged = self._without_lone_burst(bucket, forecast, evidence, windows)
        anomalous, level, reason = self._judge(bucket, forecast, judged, usual_share, warming_up)
        if not anomalous and not warming_up and judged is not windows:
            reason += self._lone_burst_note(windows[0])
        # Recorded after judging: a burst is compared with the days before it, not with itself.
        self._daily_peaks.update(windows[0].z, hours)
        self._in_storm = anomalous
        suspicious = anomalous or score >= self._learn_below
        self._learn(x, bucket, evidence, suspicious=suspicious)
        return self._decision(
            forecast,
            usual_share,
            warming_up,
            score=score,
            level=level,
            reason=reason,
            anomalous=anomalous,
        )

    def _judge(
        self,
        bucket: Bucket,
        forecast: CountForecast,
        windows: list[Window],
        usual_share: float,
        warming_up: bool,
    ) -> tuple[bool, int, str]:
        """Whether the bucket belongs to a storm, the storm's level, and why, in a sentence."""
        surprising = [
            w
            for w in windows
            if w.observed >= self.settings.min_negative
            and (w.z >= self._bar(w) or self._sustained_rise(w))
        ]
        # The share is judged over the same span as the volume: a campaign's misread negatives
        # must not count as a storm once the campaign's happy posts have left the latest bucket.
        qualified = [w for w in surprising if self._share_z(w) >= self.settings.min_share_z]
        # A storm opens on a bucket that is itself above normal (not on the echo of an earlier
        # burst in a longer sum), but one quiet bucket inside a storm does not end it.
        elevated = self._in_storm or bucket.negative > forecast.mean
        anomalous = bool(qualified) and elevated and not warming_up
        level = 0
        if anomalous:
            # The storm's size is read over every span that is clearly elevated (above the hold
            # bar), not only those that crossed the opening bar: otherwise a storm opened by its
            # latest bucket "climbs" one bucket later, when a longer span that was elevated all
            # along reaches the hold bar, and pages twice for one burst. Includes ``qualified``.
            sized = [
                w
                for w in windows
                if w.z >= self._hold
                and w.observed >= self.settings.min_negative
                and self._share_z(w) >= self.settings.min_share_z
            ]
            level = max(severity(w.observed, w.expected, self.settings.min_negative) for w in sized)
        best = max(qualified or surprising or windows, key=lambda w: w.z)
        share_ok = len(qualified) == len(surprising)
        reason = self._reason(best, bucket.width, usual_share, anomalous, share_ok, warming_up)
        return anomalous, level, reason

    def _learn(
        self,
        x: dict[Hashable, Any],
        bucket: Bucket,
        evidence: EvidenceWindows,
        *,
        suspicious: bool,
    ) -> None:
        """Teach the baseline from calm buckets only, and the noise model from every bucket.

        Only calm buckets teach the baseline: one that merely looks elevated is not learnt
        either, so a storm that builds slowly cannot drag the baseline up before it crosses the
        threshold, and a topic's baseline is its calm, not its calm plus its bursts. While
        warming up there is no baseline to protect yet, and a change that has lasted
        ``relearn_after`` is accepted as the new normal.

        Elevated buckets teach the noise model only once the episode is over: learnt as they
        come, they would make a storm look like noise and end it early; learnt afterwards, a
        topic that bursts often still ends up needing a bigger burst to page.
        """
        hours: float = x["hours"]
        self._unlearnt_hours = self._unlearnt_hours + hours if suspicious else 0.0
        learn_baseline = (
            self.warming_up or not suspicious or self._unlearnt_hours >= self._relearn_hours
        )
        evidence.learn(hours)
        if not learn_baseline:
            if len(self._elevated) < _MAX_DEFERRED:
                self._elevated.append(x)
            return
        for deferred in self._elevated:
            self.counts.learn_noise_one(deferred)
            self.recent.learn_noise_one(deferred)
        self._elevated.clear()
        self.counts.learn_one(x)
        self.recent.learn_one(x)
        self.share.learn_one({"negative": bucket.negative, "volume": bucket.volume, "hours": hours})
        self._learned_hours += hours

    def _evidence_for(self, bucket: Bucket) -> EvidenceWindows:
        """The evidence windows, sized in buckets of this width (rebuilt if the width changes)."""
        longest = min(max(int(self.settings.accumulate / bucket.width), 1), _MAX_WINDOW)
        if self._evidence is None or self._evidence.longest != longest:
            self._evidence = EvidenceWindows(longest, self._profile_hours)
            self._sustained_buckets = max(math.ceil(_SUSTAINED_FOR / bucket.width), 2)
        return self._evidence

    def _bar(self, window: Window) -> float:
        """The score a span must reach: lower inside a storm, and when its share confirms it."""
        if self._in_storm:
            return self._hold
        if (
            window.buckets <= _CONFIRM_SPAN
            and self._share_z(window) >= self.settings.share_confirm_z
        ):
            return min(self._threshold, self.settings.confirmed_threshold)
        return self._threshold

    def _without_lone_burst(
        self,
        bucket: Bucket,
        forecast: CountForecast,
        evidence: EvidenceWindows,
        windows: list[Window],
    ) -> list[Window]:
        """The windows to judge: all of them, unless the newest bucket is a lone burst that is
        noise for this topic (:meth:`_lone_burst_is_noise`). Then the longer spans are judged
        as if it had been at the top of its normal band: its echo in them is no evidence either,
        while a storm that was building before it still shows."""
        if not self._lone_burst_is_noise(windows[0]):
            return windows
        normal_top = count_at_z(NORMAL_BAND_Z, forecast.mean, forecast.dispersion)
        newest = min(float(bucket.negative), normal_top)
        return evidence.windows_with_newest(newest, forecast.dispersion)

    def _lone_burst_is_noise(self, single: Window) -> bool:
        """Whether the newest bucket would open a storm on its own but is noise for this topic:
        no higher than its routine daily peaks, or a burst at a quiet hour that would be
        ordinary at a busy one and does not turn the tone (a bot's batch or one quoted reply
        does not usually make a topic more negative)."""
        if (
            self._in_storm
            or single.z < self._threshold
            or single.observed < self.settings.min_negative
        ):
            return False
        if single.z < self._routine_peak():
            return True
        return not self._stands_out_whenever() and (
            self._share_z(single) < self.settings.share_confirm_z
        )

    def _sustained_rise(self, window: Window) -> bool:
        """Whether ``window`` is a rise of ``sustained_ratio`` times the usual negative volume,
        held for 45 minutes or more in most of its buckets, with at least three times
        ``min_negative`` mentions and a score above the hold bar.

        A topic that bursts a lot learns a wide noise model, so wide that a tenfold hour can
        read as noise; an order-of-magnitude rise that lasts is a storm whatever the noise
        model says. Requiring most buckets to be above usual keeps one burst's echo out.
        """
        ratio = self.settings.sustained_ratio
        return (
            ratio > 0
            and window.buckets >= self._sustained_buckets
            and window.observed >= ratio * window.expected
            and window.observed >= _SUSTAINED_MIN_FACTOR * self.settings.min_negative
            and 2 * window.above_usual >= window.buckets
            and window.z >= self._hold
        )

    def _routine_peak(self) -> float:
        """The single-bucket score this topic reached on ``routine_burst_days`` recent days."""
        days = self.settings.routine_burst_days
        return self._daily_peaks.reached_on(days) if days else float("-inf")

    def _stands_out_whenever(self) -> bool:
        """Whether the newest bucket is also surprising against the recent level, whatever
        the hour (always true with ``lone_burst_level_z = 0``)."""
        bar = self.settings.lone_burst_level_z
        return bar <= 0 or self._recent_z >= bar

    def _lone_burst_note(self, single: Window) -> str:
        """Why the newest bucket, a lone burst, opened no storm."""
        if single.z < self._routine_peak():
            days = self.settings.routine_burst_days
            return (
                f": a lone burst no higher than this topic's daily peaks on {days} of the last "
                f"{ROUTINE_LOOKBACK_DAYS} days, routine for it"
            )
        return ": a lone burst at a quiet hour that would be ordinary at a busy one"

    def _share_z(self, window: Window) -> float:
        return self.share.score_one(
            {"negative": window.observed, "volume": window.volume, "hours": 1.0}
        )

    def _reason(
        self,
        window: Window,
        width: timedelta,
        usual_share: float,
        anomalous: bool,
        share_ok: bool,
        warming_up: bool,
    ) -> str:
        observed, expected = window.observed, window.expected
        span = _describe_span(width * window.buckets)
        ratio = f" ({observed / expected:.1f}×)" if expected > 0 else ""
        counts = (
            f"{observed:.0f} negative mentions in the last {span} vs {expected:.0f} expected{ratio}"
        )
        share = (
            f"{observed / window.volume:.0%} negative vs {usual_share:.0%} usual"
            if window.volume
            else "no mentions"
        )
        sentence = f"{counts}; {share}"
        if warming_up:
            return f"warming up, no alerts yet: {sentence}"
        if not anomalous and not share_ok and observed > expected:
            return f"{sentence}: more volume but a lower negative share, not a shitstorm"
        return sentence

    def _decision(
        self,
        forecast: CountForecast,
        usual_share: float,
        warming_up: bool,
        *,
        score: float,
        level: int,
        reason: str,
        anomalous: bool = False,
    ) -> Decision:
        return Decision(
            score=score,
            anomalous=anomalous,
            severity=level,
            expected_negative=forecast.mean,
            # The chart's "normal" band: where ~95 % of calm buckets fall, not the alert bar
            # (which is set higher because evidence is tested over several spans at once).
            expected_negative_high=count_at_z(NORMAL_BAND_Z, forecast.mean, forecast.dispersion),
            expected_share=usual_share,
            reason=reason,
            warming_up=warming_up,
        )


def _describe_span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"

"""The alert policy between detector scores and incidents, one instance per topic.

A storm is negative volume far above what is usual — for this hour of the week *and* for what
else the topic is receiving — held long enough to be sure. The policy follows outbreak
detection in count surveillance (Farrington, CUSUM and GLR tests for counts):

- **two expectations, the larger wins.** A bucket's negative mentions are expected from the
  seasonal baseline (this hour, this weekday) and from the bucket's other mentions at the
  topic's usual tone (:mod:`detectors.tone`). A burst of attention with the usual tone is
  explained by the second and pages nobody; a storm exceeds both, at night or inside a burst;
- **evidence accumulates** over the last 1, 3, 9 … buckets, each span with its own noise level,
  so a sustained 2–3× rise becomes certain within a few buckets on a big topic and a small
  topic's night storm within the hour;
- **the noise is estimated robustly**: from complete buckets that were not flagged, each one's
  excess clipped, so one giant burst does not widen the band for weeks;
- **the bar comes from a false-alarm budget** (``sensitivity``), not a z threshold to tune;
- **mentions count as sure as the scorer is**: where it gives probabilities, a bucket's sums of
  them are read as effective counts (:mod:`detectors.readings`), which carry more evidence per
  post than labels do;
- a storm needs ``min_negative`` negative mentions ("0 vs 3" is not a storm), opens on a bucket
  above its expectation and lasts while the score stays above ``hold_threshold`` (one storm,
  one incident);
- a span whose negative share fell below usual is no storm (a happy campaign, its misread posts
  included);
- the baseline learns only from calm buckets: flagged ones never teach it (or the storm becomes
  the new normal) until a change has lasted ``relearn_after``; incomplete buckets are neither
  judged nor learnt (a gap is not a calm) and break the evidence sum;
- nothing is flagged until ``warmup`` of complete history has been learnt.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import timedelta
from typing import Any

from detectors.config import DetectionSettings, describe_chance
from detectors.counts import count_at_z
from detectors.decision import Decision
from detectors.evidence import EvidenceWindows, Window
from detectors.readings import ReadingNoise
from detectors.seasonal import CountBaseline
from detectors.severity import severity
from detectors.shown import LabelView
from detectors.tone import ToneBaseline
from monitor.models import Bucket

# Summing evidence over more buckets than this costs time and adds little: past 64 buckets the
# sum is dominated by the level's own uncertainty.
_MAX_WINDOW = 64
# Strength of the seasonal prior on a bucket's attention (a gamma shape, in neutral mentions):
# weak, because attention jumps tenfold within minutes on any topic (a news item, a retweet
# cascade) and a prior that believed in steady attention would call such a jump a storm. It
# matters only when a bucket has almost no neutral mentions.
ATTENTION_PRIOR = 1.0
# A bucket's negatives teach the usual tone clipped this many standard deviations above what
# its other mentions implied: elevated buckets still move the baseline, but only so far.
LEARN_CLIP_Z = 2.0
# Upper edge of the normal band drawn in charts, in the same standard deviations as the score.
NORMAL_BAND_Z = 2.0


class TopicDetector:
    """Scores a topic's buckets, applies the alert policy and learns from the normal ones.

    Deterministic and picklable: the daemon stores it between runs, or rebuilds it by observing
    the stored buckets again in order.

    Parameters
    ----------
    counts
        Seasonal baseline of the negative volume (a river anomaly detector with
        ``forecast_one``), for series that only have a total count.
    attention
        Seasonal baseline of the neutral volume: the prior for a bucket's attention.
    tone
        The usual ratio of negative to other mentions.
    settings
        The ``[detection]`` settings: sensitivity, warm-up, memory.

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
    >>> for part in storm.reason.split("; "):
    ...     print(part)
    45 negative mentions in the last 5 min vs 10 expected (4.5×)
    53% negative vs 20% usual
    this high by chance about once in 15 years

    """

    def __init__(
        self,
        counts: CountBaseline,
        attention: CountBaseline,
        tone: ToneBaseline,
        settings: DetectionSettings,
    ) -> None:
        self.counts = counts
        self.attention = attention
        self.tone = tone
        self.settings = settings
        self._threshold = settings.opening_threshold()
        self._count_only_threshold = settings.opening_threshold(tone=False)
        self._learn_below = settings.learn_below
        self._hold = min(settings.hold_threshold, self._threshold)
        self._warmup_hours = settings.warmup.total_seconds() / 3600.0
        self._relearn_hours = settings.relearn_after.total_seconds() / 3600.0
        self._evidence: EvidenceWindows | None = None  # sized by the first bucket's width
        self._profile_hours = settings.profile_half_life.total_seconds() / 3600.0
        self.readings = ReadingNoise(settings.level_half_life.total_seconds() / 3600.0)
        # What people read (counts, severity, the chart's band) is told in labels.
        self.shown = LabelView(ATTENTION_PRIOR)
        # Whether the judged tone was learnt from probabilities (else from labels).
        self._reads_probabilities = False
        self._learned_hours = 0.0
        # Hours of flagged buckets in a row (the baselines learn nothing from them).
        self._unlearnt_hours = 0.0
        self._in_storm = False

    @property
    def warming_up(self) -> bool:
        """True until ``warmup`` of complete history has been learnt."""
        return self._learned_hours < self._warmup_hours

    @property
    def threshold(self) -> float:
        """The score that opens a storm now (from the sensitivity's false-alarm budget)."""
        # Counts without tone are judged by a higher bar: a burst of attention and a storm
        # look alike there.
        return self._threshold if self.tone.ratio > 0 else self._count_only_threshold

    def observe(self, bucket: Bucket) -> Decision:
        """Judge ``bucket``, then learn from it unless it looked elevated or was incomplete."""
        hours = bucket.width.total_seconds() / 3600.0
        # The negative and neutral readings (label counts where the bucket has no readings;
        # read without building a Readings, this is the hot path of every bucket).
        readings = bucket.readings
        if (readings is not None) != self._reads_probabilities and bucket.complete:
            self._switch_reading(readings is not None)
        if readings is None:
            negative_read = float(bucket.negative)
            neutral_read = float(max(bucket.volume - bucket.negative - bucket.positive, 0))
        else:
            negative_read, neutral_read = readings.negative, max(readings.neutral, 0.0)
        x: dict[Hashable, Any] = {
            "start_at": bucket.start_at,
            "hours": hours,
            "count": negative_read,
        }
        seasonal = self.counts.forecast_one(x)
        # The usual shares before this bucket teaches them: judged, and in labels.
        judged_share = self.tone.usual_share
        usual_share = self.shown.own_tone.usual_share if self.shown.own_tone else judged_share
        warming_up = self.warming_up
        if not bucket.complete or hours <= 0:
            # A gap is not a calm, and a sum across a gap would compare unlike spans.
            if self._evidence is not None:
                self._evidence.clear()
            return self._decision(
                seasonal.mean,
                seasonal.dispersion,
                usual_share,
                warming_up,
                score=0.0,
                level=0,
                reason="incomplete bucket: a source failed or was not polled, so it is not judged",
            )

        # What is judged is in effective counts: probability sums times the topic's scale (1
        # for label counts); what is learnt and what people read stays in mentions.
        ratio = self.tone.ratio
        scale = 1.0 if readings is None else self.readings.scale(ratio)
        usual = 0.0
        if ratio > 0 or self.shown.own_tone:  # a series without tone needs none
            usual = self.attention.forecast_one({"start_at": bucket.start_at, "hours": hours}).mean
        expected, uncertainty = self._expectation(ratio, neutral_read, scale, usual, seasonal.mean)
        observed = scale * negative_read
        shown = self.shown.expectation(bucket, self.tone, usual, seasonal.mean)
        evidence = self._evidence_for(bucket)
        evidence.push(
            observed, expected, float(bucket.volume), uncertainty, (bucket.negative, shown)
        )
        windows = evidence.windows()
        score = max(w.z for w in windows)
        anomalous, level, reason = self._judge(
            observed > expected,
            windows,
            judged_share * scale,
            usual_share,
            bucket.width,
            warming_up,
        )
        self._in_storm = anomalous
        self._learn(
            x,
            bucket,
            negative_read,
            neutral_read,
            expected / scale,
            shown,
            anomalous=anomalous,
            calm=score < self._learn_below,
        )
        evidence.learn(hours, anomalous=anomalous, tone=self.tone.ratio > 0)
        return self._decision(
            shown,
            evidence.single_dispersion,
            usual_share,
            warming_up,
            score=score,
            level=level,
            reason=reason,
            anomalous=anomalous,
        )

    def _switch_reading(self, probabilities: bool) -> None:
        """The scorer started (or stopped) giving probabilities: an upgrade, or another
        backend. A usual tone learnt in labels would call every bucket of summed probabilities
        a storm (they read more negative), and the reverse would miss storms, so the judged
        tone starts afresh while the tone in labels carries on: until the new one has enough
        behind it the topic is judged by volume alone, as a series without tone is."""
        if probabilities:
            self.shown.own_tone = self.tone  # the labels learnt so far
            self.tone = ToneBaseline(half_life=self.tone.half_life)
        else:
            self.tone = self.shown.own_tone or ToneBaseline(half_life=self.tone.half_life)
            self.shown.own_tone = None
        self._reads_probabilities = probabilities
        # The evidence sums and their learnt noise are in the other reading: start again
        # from the prior noise, which errs wide.
        self._evidence = None

    def _expectation(
        self, ratio: float, neutral_read: float, scale: float, usual: float, seasonal: float
    ) -> tuple[float, float]:
        """The negative mentions this bucket should hold, and the variance of that guess, in
        effective counts (``scale`` times the readings).

        With a tone to go by, they are the usual ratio times the bucket's attention, read off
        its neutral mentions. The neutral count is itself a small sample of that attention, so
        it is read as a gamma-Poisson posterior whose weak prior is the usual neutral volume
        for this hour: the count speaks for itself unless the bucket has almost none, and its
        sampling noise is added to the expectation's variance. A series without tone (only
        total counts) is judged against the seasonal expectation alone. ``usual`` is this
        hour's usual neutral readings; ``ratio`` the usual tone's.
        """
        if ratio <= 0:
            return seasonal, 0.0
        neutral = scale * neutral_read
        if usual <= 0:
            return ratio * neutral, ratio * ratio * neutral
        shape = ATTENTION_PRIOR
        attention = (neutral + shape) / (1.0 + shape / (scale * usual))
        expected = ratio * attention
        return expected, expected * expected / (neutral + shape)

    def _judge(
        self,
        above_expected: bool,
        windows: list[Window],
        judged_share: float,
        usual_share: float,
        width: timedelta,
        warming_up: bool,
    ) -> tuple[bool, int, str]:
        """Whether the bucket belongs to a storm, the storm's level, and why, in a sentence.

        ``windows`` are what is judged (effective counts); the size of a storm and the
        sentence are told in labels (:mod:`detectors.shown`). ``judged_share`` is the usual
        share of what is judged per mention, ``usual_share`` the usual share of labels.
        """
        bar = self._hold if self._in_storm else self.threshold
        minimum = self.settings.min_negative

        def storm_like(window: Window, above: float) -> bool:
            # Enough negatives ("0 vs 3" is no storm), surprising enough, and the topic more
            # negative than usual: a span whose share fell (a campaign's happy posts, its few
            # misread ones included) is no storm, however many negatives.
            return (
                window.shown >= minimum
                and window.z >= above
                and window.observed >= judged_share * window.volume
            )

        surprising = [w for w in windows if storm_like(w, bar)]
        # A storm opens on a bucket that is itself above normal (not on the echo of an earlier
        # burst in a longer sum), but one quiet bucket inside a storm does not end it.
        elevated = self._in_storm or above_expected
        anomalous = bool(surprising) and elevated and not warming_up
        level = 0
        if anomalous:
            # The storm's size is read over every span that is clearly elevated (above the hold
            # bar), not only those that crossed the opening bar: otherwise a storm opened by its
            # latest bucket "climbs" one bucket later, when a longer span that was elevated all
            # along reaches the hold bar, and pages twice for one burst.
            sized = [w for w in windows if storm_like(w, self._hold)]
            level = max(severity(w.shown, w.shown_expected, minimum) for w in sized)
        best = max(surprising or windows, key=lambda w: w.z)
        return anomalous, level, self._reason(best, width, usual_share, warming_up)

    def _learn(
        self,
        x: dict[Hashable, Any],
        bucket: Bucket,
        negative_read: float,
        neutral_read: float,
        expected: float,
        shown: float,
        *,
        anomalous: bool,
        calm: bool,
    ) -> None:
        """Teach the baselines from every complete bucket that is not part of a storm.

        A storm never teaches them (or it becomes the new normal), until a change has lasted
        ``relearn_after`` and is accepted as the new normal. What merely looks elevated is
        learnt with its excess clipped: the baseline follows a topic whose tone or level
        wanders from day to day, while a storm building slowly below the bar moves it little.
        """
        hours: float = x["hours"]
        self._unlearnt_hours = self._unlearnt_hours + hours if anomalous else 0.0
        relearn = self.warming_up or self._unlearnt_hours >= self._relearn_hours
        if anomalous and not relearn:
            return
        # The seasonal level of negatives learns only from calm buckets: it is what a series
        # without tone is judged by, and a burst must not lift it.
        if calm or relearn:
            self.counts.learn_one(x)
        self.attention.learn_one(
            {"start_at": bucket.start_at, "hours": hours, "count": neutral_read}
        )
        negative = negative_read
        if self.tone.ratio > 0 and not relearn:
            negative = min(negative, count_at_z(LEARN_CLIP_Z, expected, 0.0))
        self.shown.learn(bucket, hours, shown, clip_z=None if relearn else LEARN_CLIP_Z)
        self.tone.learn_one(
            {
                "negative": negative,
                "neutral": neutral_read,
                "volume": negative + bucket.volume - negative_read,
                "hours": hours,
            }
        )
        if bucket.readings is not None:  # label counts would only teach it a scale of 1
            self.readings.learn(bucket.readings, hours)
        self._learned_hours += hours

    def _evidence_for(self, bucket: Bucket) -> EvidenceWindows:
        """The evidence windows, sized in buckets of this width (rebuilt if the width changes)."""
        longest = min(max(int(self.settings.accumulate / bucket.width), 1), _MAX_WINDOW)
        if self._evidence is None or self._evidence.longest != longest:
            self._evidence = EvidenceWindows(longest, self._profile_hours)
            self._threshold = self.settings.opening_threshold(bucket.width)
            self._count_only_threshold = self.settings.opening_threshold(bucket.width, tone=False)
            self._hold = min(self.settings.hold_threshold, self._threshold)
        return self._evidence

    def _reason(
        self, window: Window, width: timedelta, usual_share: float, warming_up: bool
    ) -> str:
        observed, expected = window.shown, window.shown_expected
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
        if window.z >= self.threshold:
            # How sure, read against the calibration of this kind of series (a series without
            # tone has a higher bar for the same chance).
            calibrated = window.z - (self.threshold - self._threshold)
            sentence += f"; this high {describe_chance(calibrated, width)}"
        if warming_up:
            return f"warming up, no alerts yet: {sentence}"
        return sentence

    def _decision(
        self,
        expected: float,
        dispersion: float,
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
            expected_negative=expected,
            # The chart's "usual range": where ~95 % of calm buckets fall, not the alert bar
            # (which is set higher because evidence is tested over several spans at once).
            expected_negative_high=count_at_z(NORMAL_BAND_Z, expected, dispersion),
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

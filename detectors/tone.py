"""The usual tone of a topic: how many negative mentions come with each neutral one.

Real mention streams swing tenfold for hours when something draws attention — a product launch,
a news item, a retweet cascade — and most such bursts carry the topic's usual tone. A burst of
attention brings negative posts in proportion to everything else; a shitstorm brings negative
posts *beyond* that proportion. So the negatives a bucket should hold, given what else it holds,
are ``ratio × neutral mentions``, the usual ratio learnt from calm buckets. The test is
conditional on volume, but on the *neutral* mentions rather than all of them: a storm's own
posts do not raise the bar they are measured against, and neither do the happy posts of a
campaign, so a campaign that backfires still shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from river import base

from detectors.counts import count_z
from detectors.stats import DecayingMean

# Neutral mentions (decayed) the ratio needs behind it before the tone is trusted.
MIN_NEUTRAL = 30.0


class ToneBaseline(base.AnomalyDetector):
    """Negative mentions expected from the neutral mentions of a bucket, at the usual ratio.

    Reads ``{"negative": int, "neutral": int, "hours": float}`` (and ``volume``, all mentions,
    for the usual share people read). The score is the excess of the
    bucket's negatives over ``ratio × neutral`` in standard deviations (Poisson); a series that
    only has a total count has no neutral mentions and scores 0.

    Parameters
    ----------
    half_life
        Memory of the usual ratio: long enough that a day whose share wanders does not become
        the norm, short enough to follow a topic whose tone changes over weeks.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from detectors.tone import ToneBaseline
    >>> tone = ToneBaseline(half_life=timedelta(days=3))
    >>> for _ in range(100):
    ...     tone.learn_one({"negative": 10, "neutral": 25, "hours": 1.0})
    >>> round(tone.ratio, 2), round(tone.expected_negative(250))
    (0.4, 100)
    >>> attention = {"negative": 100, "neutral": 250, "hours": 1.0}  # ten times, same tone
    >>> storm = {"negative": 40, "neutral": 25, "hours": 1.0}  # the others as usual
    >>> tone.score_one(attention) < 1 < 3 < tone.score_one(storm)
    True

    """

    def __init__(self, half_life: timedelta = timedelta(days=3)) -> None:
        self.half_life = half_life
        hours = half_life.total_seconds() / 3600.0
        self._negative = DecayingMean(hours)
        self._neutral = DecayingMean(hours)
        self._volume = DecayingMean(hours)

    @property
    def ratio(self) -> float:
        """Usual negative mentions per neutral mention; 0 until enough neutral mentions stand
        behind it (a topic whose posts are never neutral has no tone to go by)."""
        neutral = self._neutral.get()
        if neutral * self._neutral.evidence < MIN_NEUTRAL:
            return 0.0
        return self._negative.get() / neutral

    @property
    def neutral_rate(self) -> float:
        """Usual neutral mentions per hour (0 before any history)."""
        return self._neutral.get()

    @property
    def usual_share(self) -> float:
        """Usual negative mentions per mention, for people (0 before any history)."""
        volume = self._volume.get()
        return self._negative.get() / volume if volume > 0 else 0.0

    def expected_negative(self, neutral: float) -> float:
        """Negative mentions that ``neutral`` neutral mentions usually come with."""
        return self.ratio * max(neutral, 0.0)

    def learn_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        """Fold one calm bucket into the usual ratio (rates per hour, weighted by hours)."""
        hours: float = x["hours"]
        if hours <= 0:
            return
        self._negative.update(float(x["negative"]) / hours, hours)
        self._neutral.update(max(float(x["neutral"]), 0.0) / hours, hours)
        self._volume.update(float(x.get("volume", x["negative"] + x["neutral"])) / hours, hours)

    def score_one(self, x: dict[base.typing.FeatureName, Any]) -> float:
        """Standard deviations by which the negatives exceed what the neutral ones imply."""
        negative = float(x["negative"])
        expected = self.expected_negative(float(x["neutral"]))
        if expected <= 0:
            return 0.0
        return count_z(negative, expected, 0.0)

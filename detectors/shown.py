"""A storm in the terms people check it in: mentions labelled negative, and how many usual.

The detector judges summed probabilities (:mod:`detectors.readings`), but those make poor
figures for people: every neutral post adds a fifth or so of a "negative mention", so a topic
with 15 negative posts an hour would be said to expect 60, and a storm of five times the usual
negative posts would read as two and a half. What a social media manager can verify is the
list of mentions labelled negative. So the sentence in the Slack message and ``shitstorm
buckets``, the storm's severity and the chart's band are told in labels: the span's negative
labels against what the topic's usual tone *in labels* expects of its neutral labels. How sure
the detector is stays the judged evidence's. For buckets counted by label both views are one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from detectors.counts import count_at_z
from detectors.tone import ToneBaseline
from monitor.models import Bucket


@dataclass(frozen=True, slots=True)
class Shown:
    """A span in labels: negative mentions, how many were expected, all mentions."""

    negative: float
    expected: float
    volume: float


class LabelView:
    """The topic's usual tone in labels and its recent buckets told in them.

    Parameters
    ----------
    half_life
        Memory of the usual tone (the detector's own).
    prior
        Strength of the prior on a bucket's attention (the detector's own).
    """

    def __init__(self, half_life: timedelta, prior: float) -> None:
        self.tone = ToneBaseline(half_life=half_life)
        self.prior = prior
        self._recent: deque[Shown] = deque(maxlen=1)

    def resize(self, longest: int) -> None:
        """Keep the last ``longest`` buckets (the detector's longest span)."""
        self._recent = deque(self._recent, maxlen=longest)

    def clear(self) -> None:
        self._recent.clear()

    def expectation(self, bucket: Bucket, usual_neutral: float, seasonal: float) -> float:
        """Negative labels this bucket should hold: the usual ratio in labels times its
        neutral labels, read with the same weak prior as the judged expectation
        (``usual_neutral``, this hour's usual neutral labels); ``seasonal`` without a tone."""
        ratio = self.tone.ratio
        if ratio <= 0:
            return seasonal
        neutral = float(max(bucket.volume - bucket.negative - bucket.positive, 0))
        if usual_neutral <= 0:
            return ratio * neutral
        return ratio * (neutral + self.prior) / (1.0 + self.prior / usual_neutral)

    def push(self, bucket: Bucket, expected: float) -> None:
        self._recent.append(Shown(float(bucket.negative), expected, float(bucket.volume)))

    def span(self, buckets: int) -> Shown:
        """The last ``buckets`` buckets, summed."""
        recent = list(self._recent)[-buckets:]
        return Shown(
            sum(s.negative for s in recent),
            sum(s.expected for s in recent),
            sum(s.volume for s in recent),
        )

    def learn(self, bucket: Bucket, hours: float, expected: float, *, clip_z: float | None) -> None:
        """Teach the tone in labels as the judged one is taught (the same clip, if any)."""
        negative = float(bucket.negative)
        if clip_z is not None and self.tone.ratio > 0:
            negative = min(negative, count_at_z(clip_z, expected, 0.0))
        self.tone.learn_one(
            {
                "negative": negative,
                "neutral": float(bucket.volume - bucket.negative - bucket.positive),
                "volume": negative + bucket.volume - bucket.negative,
                "hours": hours,
            }
        )

    def neutral_per_judged(self, judged: ToneBaseline) -> float:
        """Neutral labels per judged neutral reading, usually: converts the judged attention's
        seasonal level into labels (1 when both count labels)."""
        judged_neutral = judged.neutral_rate
        return self.tone.neutral_rate / judged_neutral if judged_neutral > 0 else 1.0

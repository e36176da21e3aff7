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

from detectors.counts import count_at_z
from detectors.tone import ToneBaseline
from monitor.models import Bucket


class LabelView:
    """The topic's usual tone in labels, and what it expects of a bucket's labels (the
    evidence windows sum both alongside what is judged).

    While the detector judges labels the view uses the judged tone itself; once it judges
    probabilities (``own_tone`` set by the detector) the view keeps a tone of its own.

    Parameters
    ----------
    prior
        Strength of the prior on a bucket's attention (the detector's own).
    """

    def __init__(self, prior: float) -> None:
        self.prior = prior
        # A tone of its own once a bucket carried readings (None: the judged tone is it).
        self.own_tone: ToneBaseline | None = None

    def expectation(
        self, bucket: Bucket, judged: ToneBaseline, usual_neutral: float, seasonal: float
    ) -> float:
        """Negative labels this bucket should hold: the usual ratio in labels times its
        neutral labels, read with the same weak prior as the judged expectation
        (``usual_neutral``, this hour's usual judged neutral readings, converted to labels);
        ``seasonal`` without a tone. ``judged`` is the detector's tone."""
        own = self.own_tone
        ratio = judged.ratio if own is None else own.ratio
        if ratio <= 0:
            return seasonal
        neutral = float(max(bucket.volume - bucket.negative - bucket.positive, 0))
        if own is not None and judged.neutral_rate > 0:
            usual_neutral *= own.neutral_rate / judged.neutral_rate
        if usual_neutral <= 0:
            return ratio * neutral
        return ratio * (neutral + self.prior) / (1.0 + self.prior / usual_neutral)

    def learn(self, bucket: Bucket, hours: float, expected: float, *, clip_z: float | None) -> None:
        """Teach the tone in labels as the judged one is taught (the same clip, if any).
        Call it before the judged tone learns the bucket."""
        own = self.own_tone
        if own is None:
            return  # what is judged is labels: the judged tone learns these very ones
        negative = float(bucket.negative)
        if clip_z is not None and own.ratio > 0:
            negative = min(negative, count_at_z(clip_z, expected, 0.0))
        own.learn_one(
            {
                "negative": negative,
                "neutral": float(bucket.volume - bucket.negative - bucket.positive),
                "volume": negative + bucket.volume - bucket.negative,
                "hours": hours,
            }
        )

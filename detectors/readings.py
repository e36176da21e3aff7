"""How much surer a topic's summed probabilities are than its label counts.

The tone test weighs a bucket's negative mentions against ``ratio × neutral`` ones
(:mod:`detectors.tone`) and, like count tests do, takes both for Poisson counts: a variance of
``negative + ratio² × neutral`` for their difference. When the scorer gives calibrated
probabilities, the bucket holds their sums instead, and those are far less noisy: a post read
0.6 negative is read less neutral, so its two parts move together and partly cancel. Their
actual variance is the sum over the posts of ``(p_neg − ratio × p_neu)²``.

The detector therefore reads probability sums as *effective counts*, multiplied by the ratio of
the variance a count test assumes to the variance they have (a quasi-Poisson scale): then the
same tests, the same bars and the same learnt overdispersion apply unchanged. Measured on the
dev posts (``python benchmarks/storm_bench.py --confusion``) one storm post carries 0.94
standard deviations of evidence read this way against 0.80 as a label.

Mentions counted by label (a scorer without probabilities, a bare count series) are their own
squares with no cross term, so the scale is exactly 1 and nothing changes for them.
"""

from __future__ import annotations

from monitor.models import Readings

# Never more than this: a scorer whose probabilities all sit near ratio-balanced values would
# otherwise make a handful of posts look certain. The dev posts give about 5.
MAX_SCALE = 10.0
# Neutral readings (decayed) behind the sums before the scale is trusted, as many as the tone
# needs (``detectors.tone.MIN_NEUTRAL``); until then it is 1 (the noise overstated, so fewer
# pages, never more).
MIN_NEUTRAL = 30.0


class ReadingNoise:
    """Decayed sums of a topic's readings in calm buckets, and the scale they imply.

    Examples
    --------
    >>> from detectors.readings import ReadingNoise
    >>> from monitor.models import Readings
    >>> labels = ReadingNoise(half_life_hours=24.0)
    >>> unsure = ReadingNoise(half_life_hours=24.0)
    >>> for _ in range(100):
    ...     labels.learn(Readings.of_labels(3, 12), hours=1.0)
    ...     unsure.learn(Readings(3.0, 12.0, 1.2, 9.0, 2.4), hours=1.0)
    >>> labels.scale(0.25)
    1.0
    >>> round(unsure.scale(0.25), 2)  # (3 + 0.25² × 12) / (1.2 − 2 × 0.25 × 2.4 + 0.25² × 9)
    6.67

    """

    def __init__(self, half_life_hours: float) -> None:
        self.half_life = half_life_hours
        # Decayed sums of negative, neutral, their squares and their products (one decay for
        # all five: this runs every bucket).
        self._sums = [0.0] * 5

    def learn(self, readings: Readings, hours: float) -> None:
        """Fold in one calm bucket's readings, ``hours`` long."""
        if hours <= 0:
            return
        decay = 0.5 ** (hours / self.half_life)
        sums = self._sums
        sums[0] = decay * sums[0] + readings.negative
        sums[1] = decay * sums[1] + readings.neutral
        sums[2] = decay * sums[2] + readings.negative_sq
        sums[3] = decay * sums[3] + readings.neutral_sq
        sums[4] = decay * sums[4] + readings.cross

    def scale(self, ratio: float) -> float:
        """Variance a count test assumes over the variance the sums have, at this ``ratio``
        of negative to neutral mentions: at least 1, exactly 1 for label counts."""
        if ratio <= 0 or self._sums[1] < MIN_NEUTRAL:
            return 1.0
        negative, neutral, negative_sq, neutral_sq, cross = self._sums  # the scale is a ratio
        assumed = negative + ratio * ratio * neutral
        actual = negative_sq - 2.0 * ratio * cross + ratio * ratio * neutral_sq
        if assumed <= 0:
            return 1.0
        if actual <= assumed / MAX_SCALE:
            return MAX_SCALE
        return max(assumed / actual, 1.0)

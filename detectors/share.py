"""The negative share of a topic's mentions, and how far a bucket strays from the usual share.

Negative volume alone cannot tell a shitstorm from a happy campaign that brings everything up,
misread negatives included. The share can: in a storm the new posts are negative, in a campaign
they are not, and the share falls.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from river import base

from detectors.stats import DecayingMean

# Share variance never drops below this: a share that has always been exactly 0 or 1 (a series
# that only has a total count) then yields a z of 0 for "as usual", not a division by zero.
_MIN_SHARE_VARIANCE = 1e-4


class NegativeShareDetector(base.AnomalyDetector):
    """Binomial z-score of a bucket's negative share against the volume-weighted usual share.

    Reads ``{"negative": int, "volume": int, "hours": float}``. The score is positive when the
    bucket is more negative than usual and negative when it is more positive; a bucket without
    mentions scores 0.

    Parameters
    ----------
    half_life
        Memory of the usual share.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from detectors.share import NegativeShareDetector
    >>> detector = NegativeShareDetector(half_life=timedelta(days=3))
    >>> for _ in range(100):
    ...     detector.learn_one({"negative": 10, "volume": 50, "hours": 1.0})
    >>> round(detector.usual_share, 2)
    0.2
    >>> storm = {"negative": 40, "volume": 80, "hours": 1.0}
    >>> campaign = {"negative": 15, "volume": 150, "hours": 1.0}
    >>> detector.score_one(storm) > 3 and detector.score_one(campaign) < -2
    True

    """

    def __init__(self, half_life: timedelta = timedelta(days=3)) -> None:
        self.half_life = half_life
        hours = half_life.total_seconds() / 3600.0
        self._negative = DecayingMean(hours)
        self._volume = DecayingMean(hours)

    @property
    def usual_share(self) -> float:
        """Negative mentions per mention over the memory (0 before any volume)."""
        volume = self._volume.get()
        return self._negative.get() / volume if volume > 0 else 0.0

    def learn_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        """Fold one normal bucket into the usual share."""
        hours: float = x["hours"]
        if hours <= 0:
            return
        self._negative.update(x["negative"] / hours, hours)
        self._volume.update(x["volume"] / hours, hours)

    def score_one(self, x: dict[base.typing.FeatureName, Any]) -> float:
        """Standard errors by which the bucket's share exceeds the usual share."""
        volume = float(x["volume"])
        if volume <= 0 or self._volume.get() <= 0:
            return 0.0
        usual = self.usual_share
        variance = max(usual * (1.0 - usual), _MIN_SHARE_VARIANCE) / volume
        return (float(x["negative"]) / volume - usual) / math.sqrt(variance)

"""Running statistics whose memory is measured in time, not in observations.

river's ``stats.EWMean`` forgets a fixed fraction per update, so its memory would depend on the
bucket width. Here each update carries a weight (the hours it covers) and the half-life is in
hours too, so 5-minute and 1-hour buckets remember the same stretch of time.
"""

from __future__ import annotations

from river import stats


class DecayingMean(stats.base.Univariate):
    """Exponentially weighted mean with a half-life in units of weight, bias-corrected.

    The mean is ``Σ dᵢ wᵢ xᵢ / Σ dᵢ wᵢ`` with ``dᵢ`` halving every ``half_life`` of weight,
    so the first value is not dragged towards zero (river's EWMean starts from the first value
    instead, which over-trusts it). ``evidence`` is the decayed total weight: how much recent
    data stands behind the mean.

    Parameters
    ----------
    half_life
        Weight after which an observation counts half (hours when weights are hours).

    Examples
    --------
    >>> from detectors.stats import DecayingMean
    >>> mean = DecayingMean(half_life=1.0)
    >>> mean.update(10.0)
    >>> mean.update(20.0)
    >>> round(mean.get(), 3)
    16.667
    >>> round(mean.evidence, 3)
    1.5

    """

    def __init__(self, half_life: float) -> None:
        if half_life <= 0:
            raise ValueError(f"half_life must be positive, got {half_life}")
        self.half_life = half_life
        self._sum = 0.0
        self._weight = 0.0

    def update(self, x: float, w: float = 1.0) -> None:
        decay = 0.5 ** (w / self.half_life)
        self._sum = decay * self._sum + w * x
        self._weight = decay * self._weight + w

    def get(self) -> float:
        return self._sum / self._weight if self._weight > 0 else 0.0

    @property
    def evidence(self) -> float:
        return self._weight

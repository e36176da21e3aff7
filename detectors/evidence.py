"""Evidence summed over the last 1, 2, 4 … buckets, each span with its own noise level.

A storm three times the usual volume is invisible in one 5-minute bucket at 2 a.m. (4 posts
instead of 1.3) but plain over half an hour. Summing helps only if the noise of a sum is known:
spikes of single buckets average out over an hour, a wrong level does not. So each span learns
its own overdispersion from the sums it has seen (storms included: a topic that bursts often
needs a bigger burst to page), and leans on the single-bucket one (which assumes the worst, that
errors never average out) until it has seen about a day.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from detectors.counts import count_at_z, count_z
from detectors.stats import DecayingMean

# Hours of pseudo-evidence behind a span's prior overdispersion: for single buckets a mildly
# overdispersed stream, for longer spans the single-bucket figure (errors that never average).
_PRIOR_HOURS = 24.0
_PRIOR_DISPERSION = 0.05
_MIN_DISPERSION = 0.002
# The excess of a learnt bucket or sum is clipped this many standard deviations out: a burst
# nudges the noise estimate instead of moving it, so one giant burst cannot widen the band for
# weeks (a Huber-style bounded influence).
_CLIP_Z = 3.5
# Without a tone to tell a burst of attention from a storm, a topic that bursts often must need
# a bigger burst to page: for such series flagged buckets teach the noise too, clipped wider.
_COUNT_ONLY_CLIP_Z = 4.5
_COUNT_ONLY_FLAGGED_CLIP_Z = 5.5


@dataclass(frozen=True, slots=True)
class Window:
    """The last ``buckets`` buckets: negative mentions observed and expected, how surprising
    that is, and all mentions (``volume``) for the negative share over the same span.

    ``shown`` and ``shown_expected`` are the same span in the terms people read it in
    (negative labels and how many were usual, :mod:`detectors.shown`); for buckets counted by
    label they are ``observed`` and ``expected``."""

    z: float
    observed: float
    expected: float
    volume: float
    buckets: int
    shown: float = 0.0
    shown_expected: float = 0.0


def spans(longest: int) -> tuple[int, ...]:
    """Window sizes 1, 3, 9, 27 … buckets, up to ``longest``. (Doubling spans caught no more
    storms at the same false-alarm rate on the storm benchmark, and cost more.)

    Examples
    --------
    >>> from detectors.evidence import spans
    >>> spans(1), spans(6), spans(36)
    ((1,), (1, 3), (1, 3, 9, 27))

    """
    sizes = [1]
    while sizes[-1] * 3 <= longest:
        sizes.append(sizes[-1] * 3)
    return tuple(sizes)


class EvidenceWindows:
    """Recent buckets of one topic and the noise of their sums, per span.

    Call :meth:`push` with each complete bucket's count and expectation, read
    :meth:`windows`, then let it :meth:`learn` the noise of those sums. A gap
    (:meth:`clear`) restarts all sums.

    An expectation can come with a variance of its own (``uncertainty``): one read off the
    bucket's other mentions is itself a count, and its noise adds to the count's. What is
    learnt per span is the overdispersion *beyond* that and the count's Poisson noise.

    Parameters
    ----------
    longest
        Longest span in buckets.
    half_life_hours
        Memory of the per-span noise level.

    Examples
    --------
    >>> from detectors.evidence import EvidenceWindows
    >>> evidence = EvidenceWindows(longest=6, half_life_hours=24.0)
    >>> for _ in range(3):
    ...     evidence.push(3.0, 1.0, 10.0)
    >>> [(w.buckets, w.observed, w.expected) for w in evidence.windows()]
    [(1, 3.0, 1.0), (3, 9.0, 3.0)]

    """

    def __init__(self, longest: int, half_life_hours: float) -> None:
        self.longest = longest
        self.sizes = spans(longest)
        # (count, expected, volume, variance of the expectation, shown count, shown expected)
        # per bucket, newest last; one more than the longest span, the one that just left it.
        self._recent: deque[tuple[float, float, float, float, float, float]] = deque(
            maxlen=self.sizes[-1] + 1
        )
        # The same six summed over each span, kept up to date bucket by bucket (adding the
        # newest, taking off the one that left) instead of re-summed: this runs every bucket.
        self._totals = [[0.0] * 6 for _ in self.sizes]
        self._excess = [DecayingMean(half_life_hours) for _ in self.sizes]
        self._mean_sq = [DecayingMean(half_life_hours) for _ in self.sizes]
        # What :meth:`windows` found for the newest bucket, reused by :meth:`learn`:
        # (observed, expected, variance of the expectation, learnt overdispersion) per span.
        self._latest: list[tuple[float, float, float, float]] = []

    def clear(self) -> None:
        """Forget the recent buckets (after a gap), keeping what was learnt about noise."""
        self._recent.clear()
        self._totals = [[0.0] * 6 for _ in self.sizes]

    def push(
        self,
        count: float,
        expected: float,
        volume: float,
        uncertainty: float = 0.0,
        shown: tuple[float, float] | None = None,
    ) -> None:
        """Add the newest bucket: its count, the count expected, all its mentions, the
        variance of the expectation itself, and what people are shown of the first two (the
        same when not given)."""
        shown_count, shown_expected = shown if shown is not None else (count, expected)
        newest = (count, expected, volume, uncertainty, shown_count, shown_expected)
        recent = self._recent
        recent.append(newest)
        held = len(recent)
        for size, totals in zip(self.sizes, self._totals, strict=True):
            if held > size:  # the bucket that just left this span
                left = recent[-size - 1]
                for k in range(6):
                    totals[k] += newest[k] - left[k]
            else:
                for k in range(6):
                    totals[k] += newest[k]

    @property
    def single_dispersion(self) -> float:
        """Overdispersion of single buckets around their expectation, learnt robustly."""
        return self.dispersion(0, _PRIOR_DISPERSION)

    def dispersion(self, index: int, prior: float) -> float:
        """Learnt overdispersion of sums over ``sizes[index]`` buckets, leaning on ``prior``
        until about a day has been seen."""
        evidence = self._mean_sq[index].evidence
        mean_sq = self._mean_sq[index].get()
        learnt = self._excess[index].get() / mean_sq if mean_sq > 0 else prior
        blended = (evidence * learnt + _PRIOR_HOURS * prior) / (evidence + _PRIOR_HOURS)
        return max(blended, _MIN_DISPERSION)

    def windows(self) -> list[Window]:
        """One :class:`Window` per span that the recent buckets fill, shortest first."""
        found, self._latest = self._sums()
        return found

    def _sums(self) -> tuple[list[Window], list[tuple[float, float, float, float]]]:
        found: list[Window] = []
        latest: list[tuple[float, float, float, float]] = []
        held = len(self._recent)
        single = self.single_dispersion
        for index, (size, totals) in enumerate(zip(self.sizes, self._totals, strict=True)):
            if held < size:
                break
            observed, expected, volume, uncertainty, shown, shown_expected = totals
            phi = single if index == 0 else self.dispersion(index, single)
            latest.append((observed, expected, uncertainty, phi))
            total = phi + (uncertainty / (expected * expected) if expected > 0 else 0.0)
            z = count_z(observed, expected, total)
            found.append(Window(z, observed, expected, volume, size, shown, shown_expected))
        return found, latest

    def learn(self, hours: float, *, anomalous: bool = False, tone: bool = True) -> None:
        """Teach each span the noise of the sums :meth:`windows` just found, each excess
        clipped. With a ``tone`` to go by, nothing is learnt from a bucket flagged as a storm
        (the storm is not noise); without one, flagged bursts teach the noise too."""
        if anomalous and tone:
            return
        clip = _CLIP_Z
        if not tone:
            clip = _COUNT_ONLY_FLAGGED_CLIP_Z if anomalous else _COUNT_ONLY_CLIP_Z
        for index, (observed, expected, uncertainty, phi) in enumerate(self._latest):
            total = phi + (uncertainty / (expected * expected) if expected > 0 else 0.0)
            low = count_at_z(-clip, expected, total)
            high = count_at_z(clip, expected, total)
            residual = min(max(observed, low), high) - expected
            self._excess[index].update(residual * residual - expected - uncertainty, hours)
            self._mean_sq[index].update(expected * expected, hours)

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

from detectors.counts import WINSOR_Z, count_at_z, count_z
from detectors.stats import DecayingMean

# Hours of pseudo-evidence behind the single-bucket overdispersion as a span's prior.
_PRIOR_HOURS = 24.0
_MIN_DISPERSION = 0.002


@dataclass(frozen=True, slots=True)
class Window:
    """The last ``buckets`` buckets: negative mentions observed and expected, how surprising
    that is, all mentions (``volume``) for the negative share over the same span, and how many
    of its buckets were above their own expectation (``above_usual``)."""

    z: float
    observed: float
    expected: float
    volume: float
    buckets: int
    above_usual: int


def spans(longest: int) -> tuple[int, ...]:
    """Window sizes 1, 3, 9, 27 … buckets, up to ``longest``.

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
    >>> [(w.buckets, w.observed, w.expected) for w in evidence.windows(0.1)]
    [(1, 3.0, 1.0), (3, 9.0, 3.0)]

    """

    def __init__(self, longest: int, half_life_hours: float) -> None:
        self.longest = longest
        self.sizes = spans(longest)
        # (count, expected, volume) per bucket, newest last.
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=self.sizes[-1])
        self._excess = [DecayingMean(half_life_hours) for _ in self.sizes]
        self._mean_sq = [DecayingMean(half_life_hours) for _ in self.sizes]
        # What :meth:`windows` found for the newest bucket, reused by :meth:`learn`.
        self._latest: list[tuple[float, float, float]] = []

    def clear(self) -> None:
        """Forget the recent buckets (after a gap), keeping what was learnt about noise."""
        self._recent.clear()

    def push(self, count: float, expected: float, volume: float) -> None:
        """Add the newest bucket: its count, the count expected and all its mentions."""
        self._recent.append((count, expected, volume))

    def dispersion(self, index: int, single: float) -> float:
        """Overdispersion of sums over ``sizes[index]`` buckets, given the single-bucket one."""
        if index == 0:
            return single
        evidence = self._mean_sq[index].evidence
        mean_sq = self._mean_sq[index].get()
        learnt = self._excess[index].get() / mean_sq if mean_sq > 0 else single
        blended = (evidence * learnt + _PRIOR_HOURS * single) / (evidence + _PRIOR_HOURS)
        return max(blended, _MIN_DISPERSION)

    def windows(self, single: float) -> list[Window]:
        """One :class:`Window` per span that the recent buckets fill, shortest first."""
        found, self._latest = self._sums(single, newest=None)
        return found

    def windows_with_newest(self, count: float, single: float) -> list[Window]:
        """The windows as if the newest bucket had held ``count`` negative mentions, at its own
        negative share; nothing is learnt from them."""
        found, _ = self._sums(single, newest=count)
        return found

    def _sums(
        self, single: float, newest: float | None
    ) -> tuple[list[Window], list[tuple[float, float, float]]]:
        found: list[Window] = []
        latest: list[tuple[float, float, float]] = []
        observed = expected = volume = 0.0
        above_usual = 0
        sizes = self.sizes
        index = 0
        size = sizes[0]
        for n, (count, mean, mentions) in enumerate(reversed(self._recent), start=1):
            if n == 1 and newest is not None:
                mentions = mentions * newest / count if count > 0 else mentions
                count = newest
            observed += count
            expected += mean
            volume += mentions
            above_usual += count > mean
            if n == size:
                phi = self.dispersion(index, single)
                latest.append((observed, expected, phi))
                z = count_z(observed, expected, phi)
                found.append(Window(z, observed, expected, volume, n, above_usual))
                index += 1
                if index == len(sizes):
                    break
                size = sizes[index]
        return found, latest

    def learn(self, hours: float) -> None:
        """Teach each span the noise of the sums :meth:`windows` just found (winsorised)."""
        for index in range(1, len(self._latest)):
            observed, expected, phi = self._latest[index]
            low = count_at_z(-WINSOR_Z, expected, phi)
            high = count_at_z(WINSOR_Z, expected, phi)
            residual = min(max(observed, low), high) - expected
            self._excess[index].update(residual * residual - expected, hours)
            self._mean_sq[index].update(expected * expected, hours)

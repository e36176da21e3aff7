"""How big a topic's lone bursts usually get: the highest single-bucket score of each day.

Some topics burst every day without anything being wrong: a bot posts its batch, a daily
newsletter is shared, one reply gets quoted a hundred times. Their noise model cannot absorb
such one-bucket bursts (they are too rare to move a variance, too regular to be news), so they
would page every day. Remembering each day's peak lets the policy treat a burst no higher than
the peaks of several recent days as routine for this topic.
"""

from __future__ import annotations

from collections import deque

_HOURS_PER_DAY = 24.0


class DailyPeaks:
    """The highest score of each of the last ``days`` days (24 hours of judged buckets).

    Parameters
    ----------
    days
        How many complete days to remember.

    Examples
    --------
    Hourly scores for a week, with a burst scoring 7 on four of the seven days:

    >>> from detectors.bursts import DailyPeaks
    >>> peaks = DailyPeaks(days=7)
    >>> for day in range(7):
    ...     for hour in range(24):
    ...         peaks.update(7.0 if day % 2 == 0 and hour == 9 else 1.0, hours=1.0)
    >>> peaks.reached_on(3), peaks.reached_on(5)
    (7.0, 1.0)

    """

    def __init__(self, days: int = 7) -> None:
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self.days = days
        self._peaks: deque[float] = deque(maxlen=days)
        self._highest_first: list[float] = []  # the peaks sorted once per day, not per bucket
        self._today = float("-inf")
        self._today_hours = 0.0

    def update(self, score: float, hours: float) -> None:
        """Record one judged bucket's score; a day closes after 24 hours of buckets."""
        self._today = max(self._today, score)
        self._today_hours += hours
        if self._today_hours >= _HOURS_PER_DAY:
            self._peaks.append(self._today)
            self._highest_first = sorted(self._peaks, reverse=True)
            self._today = float("-inf")
            self._today_hours = 0.0

    def reached_on(self, count: int) -> float:
        """The highest score reached on at least ``count`` of the remembered days.

        Minus infinity until ``days`` days are remembered: a young topic has no routine yet.
        """
        if len(self._highest_first) < self.days or not 1 <= count <= self.days:
            return float("-inf")
        return self._highest_first[count - 1]

"""Count baselines: what volume a bucket should have, and how far off it may be by chance.

Two river anomaly detectors share one skeleton: a level that follows slow drifts, times a
seasonal shape, and a negative binomial noise model whose overdispersion is learnt online.
:class:`SeasonalCountDetector` knows hour-of-day and day-of-week in the topic's own time zone,
so a 2 a.m. storm is measured against 2 a.m. and a quiet Sunday against Sundays.
:class:`RecentLevelDetector` only compares with the recent past, as commercial tools do.

Both read a feature dict ``{"start_at": datetime, "hours": float, "count": float}``: the bucket's
start (aware), its width in hours and the count to judge. Rates are learnt per hour so that any
bucket width works and the memory is measured in time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from river import base

from detectors.counts import WINSOR_Z, CountForecast, count_at_z, count_z
from detectors.stats import DecayingMean

# Overdispersion is never assumed below this: real mention streams are never purely Poisson,
# and a floor keeps a lucky calm stretch from making the model overconfident.
_MIN_DISPERSION = 0.01
# Buckets learnt after an elevated episode (bursts that did not teach the level) are clipped
# this far out instead of at WINSOR_Z: the noise model then takes in more of a topic's bursts,
# so a topic that bursts often needs a bigger burst to page, while a calm topic, which has no
# such buckets, keeps its sensitivity (NAB realTweets: 38 false alarms at 4.5, 35 at 5.5 with
# the same windows detected; wider clips gain at threshold 5.5 but lose windows next to it).
_BURST_WINSOR_Z = 5.5
# Until a topic has a day of history, its noise is assumed mildly overdispersed.
_PRIOR_DISPERSION = 0.05
_PRIOR_HOURS = 24.0
# Pseudo-evidence (hours) pulling a young profile slot towards "an average hour": a quarter of
# a day's worth for an hour-of-day slot, a quarter of a day for a weekday. Small, because each
# factor is shrunk on its own and a large prior would flatten the profile.
_HOUR_PRIOR = 0.25
_WEEKDAY_PRIOR = 6.0


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600.0


class CountBaseline(base.AnomalyDetector):
    """Level × shape with negative binomial noise; subclasses define the shape.

    Besides river's ``learn_one`` / ``score_one`` it offers ``forecast_one`` (the expected
    count and its overdispersion, which the policy sums over several buckets) and
    ``learn_noise_one`` (for buckets that must not move the level).
    """

    def __init__(
        self,
        timezone: tzinfo = UTC,
        level_half_life: timedelta = timedelta(hours=48),
        profile_half_life: timedelta = timedelta(days=14),
    ) -> None:
        self.timezone = timezone
        self.level_half_life = level_half_life
        self.profile_half_life = profile_half_life
        self._level = DecayingMean(_hours(level_half_life))
        # Moment estimator of φ: E[(x - μ)² - μ] / E[μ²], both over the profile's memory.
        self._excess_var = DecayingMean(_hours(profile_half_life))
        self._mean_sq = DecayingMean(_hours(profile_half_life))
        # The policy forecasts a bucket, then learns from it, which forecasts it again: the
        # latest forecast is kept until something is learnt.
        self._forecast_for: tuple[datetime, float] | None = None
        self._forecast = CountForecast(mean=0.0, dispersion=_PRIOR_DISPERSION)

    # -- the shape, per subclass ---------------------------------------------------------------

    def _shape(self, start_at: datetime) -> float:
        """Expected rate at ``start_at`` relative to the level (1 = an average hour)."""
        return 1.0

    def _learn_shape(self, start_at: datetime, rate: float, hours: float) -> None:
        """Teach the shape one bucket's hourly rate."""

    # -- river API -----------------------------------------------------------------------------

    @property
    def warm_hours(self) -> float:
        """How much history (decayed hours) stands behind the level."""
        return self._level.evidence

    @property
    def dispersion(self) -> float:
        """Current overdispersion ``φ`` of the noise model."""
        mean_sq = self._mean_sq.get()
        learnt = self._excess_var.get() / mean_sq if mean_sq > 0 else _PRIOR_DISPERSION
        # A young estimate leans on the prior, so one odd bucket cannot swing it.
        evidence = self._mean_sq.evidence
        blended = (evidence * learnt + _PRIOR_HOURS * _PRIOR_DISPERSION) / (evidence + _PRIOR_HOURS)
        return max(blended, _MIN_DISPERSION)

    def forecast_one(self, x: dict[base.typing.FeatureName, Any]) -> CountForecast:
        """Expected count and overdispersion for the bucket described by ``x``."""
        key = (x["start_at"], x["hours"])
        if key != self._forecast_for:
            mean = self._level.get() * self._shape(x["start_at"]) * x["hours"]
            self._forecast = CountForecast(mean=mean, dispersion=self.dispersion)
            self._forecast_for = key
        return self._forecast

    def score_one(self, x: dict[base.typing.FeatureName, Any]) -> float:
        """Standardised excess of ``x["count"]`` over the forecast (larger = more anomalous)."""
        forecast = self.forecast_one(x)
        return count_z(x["count"], forecast.mean, forecast.dispersion)

    def learn_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        """Fold one normal bucket into the level, the shape and the noise model."""
        hours: float = x["hours"]
        if hours <= 0:
            return
        count = self._learn_noise(x)
        rate = count / hours
        shape = self._shape(x["start_at"])
        self._learn_shape(x["start_at"], rate, hours)
        self._level.update(rate / shape, hours)
        self._forecast_for = None

    def learn_noise_one(self, x: dict[base.typing.FeatureName, Any]) -> None:
        """Fold a flagged bucket into the noise model only, never into the level.

        How often a topic spikes is part of how noisy it is: a topic that bursts every day
        should need a bigger burst to page somebody. Its level must not follow the burst.
        """
        if x["hours"] > 0:
            self._learn_noise(x, clip_z=_BURST_WINSOR_Z)

    def _learn_noise(
        self, x: dict[base.typing.FeatureName, Any], clip_z: float = WINSOR_Z
    ) -> float:
        """Update the overdispersion; return the count winsorised to the normal band.

        Counts above the band are clipped ``clip_z`` standard deviations out.
        """
        count = float(x["count"])
        if self._level.evidence <= 1.0:
            return count
        forecast = self.forecast_one(x)
        self._forecast_for = None  # what follows changes the forecast
        low = count_at_z(-WINSOR_Z, forecast.mean, forecast.dispersion)
        high = count_at_z(clip_z, forecast.mean, forecast.dispersion)
        count = min(max(count, low), high)
        residual = count - forecast.mean
        hours: float = x["hours"]
        self._excess_var.update(residual * residual - forecast.mean, hours)
        self._mean_sq.update(forecast.mean * forecast.mean, hours)
        return count


class SeasonalCountDetector(CountBaseline):
    """Count baseline that knows hour-of-day and day-of-week in the topic's time zone.

    The expected rate is ``level × hour factor × weekday factor``. Each factor is the ratio of
    its slot's mean rate to the overall mean, shrunk towards 1 while its slot has seen little
    (the first day of an hour, the first week of a weekday), so a young detector falls back to
    the level alone and sharpens as the profile fills in. Weekdays are learnt with the hourly
    rhythm taken out, so a weekday seen only at night so far is not mistaken for a quiet one.

    Parameters
    ----------
    timezone
        The topic's local zone: hour-of-day and day-of-week are read there (buckets are UTC).
    level_half_life
        Memory of the level that follows slow drifts.
    profile_half_life
        Memory of the hourly and weekday profile and of the noise level.

    Examples
    --------
    Two weeks of a stream that is busy by day and quiet by night, then the same 20 mentions
    judged at 3 p.m. and at 3 a.m.:

    >>> from datetime import UTC, datetime, timedelta
    >>> from detectors.seasonal import SeasonalCountDetector
    >>> detector = SeasonalCountDetector(timezone=UTC)
    >>> start = datetime(2026, 3, 2, tzinfo=UTC)
    >>> for i in range(14 * 24):
    ...     at = start + timedelta(hours=i)
    ...     busy = 8 <= at.hour < 20
    ...     detector.learn_one({"start_at": at, "hours": 1.0, "count": 20 if busy else 4})
    >>> afternoon = {"start_at": start + timedelta(days=14, hours=15), "hours": 1.0, "count": 20}
    >>> night = {"start_at": start + timedelta(days=14, hours=3), "hours": 1.0, "count": 20}
    >>> round(detector.forecast_one(afternoon).mean), round(detector.forecast_one(night).mean)
    (20, 4)
    >>> detector.score_one(afternoon) < 1 < 4 < detector.score_one(night)
    True

    """

    def __init__(
        self,
        timezone: tzinfo = UTC,
        level_half_life: timedelta = timedelta(hours=48),
        profile_half_life: timedelta = timedelta(days=14),
    ) -> None:
        super().__init__(timezone, level_half_life, profile_half_life)
        profile_hours = _hours(profile_half_life)
        # A slot of the hourly profile sees one hour per day, a weekday 24 hours per week:
        # their half-lives in weight are scaled so all of them forget over the same days.
        self._overall = DecayingMean(profile_hours)
        self._by_hour = [DecayingMean(profile_hours / 24.0) for _ in range(24)]
        # Weekdays learn the rate with the hour-of-day rhythm taken out, so a weekday seen only
        # at night so far (a restart, the first day) is not taken for a quiet weekday.
        self._overall_flat = DecayingMean(profile_hours)
        self._by_weekday = [DecayingMean(profile_hours / 7.0) for _ in range(7)]
        self._slot_at: datetime | None = None
        self._slot = (0, 0)

    def _slots(self, start_at: datetime) -> tuple[int, int]:
        # The policy asks for the same bucket several times; converting zones is the costly part.
        if start_at != self._slot_at:
            local = start_at.astimezone(self.timezone)
            self._slot_at = start_at
            self._slot = (local.hour, local.weekday())
        return self._slot

    def _hour_factor(self, hour: int) -> float:
        overall = self._overall.get()
        return _factor(self._by_hour[hour], overall, _HOUR_PRIOR) if overall > 0 else 1.0

    def _shape(self, start_at: datetime) -> float:
        hour, weekday = self._slots(start_at)
        flat = self._overall_flat.get()
        by_weekday = _factor(self._by_weekday[weekday], flat, _WEEKDAY_PRIOR) if flat > 0 else 1.0
        return self._hour_factor(hour) * by_weekday

    def _learn_shape(self, start_at: datetime, rate: float, hours: float) -> None:
        hour, weekday = self._slots(start_at)
        flat = rate / self._hour_factor(hour)
        self._overall.update(rate, hours)
        self._by_hour[hour].update(rate, hours)
        self._overall_flat.update(flat, hours)
        self._by_weekday[weekday].update(flat, hours)


def _factor(slot: DecayingMean, overall: float, prior_hours: float) -> float:
    """Slot mean / overall mean, shrunk towards 1 by ``prior_hours`` of pseudo-evidence."""
    evidence = slot.evidence
    raw = slot.get() / overall
    # A slot that has always been empty would give 0 and make any mention infinitely
    # surprising; keep a floor so "quiet" means quiet, not impossible.
    return max((evidence * raw + prior_hours) / (evidence + prior_hours), 0.05)


class RecentLevelDetector(CountBaseline):
    """Count baseline without seasonality: the last hours' level is the expectation.

    This is what "compare the last hour with the last 12 hours" tools do; it is kept as a
    yardstick for the backtest and for series without a daily rhythm.

    Parameters
    ----------
    timezone
        Accepted for a uniform constructor; unused.
    level_half_life
        Memory of the level.
    profile_half_life
        Memory of the noise level.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> from detectors.seasonal import RecentLevelDetector
    >>> detector = RecentLevelDetector()
    >>> start = datetime(2026, 3, 2, tzinfo=UTC)
    >>> for i in range(48):
    ...     detector.learn_one({"start_at": start + timedelta(hours=i), "hours": 1.0, "count": 10})
    >>> round(detector.forecast_one({"start_at": start, "hours": 1.0, "count": 0}).mean)
    10

    """

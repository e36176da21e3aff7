"""Online anomaly detectors for mention counts (river vocabulary) and the alert policy.

``settings.toml`` picks a count detector by name from :data:`DETECTORS`; :func:`build_detector`
wraps it, with the topic's usual tone (:class:`ToneBaseline`), in the per-topic
:class:`TopicDetector` whose ``observe(bucket)`` the pipeline calls once per closed bucket.
"""

from __future__ import annotations

from datetime import tzinfo

from detectors.config import DETECTOR_NAMES, SENSITIVITIES, DetectionSettings
from detectors.decision import Decision
from detectors.policy import TopicDetector
from detectors.seasonal import CountBaseline, RecentLevelDetector, SeasonalCountDetector
from detectors.severity import MAX_SEVERITY, SEVERITY_LABELS, severity
from detectors.tone import ToneBaseline

# Bump when a detector's pickled state changes shape, so a saved state from an older version is
# rebuilt from stored buckets instead of unpickled into the new code (put it in the fingerprint).
STATE_VERSION = 4

DETECTORS: dict[str, type[CountBaseline]] = {
    "seasonal": SeasonalCountDetector,
    "level": RecentLevelDetector,
}
assert tuple(DETECTORS) == DETECTOR_NAMES, "keep detectors.config.DETECTOR_NAMES in sync"


def build_detector(settings: DetectionSettings, timezone: tzinfo) -> TopicDetector:
    """A fresh detector for one topic; ``timezone`` is where its hours and weekdays are read.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> from detectors import DetectionSettings, build_detector
    >>> detector = build_detector(DetectionSettings(), ZoneInfo("Europe/Berlin"))
    >>> detector.warming_up
    True

    """
    problems = settings.problems()
    if problems:
        key, message = problems[0]
        raise ValueError(f"detection.{key}: {message}")

    def baseline() -> CountBaseline:
        return DETECTORS[settings.detector](
            timezone=timezone,
            level_half_life=settings.level_half_life,
            profile_half_life=settings.profile_half_life,
        )

    tone = ToneBaseline(half_life=settings.share_half_life)
    return TopicDetector(baseline(), baseline(), tone, settings)


__all__ = [
    "DETECTORS",
    "MAX_SEVERITY",
    "SENSITIVITIES",
    "SEVERITY_LABELS",
    "STATE_VERSION",
    "CountBaseline",
    "Decision",
    "DetectionSettings",
    "RecentLevelDetector",
    "SeasonalCountDetector",
    "ToneBaseline",
    "TopicDetector",
    "build_detector",
    "severity",
]

"""The rule-based backend (``backend = "lexicon"``): lexicons and rules, English and German.

No model at all: it scores thousands of texts a second, and the trained default backend reads
its polarities as features. The two scorers' raw polarities do not mean the same (VADER's -0.05
is already a complaint, the German rules' is not), so each is mapped onto one common scale on
which the settings' thresholds hold for every language alike.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.sentiment.base import Verdict, label_for
from monitor.sentiment.config import SentimentSettings
from monitor.sentiment.english import EnglishScorer
from monitor.sentiment.german import GermanScorer

# The raw (negative, positive) thresholds each scorer was tuned with on labelled posts.
TUNED_THRESHOLDS: dict[str, tuple[float, float]] = {
    "en": (-0.05, 0.35),
    "de": (-0.2, 0.35),
}
# The common scale: the default settings' thresholds.
_REFERENCE = SentimentSettings()


def calibrate(raw: float, tuned: tuple[float, float]) -> float:
    """Maps a raw polarity onto the common scale, piecewise linearly and monotonically.

    The scorer's tuned thresholds land on the default settings' thresholds; -1, 0 and 1 stay.

    >>> round(calibrate(-0.05, (-0.05, 0.35)), 3), calibrate(0.0, (-0.05, 0.35))
    (-0.2, 0.0)
    """
    negative, positive = tuned
    reference_negative = _REFERENCE.negative_threshold
    reference_positive = _REFERENCE.positive_threshold
    if raw < 0:
        if raw >= negative:
            return raw * reference_negative / negative
        return reference_negative + (raw - negative) * (-1 - reference_negative) / (-1 - negative)
    if raw <= positive:
        return raw * reference_positive / positive
    return reference_positive + (raw - positive) * (1 - reference_positive) / (1 - positive)


class LexiconBackend:
    """English (VADER plus complaint vocabulary) and German (the project's rules)."""

    def __init__(self, settings: SentimentSettings) -> None:
        self._polarity: dict[str, Callable[[str], float]] = {
            "en": EnglishScorer().polarity,
            "de": GermanScorer().polarity,
        }
        self._negative = settings.negative_threshold
        self._positive = settings.positive_threshold

    def languages(self) -> frozenset[str] | None:
        return frozenset(self._polarity)

    def judge(self, text: str, lang: str) -> Verdict:
        """The rules' label and polarity; no probabilities (the rules are sure of their label)."""
        polarity = calibrate(self._polarity[lang](text), TUNED_THRESHOLDS[lang])
        return Verdict(label_for(polarity, self._negative, self._positive), polarity)

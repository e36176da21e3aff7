"""The default backend: the rule scorers shipped with the package, English and German.

No download, no model: it works from a plain ``pip install`` and scores thousands of texts a
second. Each language keeps the thresholds its scorer was tuned with, because one polarity scale
does not mean the same in VADER and in the German rules; the settings shift both together.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.models import Label
from monitor.sentiment.base import label_for
from monitor.sentiment.config import SentimentSettings
from monitor.sentiment.english import EnglishScorer
from monitor.sentiment.german import GermanScorer

# (negative, positive) thresholds each scorer was tuned with, for the default settings.
TUNED_THRESHOLDS: dict[str, tuple[float, float]] = {
    "en": (-0.05, 0.35),
    "de": (-0.2, 0.35),
}
_DEFAULTS = SentimentSettings()


class EmbeddedBackend:
    """English (VADER plus complaint vocabulary) and German (the project's rules)."""

    def __init__(self, settings: SentimentSettings) -> None:
        self._polarity: dict[str, Callable[[str], float]] = {
            "en": EnglishScorer().polarity,
            "de": GermanScorer().polarity,
        }
        # A user who moves the thresholds away from the defaults moves every language alike.
        negative_shift = settings.negative_threshold - _DEFAULTS.negative_threshold
        positive_shift = settings.positive_threshold - _DEFAULTS.positive_threshold
        self._thresholds = {
            lang: (negative + negative_shift, positive + positive_shift)
            for lang, (negative, positive) in TUNED_THRESHOLDS.items()
        }

    def languages(self) -> frozenset[str] | None:
        return frozenset(self._polarity)

    def judge(self, text: str, lang: str) -> tuple[Label, float]:
        polarity = self._polarity[lang](text)
        negative, positive = self._thresholds[lang]
        return label_for(polarity, negative, positive), polarity

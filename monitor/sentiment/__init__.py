"""Sentiment of mentions in German and English: the Scorer contract and the factory for it.

``build_scorer(settings)`` gives the trained models shipped with the package by default
(``embedded``), the rule scorers (``lexicon``), or a local transformer or ONNX model when
settings.toml selects one. Language routing, counting and the neutralising of the topic's own
terms sit in front of every backend alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.sentiment.base import Backend, Scorer, SentimentBackendError
from monitor.sentiment.config import SentimentSettings
from monitor.sentiment.routing import RoutingScorer

__all__ = [
    "RoutingScorer",
    "Scorer",
    "SentimentBackendError",
    "SentimentSettings",
    "build_backend",
    "build_scorer",
]


def build_backend(settings: SentimentSettings) -> Backend:
    """The backend that settings select. Heavy ones load their model now, so errors show early.

    Raises :class:`SentimentBackendError` naming the key when a package or model is missing.
    """
    if settings.backend == "embedded":
        from monitor.sentiment.trained import TrainedBackend

        return TrainedBackend(settings)
    if settings.backend == "lexicon":
        from monitor.sentiment.lexicon import LexiconBackend

        return LexiconBackend(settings)
    from monitor.sentiment.heavy import load_model_backend

    return load_model_backend(settings)


def build_scorer(
    settings: SentimentSettings, languages: Sequence[str] = (), terms: Sequence[str] = ()
) -> RoutingScorer:
    """A thread-safe scorer for a topic whose ``languages`` hint detection and whose search
    ``terms`` carry no sentiment of their own.

    The result is a :class:`Scorer` that also reports ``language_counts()`` and
    ``fallback_count()``. Construction is cheap: lexicons and models are shared per process.
    """
    return RoutingScorer(
        build_backend(settings),
        fallback_language=settings.fallback_language,
        topic_languages=languages,
        topic_terms=terms,
        min_detect_letters=settings.min_detect_letters,
    )

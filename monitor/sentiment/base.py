"""The scoring contract the pipeline codes against, and the one the backends fulfil.

A :class:`Scorer` turns one mention's text into a :class:`~monitor.models.Sentiment`. It must be
thread-safe (scheduler workers share one) and cheap per call; the expensive parts (lexicons,
models) load once per process on first use.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from monitor.models import Label, Sentiment

__all__ = [
    "Backend",
    "Label",
    "Probabilities",
    "Scorer",
    "Sentiment",
    "SentimentBackendError",
    "Verdict",
    "label_for",
]

# The chances of negative, neutral and positive, in that order; they add up to 1.
Probabilities = tuple[float, float, float]


class Scorer(Protocol):
    def score(self, text: str, lang: str | None = None) -> Sentiment:
        """The sentiment of ``text``. ``lang`` is the source's language tag ("de-DE"), if any."""
        ...


class Verdict(NamedTuple):
    """What a backend says of one text: its label, its polarity in [-1, 1] (below 0 negative)
    and, where the backend has them, the probabilities of the three labels."""

    label: Label
    polarity: float
    # None: the backend has no probabilities and is taken to be sure of its label (the rules).
    probabilities: Probabilities | None = None


class Backend(Protocol):
    """Scores a text whose language is already decided; the router picks the language."""

    def languages(self) -> frozenset[str] | None:
        """The 2-letter codes this backend scores; None when it takes any language."""
        ...

    def judge(self, text: str, lang: str) -> Verdict:
        """The label of ``text``, its polarity and, if the backend has them, probabilities."""
        ...


class SentimentBackendError(Exception):
    """A backend that cannot be built: missing package or model. Names the settings key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"sentiment.{key}: {message}")
        self.key = key
        self.message = message


def label_for(polarity: float, negative_threshold: float, positive_threshold: float) -> Label:
    """The label of a polarity: negative at or below, positive at or above the thresholds.

    >>> label_for(-0.5, -0.1, 0.25), label_for(0.0, -0.1, 0.25), label_for(0.3, -0.1, 0.25)
    (<Label.NEGATIVE: 'negative'>, <Label.NEUTRAL: 'neutral'>, <Label.POSITIVE: 'positive'>)
    """
    if polarity <= negative_threshold:
        return Label.NEGATIVE
    if polarity >= positive_threshold:
        return Label.POSITIVE
    return Label.NEUTRAL

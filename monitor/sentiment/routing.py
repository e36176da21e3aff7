"""Sends each text to the scorer of its language and counts what it saw, for ops.

The source's language tag is trusted when present; otherwise the text is identified offline.
A text in a language no scorer reads goes to the fallback language's scorer (or is called
neutral when the fallback is "und"); either way it is counted, so a topic that suddenly receives
Turkish posts shows up in the counts instead of silently as "neutral". The topic's own terms
are neutralised before the backend reads the text (``topic_terms.py``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from monitor.models import Label, Sentiment
from monitor.sentiment.base import Backend
from monitor.sentiment.language import UNDETERMINED, LanguageDetector, normalize_language
from monitor.sentiment.topic_terms import neutralise, term_pattern


class RoutingScorer:
    """A :class:`~monitor.sentiment.base.Scorer` over a backend, with language routing.

    ``language_counts()`` maps the language of every scored text (as tagged or identified,
    ``"und"`` when unidentifiable) to how many were seen; ``fallback_count()`` says how many of
    them were scored by the fallback because no scorer reads their language.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        fallback_language: str,
        topic_languages: Iterable[str] = (),
        topic_terms: Iterable[str] = (),
        min_detect_letters: int = 3,
    ) -> None:
        self._backend = backend
        self._topic_terms = term_pattern(topic_terms)
        self._supported = backend.languages()
        self._fallback = normalize_language(fallback_language) or UNDETERMINED
        if self._supported is not None and self._fallback not in self._supported:
            self._fallback = UNDETERMINED
        # Detection prefers the topic's languages when unsure, and the languages we can score
        # too: an English reply under a German brand's post is still English.
        candidates = set(topic_languages) | set(self._supported or ())
        self._detector = LanguageDetector(candidates, min_letters=min_detect_letters)
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._fallbacks = 0

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        identified = normalize_language(lang) or self._detector.detect(text)
        if self._supported is None or identified in self._supported:
            used = identified
            if used == UNDETERMINED:
                used = self._fallback
            fell_back = identified == UNDETERMINED
        else:
            used = self._fallback
            fell_back = True
        with self._lock:
            self._seen[identified] += 1
            self._fallbacks += fell_back
        if used == UNDETERMINED:
            return Sentiment(Label.NEUTRAL, 0.0, UNDETERMINED)
        label, polarity, probabilities = self._backend.judge(
            neutralise(text, self._topic_terms), used
        )
        return Sentiment(label, max(-1.0, min(1.0, polarity)), used, probabilities)

    def language_counts(self) -> Mapping[str, int]:
        """Texts scored so far per language as tagged or identified ("und": unidentifiable)."""
        with self._lock:
            return MappingProxyType(dict(self._seen))

    def fallback_count(self) -> int:
        """Texts scored by the fallback scorer because their language has no scorer."""
        with self._lock:
            return self._fallbacks

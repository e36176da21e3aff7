"""English polarity: VADER, taught the vocabulary of complaints and boycotts it lacks.

VADER (MIT) is tuned for tweets and handles negation, intensifiers, capitals, "!!!" and emoji
itself. Its lexicon misses what brand storms are made of ("boycott", "unsubscribe", "scam",
"refund"), which is added here on VADER's own scale of -4..4.
"""

from __future__ import annotations

import html
import threading
from typing import Any


def _words(valence: float, text: str) -> dict[str, float]:
    return dict.fromkeys(text.split(), valence)


# Words and their valence on VADER's scale (-4..4). Written for this project.
EXTRA_VALENCES: dict[str, float] = {
    **_words(
        -2.4,
        "boycott boycotting boycotted #boycott unsubscribe unsubscribed unfollow unfollowed "
        "scam scammed scammers ripoff rip-off fraud fraudulent disgrace disgraceful "
        "shameful outrageous unacceptable appalling atrocious pathetic racist sexist "
        "incompetent incompetence clowns clown lies liar liars cancelled canceled "
        "refund overpriced misleading deceptive rude useless worthless garbage trash "
        "shitshow clusterfuck joke",
    ),
    **_words(
        -2.0,
        "delayed delay delays outage outages broken crashed crash crashing bug buggy "
        "glitch glitches waiting stuck lost missing nightmare disaster fail failed "
        "failure fails sucks suck sucked wtf smh ugh meh disappointing disappointed "
        "disappointment annoyed annoying frustrating frustrated complaint complain "
        "worst terrible horrible awful",
    ),
}

_lock = threading.Lock()
_analyzer: Any = None


def _shared_analyzer() -> Any:
    """VADER's analyzer, built once per process with the extra valences merged in."""
    global _analyzer
    with _lock:
        if _analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            analyzer = SentimentIntensityAnalyzer()
            for word, valence in EXTRA_VALENCES.items():
                analyzer.lexicon.setdefault(word, valence)
            _analyzer = analyzer
        return _analyzer


class EnglishScorer:
    """Polarity in [-1, 1] of an English text (VADER's compound score)."""

    def polarity(self, text: str) -> float:
        if "&" in text:
            text = html.unescape(text)
        scores = _shared_analyzer().polarity_scores(text)
        return float(scores["compound"])

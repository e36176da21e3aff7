"""What is driving a storm: terms and hashtags over-represented in it compared with the baseline.

A pure function over texts, so the pipeline can call it with the storm's mentions and the
topic's recent calm mentions, and tests can call it with a handful of sentences.

Terms are counted once per post (document frequency), so one account repeating a word fifty
times does not make it a driver. The lift is the ratio of the share of storm posts containing
the term to the share of baseline posts containing it, with add-one (Laplace) smoothing on
both shares: a term seen three times in the storm and never before gets a large but finite
lift, and without a baseline no term can look more than twice as frequent as "usual".

>>> storm = ["#boykott ACME, nie wieder!", "Boykott! ACME liefert nicht", "ACME #boykott jetzt"]
>>> calm = ["ACME hat neue Schuhe", "Schöne Schuhe von ACME", "ACME Lieferung kam heute"] * 5
>>> [(d.term, d.count) for d in find_drivers(storm, calm, min_count=2, exclude=["acme"])]
[('#boykott', 3)]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import stopwordsiso

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# A hashtag, a mention or a word of letters (any script), digits, ' and - inside.
_TOKEN = re.compile(r"[#@]?[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)

# Stop words of both languages for every post: posts mix languages and short ones are often
# misdetected, and a German stop word is rarely an English driver (or the other way round).
# The maintained Stopwords ISO lists, plus the fillers of angry posts they lack (intensifiers,
# "sofort", "bitte") and the debris of links and retweets.
_FILLERS: Final = """
sofort echt total sogar eigentlich einfach komplett absolut mega voll bitte danke niemals
gestern halt nochmal literally totally absolutely lol omg wtf amp rt https
"""
STOPWORDS: Final = frozenset(stopwordsiso.stopwords(["de", "en"])) | frozenset(_FILLERS.split())


@dataclass(frozen=True)
class Driver:
    """A term over-represented in a storm: in ``count`` storm posts, ``lift`` × its usual share."""

    term: str
    count: int
    lift: float
    # Baseline posts that contained the term; 0 means the storm brought a new word.
    usual: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The payload form: ``{"term": "#boykott", "count": 31, "lift": 12.5, "new": false}``."""
        return {
            "term": self.term,
            "count": self.count,
            "lift": round(self.lift, 1),
            "new": self.usual == 0,
        }


def terms_of(text: str) -> dict[str, bool]:
    """The distinct terms of one post, each mapped to whether it was written as a hashtag.

    Terms are lower-cased words and ``@mentions`` without stop words; ``#boykott`` and
    ``boykott`` are one term, so a storm is not split between its hashtag and its word. A
    hashtag is never a stop word: its author chose it as the subject (``#fire``, ``#test``).
    """
    found: dict[str, bool] = {}
    for token in _TOKEN.findall(_URL.sub(" ", text)):
        raw = token.lower().strip("'’-")
        tagged = raw.startswith("#")
        term = raw.lstrip("#")
        word = term.lstrip("@")
        if len(word) < 3 or (not tagged and word in STOPWORDS):
            continue
        found[term] = found.get(term, False) or tagged
    return found


def find_drivers(
    storm_texts: Iterable[str],
    baseline_texts: Iterable[str],
    *,
    limit: int = 10,
    min_count: int = 3,
    min_lift: float = 2.0,
    exclude: Iterable[str] = (),
) -> list[Driver]:
    """The terms most over-represented in ``storm_texts`` relative to ``baseline_texts``.

    ``exclude`` removes terms that are always there (the topic's own search terms), also as
    ``#term`` and ``@term``, and each word of a term of several words ("Deutsche Bahn"). A
    driver occurs in at least ``min_count`` storm posts and has a smoothed lift of at least
    ``min_lift``; it is shown as a hashtag when most storm posts wrote it as one. Sorted by
    lift, then count.
    """
    excluded = {word.lstrip("#@") for term in exclude for word in _excluded_words(term)}
    storm_counts: Counter[str] = Counter()
    hashtag_counts: Counter[str] = Counter()
    storm_total = 0
    for text in storm_texts:
        storm_total += 1
        terms = terms_of(text)
        storm_counts.update(terms.keys())
        hashtag_counts.update(term for term, tagged in terms.items() if tagged)
    baseline_counts: Counter[str] = Counter()
    baseline_total = 0
    for text in baseline_texts:
        baseline_total += 1
        baseline_counts.update(terms_of(text).keys() & storm_counts.keys())

    drivers = []
    for term, count in storm_counts.items():
        if count < min_count or term.lstrip("@") in excluded:
            continue
        lift = _smoothed_share(count, storm_total) / _smoothed_share(
            baseline_counts[term], baseline_total
        )
        if lift >= min_lift:
            shown = f"#{term}" if 2 * hashtag_counts[term] >= count else term
            drivers.append(Driver(term=shown, count=count, lift=lift, usual=baseline_counts[term]))
    drivers.sort(key=lambda d: (-d.lift, -d.count, d.term))
    return drivers[:limit]


def _excluded_words(term: str) -> set[str]:
    """``"Deutsche Bahn"`` → ``{"deutsche bahn", "deutschebahn", "deutsche", "bahn"}``."""
    words = [w.lower() for w in _TOKEN.findall(term)]
    return {term.lower(), "".join(words), *words}


def _smoothed_share(count: int, total: int) -> float:
    # Add-one smoothing of a Bernoulli share: never 0, and 1/2 when nothing was seen.
    return (count + 1) / (total + 2)

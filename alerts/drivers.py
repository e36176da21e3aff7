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

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# A hashtag, a mention or a word of letters (any script), digits, ' and - inside.
_TOKEN = re.compile(r"[#@]?[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)

_STOPWORD_TEXT: Final = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each even ever every few for from further get gets got had
hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself
just let's like made make many may me more most much must mustn't my myself need never new
no nor not now of off often on once one only or other ought our ours ourselves out over own
really said same say says see seem shan't she she'd she'll she's should shouldn't since so
some still such than that that's the their theirs them themselves then there there's these
they they'd they'll they're they've thing things think this those though through to too
under until up upon us use used very via was wasn't way we we'd we'll we're we've well were
weren't what what's when when's where where's which while who who's whom why why's will
with won't would wouldn't yes yet you you'd you'll you're you've your yours yourself
yourselves
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
anderes anderm andern anderr anders auch auf aus bei beim bin bis bist da dabei dadurch
dafür dagegen daher damit dann darauf darum das dass daß dein deine deinem deinen deiner
deines dem den denen denn dennoch der deren des deshalb dich die dies diese diesem diesen
dieser dieses dir doch dort du durch ein eine einem einen einer eines einfach einige
einigen einmal er es etwa etwas euch euer eure eurem euren eurer eures für gab gar gegen
gehabt gewesen gibt ging habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr
ihre ihrem ihren ihrer ihres im immer in indem ins ist ja jede jedem jeden jeder jedes
jetzt kam kann kannst kein keine keinem keinen keiner keines können könnte machen macht
mal man manche manchem manchen mancher manches mehr mein meine meinem meinen meiner meines
mich mir mit muss musste nach nachdem nein nicht nichts noch nun nur ob oder ohne schon
sehr sein seine seinem seinen seiner seines seit selbst sich sie sind so solche solchem
solchen solcher solches soll sollte sondern sonst sowie über um und uns unser unsere
unserem unseren unserer unseres unter viel viele vom von vor wann war waren warum was weg
weil weiter welche welchem welchen welcher welches wenn wer werde werden wie wieder will
wir wird wirst wo wollen wollte worden wurde würde würden zu zum zur zwar zwischen
amp rt via http https www com de html
"""
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())


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

    Terms are lower-cased words and ``@mentions`` without stopwords; ``#boykott`` and
    ``boykott`` are one term, so a storm is not split between its hashtag and its word.
    """
    found: dict[str, bool] = {}
    for token in _TOKEN.findall(_URL.sub(" ", text)):
        raw = token.lower().strip("'’-")
        term = raw.lstrip("#")
        if len(term.lstrip("@")) < 3 or term.lstrip("@") in STOPWORDS:
            continue
        found[term] = found.get(term, False) or raw.startswith("#")
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
    ``#term`` and ``@term``. A driver occurs in at least ``min_count`` storm posts and has a
    smoothed lift of at least ``min_lift``; it is shown as a hashtag when most storm posts
    wrote it as one. Sorted by lift, then count.
    """
    excluded = {t.lower().lstrip("#@") for t in exclude}
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
            baseline_counts[term], baseline_total)
        if lift >= min_lift:
            shown = f"#{term}" if 2 * hashtag_counts[term] >= count else term
            drivers.append(
                Driver(term=shown, count=count, lift=lift, usual=baseline_counts[term])
            )
    drivers.sort(key=lambda d: (-d.lift, -d.count, d.term))
    return drivers[:limit]


def _smoothed_share(count: int, total: int) -> float:
    # Add-one smoothing of a Bernoulli share: never 0, and 1/2 when nothing was seen.
    return (count + 1) / (total + 2)

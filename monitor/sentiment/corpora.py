"""The labelled texts the trained scorer learns from, read from where they are published.

German: ``sentiment-train/`` of the shared development data (SB10k's train split, GermEval
2017's diachronic test set). English: the human-rated sentences that VADER's authors released
with their paper (Hutto & Gilbert, ICWSM 2014), which the ``vaderSentiment`` source distribution
on PyPI ships under its MIT licence: 4,200 tweets, 10,605 movie-review, 3,708 product-review and
5,190 New York Times editorial snippets, each the mean of ten ratings from -4 to 4.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.models import Label
from monitor.sentiment.evaluation import read_labelled

GERMAN_FILES = ("de_sb10k_train.tsv", "de_germeval2017_test_dia.tsv")

# The exact archive the English ratings are read from (pip download vaderSentiment==3.3.2).
VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
_VADER_INNER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_SETS = ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets")
# Origins that are not social media posts (reviews, editorials): they may count less.
NOT_POSTS = frozenset(f"vader_{name}" for name in VADER_SETS if name != "tweets")
_VADER_LICENCE = "MIT (vaderSentiment 3.3.2 sdist, Hutto & Gilbert, ICWSM 2014)"
LICENCES = {
    "de_sb10k_train": "labels CC BY 4.0 (Cieliebak et al. 2017); text from Twitter",
    "de_germeval2017_test_dia": "research use (GermEval 2017, Wojatzki et al.)",
    **{f"vader_{name}": _VADER_LICENCE for name in VADER_SETS},
}


class CorpusError(Exception):
    """Training material that is missing or not what was expected. Names the file."""


@dataclass(frozen=True)
class Example:
    text: str
    label: Label
    # Where it comes from ("de_sb10k_train", "vader_tweets"), for weighting and reports.
    origin: str


def german_examples(train_dir: Path) -> list[Example]:
    """SB10k train and GermEval 2017 diachronic test, as labelled."""
    found: list[Example] = []
    for name in GERMAN_FILES:
        path = train_dir / name
        if not path.is_file():
            raise CorpusError(f"{path}: missing (the German training data)")
        origin = name.removesuffix(".tsv")
        found.extend(Example(row.text, row.label, origin) for row in read_labelled(path).rows)
    return found


def rating_label(rating: float, neutral_below: float) -> Label:
    """The label of a mean rating on VADER's -4..4 scale: neutral when its size is below.

    >>> rating_label(-1.2, 1.0), rating_label(0.4, 1.0), rating_label(2.5, 1.0)
    (<Label.NEGATIVE: 'negative'>, <Label.NEUTRAL: 'neutral'>, <Label.POSITIVE: 'positive'>)
    """
    if rating <= -neutral_below:
        return Label.NEGATIVE
    if rating >= neutral_below:
        return Label.POSITIVE
    return Label.NEUTRAL


def vader_ratings(
    sdist: Path, sets: Sequence[str] = VADER_SETS
) -> dict[str, list[tuple[str, float]]]:
    """``(text, mean rating)`` pairs of each named set, read from the verified sdist."""
    try:
        blob = sdist.read_bytes()
    except OSError as error:
        raise CorpusError(
            f"{sdist}: {error.strerror or error} (get it with "
            "'pip download --no-deps --no-binary :all: vaderSentiment==3.3.2')"
        ) from error
    digest = hashlib.sha256(blob).hexdigest()
    if digest != VADER_SDIST_SHA256:
        raise CorpusError(f"{sdist}: sha256 {digest}, expected {VADER_SDIST_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(blob)) as outer:
        inner_file = outer.extractfile(_VADER_INNER)
        if inner_file is None:
            raise CorpusError(f"{sdist}: {_VADER_INNER} is missing")
        inner_blob = inner_file.read()
    found: dict[str, list[tuple[str, float]]] = {}
    with tarfile.open(fileobj=io.BytesIO(inner_blob)) as inner:
        for name in sets:
            member = inner.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            if member is None:
                raise CorpusError(f"{sdist}: {name}_GroundTruth.txt is missing")
            rows: list[tuple[str, float]] = []
            for line in member.read().decode("utf-8", errors="replace").splitlines():
                fields = line.split("\t", 2)
                if len(fields) == 3 and fields[2].strip():
                    rows.append((fields[2].strip(), float(fields[1])))
            found[name] = rows
    return found


def english_examples(sdist: Path, neutral_below: float) -> list[Example]:
    """VADER's rated sentences, labelled by their mean rating."""
    return [
        Example(text, rating_label(rating, neutral_below), f"vader_{name}")
        for name, rows in vader_ratings(sdist).items()
        for text, rating in rows
    ]

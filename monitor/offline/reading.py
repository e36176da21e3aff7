"""How the sentiment scorer reads simulated posts: as labels, or with its probabilities.

Offline benchmarks make up posts whose true label they know (a topic's calm posts, a storm's
negative ones) and must say what the scorer would make of them. A :class:`PostReader` answers
in one of two ways:

- **by label**, through a confusion matrix: the share of each true label's posts the scorer
  calls negative, neutral and positive (:data:`DEFAULT_CONFUSION`, measured on the dev sets);
- **with probabilities**, by drawing each post's reading from the probabilities the scorer gave
  real labelled posts of that true label (the dev posts' readings, measured, or as shipped in
  ``monitor/data/reading_profile.json``). The bucket then carries their sums as
  :class:`~monitor.models.Readings`, as the live pipeline's buckets do, and its label counts
  follow from the same draws (the most probable class of each).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.models import Bucket, Readings, most_probable

LABELS = ("negative", "neutral", "positive")
Probabilities = tuple[float, float, float]  # negative, neutral, positive

# How the sentiment scorer reads posts of each true label: the share it calls negative,
# neutral and positive. Measured with the default scorer on the development sets
# (``python benchmarks/storm_bench.py --confusion``, all four dev files pooled); a storm's
# negative posts are not all seen as negative, and that is part of what the detector faces.
DEFAULT_CONFUSION: Mapping[str, Probabilities] = {
    "negative": (0.57, 0.33, 0.10),
    "neutral": (0.16, 0.71, 0.14),
    "positive": (0.13, 0.29, 0.58),
}
PROFILE_PATH = Path(__file__).resolve().parents[1] / "data" / "reading_profile.json"


@dataclass(frozen=True)
class Read:
    """What the scorer made of some posts: label counts, and the readings when it gave
    probabilities (None when it read them by label only)."""

    negative: int
    neutral: int
    positive: int
    readings: Readings | None


@dataclass(frozen=True)
class PostReader:
    """Reads posts of a known true label as the scorer would (see the module's docstring).

    ``probabilities`` holds, per true label, the probabilities the scorer gave real posts of
    that label; without them posts are read by label through ``confusion``. ``labels_only``
    draws the same readings but hands over only their labels: the same posts, for a detector
    that counts labels (to compare the two).
    """

    confusion: Mapping[str, Probabilities] = field(default_factory=lambda: DEFAULT_CONFUSION)
    probabilities: Mapping[str, Sequence[Probabilities]] | None = None
    labels_only: bool = False
    # Per true label, each reading as the eight numbers a bucket adds up (precomputed).
    _rows: Mapping[str, Sequence[tuple[float, ...]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if self.probabilities is None:
            return
        rows = {
            label: [_row(p) for p in found] for label, found in self.probabilities.items() if found
        }
        if set(rows) != set(LABELS):
            raise ValueError(f"probabilities for {', '.join(LABELS)} are needed, each non-empty")
        object.__setattr__(self, "_rows", rows)

    @classmethod
    def of_probabilities(
        cls, probabilities: Mapping[str, Sequence[Probabilities]], *, labels_only: bool = False
    ) -> PostReader:
        """A reader with these probabilities, its confusion the share of each true label's
        readings whose most probable class is negative, neutral, positive."""
        confusion = {
            label: tuple(
                sum(_class_of(p) == column for p in found) / len(found) for column in range(3)
            )
            for label, found in probabilities.items()
            if found
        }
        return cls(confusion, probabilities, labels_only)  # type: ignore[arg-type]

    @property
    def gives_probabilities(self) -> bool:
        return self.probabilities is not None and not self.labels_only

    def read(self, rng: random.Random, posts: int, label: str) -> Read:
        """How the scorer reads ``posts`` posts whose true label is ``label``."""
        if not self._rows:
            negative, neutral, positive = read_posts(rng, posts, self.confusion[label])
            return Read(negative, neutral, positive, None)
        rows = self._rows[label]
        if posts <= 0:
            return Read(0, 0, 0, None if self.labels_only else Readings())
        drawn = rng.choices(rows, k=posts)
        sums = [math.fsum(column) for column in zip(*drawn, strict=True)]
        readings = None if self.labels_only else Readings(*sums[:5])
        return Read(round(sums[5]), round(sums[6]), round(sums[7]), readings)


def _class_of(p: Probabilities) -> int:
    """The column of the label the scorer gives these probabilities."""
    return LABELS.index(most_probable(p).value)


def _row(p: Probabilities) -> tuple[float, ...]:
    label = _class_of(p)
    return (
        p[0],
        p[1],
        p[0] * p[0],
        p[1] * p[1],
        p[0] * p[1],
        float(label == 0),
        float(label == 1),
        float(label == 2),
    )


def readings_with(bucket: Bucket, reads: Sequence[Read]) -> Readings | None:
    """The readings of ``bucket`` once the posts of ``reads`` are added to it; None while
    everything in it was read by label."""
    if bucket.readings is None and all(read.readings is None for read in reads):
        return None
    return total_readings([bucket.sums, *(read_readings(read) for read in reads)])


def read_readings(read: Read) -> Readings:
    """The readings of ``read``'s posts (its label counts where it read by label)."""
    return read.readings or Readings.of_labels(read.negative, read.neutral)


def total_readings(parts: Sequence[Readings]) -> Readings:
    return Readings(
        *(math.fsum(column) for column in zip(*(_fields(r) for r in parts), strict=True))
    )


def _fields(r: Readings) -> tuple[float, float, float, float, float]:
    return r.negative, r.neutral, r.negative_sq, r.neutral_sq, r.cross


def shipped_reader() -> PostReader:
    """A reader with the dev posts' readings shipped in ``monitor/data/reading_profile.json``."""
    document = json.loads(PROFILE_PATH.read_text(encoding="utf-8"))
    return PostReader.of_probabilities(
        {
            label: [
                (float(p[0]), float(p[1]), float(p[2])) for p in document["probabilities"][label]
            ]
            for label in LABELS
        }
    )


def profile_document(probabilities: Mapping[str, Sequence[Probabilities]]) -> str:
    """The JSON of these readings per true label (rounded to 3 places, in the given order),
    the same text for the same input. All of them: a sample of a few hundred per label moves
    the evidence a post carries by a sixth."""
    rounded = {label: [[round(x, 3) for x in p] for p in probabilities[label]] for label in LABELS}
    about = (
        "The default scorer's probabilities for the labelled dev posts, by true label: how "
        "simulated posts are read (monitor/offline/reading.py). "
        "Rebuilt by python benchmarks/storm_bench.py --write-profile."
    )
    return json.dumps({"about": about, "probabilities": rounded}, separators=(",", ":")) + "\n"


def read_posts(rng: random.Random, posts: int, row: Probabilities) -> tuple[int, int, int]:
    """How the scorer labels ``posts`` posts of one true label: (negative, neutral, positive)."""
    negative = binomial(rng, posts, row[0])
    rest = posts - negative
    positive = binomial(rng, rest, row[2] / (row[1] + row[2])) if rest else 0
    return negative, rest - positive, positive


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n > 100:
        mean, sd = n * p, math.sqrt(n * p * (1 - p))
        return min(max(round(rng.gauss(mean, sd)), 0), n)
    return sum(rng.random() < p for _ in range(n))

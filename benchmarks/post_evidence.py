"""How much evidence of a storm one post carries, read as a label or as probabilities.

The detector weighs a bucket's negative reads against ``ratio x`` its neutral reads (the usual
tone, ``detectors/tone.py``). Whether it should count labels (the most probable class, as it
does) or sum the calibrated probabilities is a question of evidence per post: a storm's extra
post moves ``negative - ratio x neutral`` by some amount, and each calm post adds noise to it.
For per-post weights ``n`` (negative) and ``a`` (neutral), over a calm mix of posts::

    ratio    = E_calm[n] / E_calm[a]
    signal   = E_storm[n] - ratio x E_storm[a]          (one extra negative post)
    noise    = sqrt(E_calm[(n - ratio x a)^2])          (per calm post, Poisson arrivals)
    evidence = signal / noise

Evidence per post compounds like the square root of the number of posts, so 10 % more of it is
worth 21 % more posts. The noise counts both weights of the same post together: probabilities
of one post move together (a post read 0.5 negative is read less neutral), which a detector
that treats the two sums as independent counts does not see, and so pays for twice.

Run through ``python benchmarks/storm_bench.py --confusion`` (and its default run): the dev posts
of ``../shared/data/sentiment-dev``, read by the trained scorer with each file's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from monitor.models import Label, most_probable
from monitor.offline.reading import LABELS

Probabilities = tuple[float, float, float]  # negative, neutral, positive
Weights = Callable[[Probabilities], tuple[float, float]]
# The calm mix of true labels in the storm benchmark (``toned_series``' mean shares).
CALM_MIX = {"negative": 0.15, "neutral": 0.60, "positive": 0.25}


def as_label(p: Probabilities) -> tuple[float, float]:
    """Counted by label: 1 for the most probable class (ties go to negative)."""
    label = most_probable(p)
    return float(label is Label.NEGATIVE), float(label is Label.NEUTRAL)


def as_probabilities(p: Probabilities) -> tuple[float, float]:
    """Summed calibrated probabilities: each post counts as much as the scorer is sure."""
    return p[0], p[1]


READINGS: Mapping[str, Weights] = {"labels": as_label, "probabilities": as_probabilities}


def evidence_per_post(
    posts: Mapping[str, Sequence[Probabilities]],
    weights: Weights,
    calm_mix: Mapping[str, float] = CALM_MIX,
) -> float:
    """Evidence one extra negative post adds, in calm-noise standard deviations per calm post.

    ``posts`` holds the scorer's probabilities for dev posts of each true label.

    >>> posts = {"negative": [(0.8, 0.1, 0.1)], "neutral": [(0.1, 0.8, 0.1)],
    ...          "positive": [(0.1, 0.1, 0.8)]}
    >>> round(evidence_per_post(posts, as_label), 2) > round(evidence_per_post(
    ...     {"negative": [(0.4, 0.3, 0.3)], "neutral": [(0.3, 0.4, 0.3)],
    ...      "positive": [(0.3, 0.3, 0.4)]}, as_probabilities), 2)
    True
    """
    read = {label: [weights(p) for p in found] for label, found in posts.items()}

    def calm_mean(f: Callable[[tuple[float, float]], float]) -> float:
        return sum(
            share * math.fsum(map(f, read[label])) / len(read[label])
            for label, share in calm_mix.items()
        )

    ratio = calm_mean(lambda w: w[0]) / calm_mean(lambda w: w[1])
    storm = read["negative"]
    signal = math.fsum(n - ratio * a for n, a in storm) / len(storm)
    noise = math.sqrt(calm_mean(lambda w: (w[0] - ratio * w[1]) ** 2))
    return signal / noise


def dev_probabilities(files: Mapping[Path, str]) -> dict[str, list[Probabilities]]:
    """The trained scorer's probabilities for every dev post, by the post's true label."""
    from monitor.sentiment import SentimentSettings
    from monitor.sentiment.evaluation import read_labelled
    from monitor.sentiment.trained import CLASSES, TrainedBackend

    backend = TrainedBackend(SentimentSettings())
    found: dict[str, list[Probabilities]] = {label: [] for label in LABELS}
    for path, lang in files.items():
        for row in read_labelled(path).rows:
            p = backend.probabilities(row.text, lang)
            found[row.label.value].append((p[CLASSES[0]], p[CLASSES[1]], p[CLASSES[2]]))
    return found


def print_evidence(files: Mapping[Path, str]) -> None:
    """One line per reading: its evidence per post, and what that is worth in posts."""
    posts = dev_probabilities(files)
    figures = {name: evidence_per_post(posts, weights) for name, weights in READINGS.items()}
    print(
        "evidence one extra negative post carries (calm-noise sd per calm post; "
        f"{sum(map(len, posts.values())):,} dev posts, calm mix "
        + " / ".join(f"{share:.0%}" for share in CALM_MIX.values())
        + "):"
    )
    for name, value in figures.items():
        worth = (value / figures["labels"]) ** 2
        print(f"  read as {name:13} {value:.2f}  (as many posts as {worth:.2f}x with labels)")

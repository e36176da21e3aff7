"""Classification figures for a labelled sentiment set: the numbers the targets are stated in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.models import Label

LABELS: tuple[Label, ...] = (Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE)


@dataclass(frozen=True)
class ClassFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Figures:
    """Accuracy, macro averages, per-class figures and the confusion matrix (gold × predicted)."""

    total: int
    accuracy: float
    macro_f1: float
    macro_recall: float
    per_class: dict[Label, ClassFigures]
    confusion: dict[Label, dict[Label, int]]

    @property
    def negative(self) -> ClassFigures:
        return self.per_class[Label.NEGATIVE]


def figures(pairs: Iterable[tuple[Label, Label]]) -> Figures:
    """Figures of ``(gold, predicted)`` pairs. Classes absent from gold still count in macros.

    >>> f = figures([(Label.NEGATIVE, Label.NEGATIVE), (Label.POSITIVE, Label.NEUTRAL)])
    >>> f.accuracy, f.negative.f1, f.confusion[Label.POSITIVE][Label.NEUTRAL]
    (0.5, 1.0, 1)
    """
    confusion = {gold: dict.fromkeys(LABELS, 0) for gold in LABELS}
    for gold, predicted in pairs:
        confusion[gold][predicted] += 1
    total = sum(sum(row.values()) for row in confusion.values())
    per_class = {label: _class_figures(confusion, label) for label in LABELS}
    correct = sum(confusion[label][label] for label in LABELS)
    return Figures(
        total=total,
        accuracy=_ratio(correct, total),
        macro_f1=_mean([per_class[label].f1 for label in LABELS]),
        macro_recall=_mean([per_class[label].recall for label in LABELS]),
        per_class=per_class,
        confusion=confusion,
    )


def _class_figures(confusion: dict[Label, dict[Label, int]], label: Label) -> ClassFigures:
    true_positive = confusion[label][label]
    support = sum(confusion[label].values())
    predicted = sum(confusion[gold][label] for gold in LABELS)
    precision = _ratio(true_positive, predicted)
    recall = _ratio(true_positive, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return ClassFigures(precision, recall, f1, support)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def format_figures(result: Figures) -> str:
    """A human-readable report: headline figures, then the confusion matrix."""
    negative = result.negative
    lines = [
        f"texts            {result.total}",
        f"accuracy         {result.accuracy:.3f}",
        f"macro-F1         {result.macro_f1:.3f}",
        f"macro-recall     {result.macro_recall:.3f}",
        f"negative P/R/F1  {negative.precision:.3f} / {negative.recall:.3f} / {negative.f1:.3f}",
        "confusion (rows gold, columns predicted):",
        "             " + "".join(f"{label.value:>10}" for label in LABELS),
    ]
    for gold in LABELS:
        row = "".join(f"{result.confusion[gold][predicted]:>10}" for predicted in LABELS)
        lines.append(f"  {gold.value:<10} {row}")
    return "\n".join(lines)

"""Scores a labelled TSV (``id label text``) and measures how well and how fast a scorer does.

PotTS labels some tweets ``mixed``; those rows are excluded (and counted), because the monitor's
three labels have no such class and the published PotTS figures are three-class too.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.models import Label
from monitor.sentiment.base import Scorer
from monitor.sentiment.metrics import Figures, figures

EXCLUDED_LABELS = frozenset({"mixed"})
_LABELS = {label.value: label for label in Label}


class EvaluationDataError(Exception):
    """A labelled file that cannot be read: missing, no header, unknown label. Names the file."""


@dataclass(frozen=True)
class LabelledText:
    id: str
    label: Label
    text: str


@dataclass(frozen=True)
class LabelledSet:
    path: Path
    rows: Sequence[LabelledText]
    excluded: dict[str, int]


@dataclass(frozen=True)
class Evaluation:
    figures: Figures
    seconds: float
    excluded: dict[str, int]

    @property
    def texts_per_second(self) -> float:
        return self.figures.total / self.seconds if self.seconds > 0 else float("inf")


def read_labelled(path: Path) -> LabelledSet:
    """The rows of a ``id<TAB>label<TAB>text`` file with a header; extra columns are ignored."""
    # Forum posts and articles can exceed csv's default field limit of 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header is None or header[:3] != ["id", "label", "text"]:
                raise EvaluationDataError(f"{path}: expected a header 'id<TAB>label<TAB>text'")
            rows: list[LabelledText] = []
            excluded: dict[str, int] = {}
            for number, fields in enumerate(reader, start=2):
                if not fields:
                    continue
                if len(fields) < 3:
                    raise EvaluationDataError(f"{path}:{number}: expected 3 tab-separated columns")
                raw_label = fields[1].strip().lower()
                if raw_label in EXCLUDED_LABELS:
                    excluded[raw_label] = excluded.get(raw_label, 0) + 1
                    continue
                label = _LABELS.get(raw_label)
                if label is None:
                    raise EvaluationDataError(f"{path}:{number}: unknown label {fields[1]!r}")
                rows.append(LabelledText(fields[0], label, fields[2]))
    except OSError as error:
        raise EvaluationDataError(f"{path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise EvaluationDataError(f"{path}: not UTF-8 ({error.reason})") from error
    if not rows:
        raise EvaluationDataError(f"{path}: no labelled rows")
    return LabelledSet(path, rows, excluded)


def evaluate(
    data: LabelledSet,
    scorer: Scorer,
    lang: str | None,
    clock: Callable[[], float] = time.perf_counter,
) -> Evaluation:
    """Scores every row with ``lang`` as the language hint (None: detect) and times it."""
    started = clock()
    predicted = [scorer.score(row.text, lang).label for row in data.rows]
    seconds = clock() - started
    pairs = [(row.label, label) for row, label in zip(data.rows, predicted, strict=True)]
    return Evaluation(figures(pairs), seconds, dict(data.excluded))


def describe_exclusions(excluded: dict[str, int]) -> str:
    """The line that says which rows were left out of the figures, and why."""
    if not excluded:
        return "excluded         none"
    parts = ", ".join(f"{count} labelled {label!r}" for label, count in sorted(excluded.items()))
    return f"excluded         {parts} (no such class among negative/neutral/positive)"

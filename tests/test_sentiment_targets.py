"""Both embedded backends keep their figures on the shared dev sets (skipped without them).

Each file is scored with its language as the hint, as a source that tags languages would.
PotTS rows labelled "mixed" are excluded. The floors sit just under what each backend measured
(README, "Figures"), so a change that loses ground fails here; the issue's targets for the
trained models (negative F1 >= 0.60 everywhere) are not reached yet, see the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.sentiment import SentimentSettings, build_scorer
from monitor.sentiment.evaluation import evaluate, read_labelled

DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sentiment-dev"

# backend, file, language, {figure: minimum}
FLOORS = [
    ("embedded", "en_tweeteval_val.tsv", "en", {"macro_recall": 0.64}),
    ("embedded", "de_sb10k_dev.tsv", "de", {"negative_f1": 0.51, "macro_f1": 0.64}),
    ("embedded", "de_potts_dev.tsv", "de", {"negative_f1": 0.48, "macro_f1": 0.64}),
    ("embedded", "de_germeval2017_dev.tsv", "de", {"negative_f1": 0.51}),
    ("lexicon", "en_tweeteval_val.tsv", "en", {"macro_recall": 0.64}),
    ("lexicon", "de_sb10k_dev.tsv", "de", {"negative_f1": 0.45, "macro_f1": 0.52}),
    ("lexicon", "de_potts_dev.tsv", "de", {"negative_f1": 0.45, "macro_f1": 0.55}),
    ("lexicon", "de_germeval2017_dev.tsv", "de", {"negative_f1": 0.45}),
]


@pytest.mark.parametrize(
    ("backend", "name", "lang", "minimums"), FLOORS, ids=[f"{t[0]}-{t[1]}" for t in FLOORS]
)
def test_dev_set_floors(backend: str, name: str, lang: str, minimums: dict[str, float]) -> None:
    path = DEV / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (shared dev data not available)")
    scorer = build_scorer(SentimentSettings(backend=backend))  # type: ignore[arg-type]
    outcome = evaluate(read_labelled(path), scorer, lang)
    measured = {
        "macro_recall": outcome.figures.macro_recall,
        "macro_f1": outcome.figures.macro_f1,
        "negative_f1": outcome.figures.negative.f1,
    }
    for figure, minimum in minimums.items():
        assert measured[figure] >= minimum, f"{name}: {figure} {measured[figure]:.3f} < {minimum}"

"""The trained default scorer: the shipped weights load and read known posts; training is exact.

None of this needs ``../shared/data``: the shipped models are part of the package, and the
training tests fit a small corpus written here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.models import Label
from monitor.sentiment import SentimentSettings, build_scorer
from monitor.sentiment.base import SentimentBackendError
from monitor.sentiment.corpora import Example
from monitor.sentiment.features import DENSE_FEATURES, text_features
from monitor.sentiment.lexicon import TUNED_THRESHOLDS
from monitor.sentiment.trained import (
    MODEL_DIR,
    LinearModel,
    TrainedBackend,
    load_model,
    rule_polarity,
)
from monitor.sentiment.training import HyperParameters, featurise, train

KNOWN = [
    (
        "de",
        "Nie wieder Bahn, was für eine Frechheit! Zug fällt schon wieder aus 😡",
        Label.NEGATIVE,
    ),
    ("de", "Vielen Dank für den tollen Service, super freundlich! 😊", Label.POSITIVE),
    ("de", "Der Zug fährt heute um 14:05 von Gleis 3 ab.", Label.NEUTRAL),
    ("en", "Worst customer service ever, I want a refund. Never again!", Label.NEGATIVE),
    ("en", "I love this brand, the new phone is amazing ❤️", Label.POSITIVE),
    ("en", "The store opens at 9 am on Monday.", Label.NEUTRAL),
]


@pytest.fixture(scope="module")
def backend() -> TrainedBackend:
    return TrainedBackend(SentimentSettings())


def test_the_shipped_models_are_in_the_package_and_small() -> None:
    files = sorted(MODEL_DIR.glob("*.json.gz"))
    assert [f.name for f in files] == ["de.json.gz", "en.json.gz"]
    assert sum(f.stat().st_size for f in files) <= 20 * 1024 * 1024


@pytest.mark.parametrize(("lang", "text", "expected"), KNOWN, ids=[t[1][:24] for t in KNOWN])
def test_the_shipped_models_read_known_posts(
    backend: TrainedBackend, lang: str, text: str, expected: Label
) -> None:
    label, score, row = backend.judge(text, lang)
    assert label is expected
    probabilities = backend.probabilities(text, lang)
    assert row == tuple(probabilities.values())  # the verdict carries the same probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert score == pytest.approx(probabilities[Label.POSITIVE] - probabilities[Label.NEGATIVE])


def test_the_default_scorer_is_the_trained_one() -> None:
    scorer = build_scorer(SentimentSettings())
    result = scorer.score("Was für ein Saftladen, nie wieder!", "de")
    assert result.label is Label.NEGATIVE and result.lang == "de"
    assert result.score < 0
    # Its calibrated probabilities reach the mention, for the buckets to sum.
    assert result.probabilities is not None
    assert result.p_negative == max(result.probabilities) and result.p_negative < 1.0


def test_the_lexicon_scorer_gives_no_probabilities_it_is_sure_of_its_label() -> None:
    result = build_scorer(SentimentSettings(backend="lexicon")).score("Saftladen, nie wieder!")
    assert result.label is Label.NEGATIVE and result.probabilities is None
    assert (result.p_negative, result.p_neutral) == (1.0, 0.0)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_fast_scoring_path_is_the_models_matrix_product(lang: str) -> None:
    # The weights are read row by row from a flat array of floats; summed that way they must be
    # what the stored matrix gives, n-grams weighted 1/sqrt(n), dense features as they are.
    model = load_model(lang)
    polarity = rule_polarity(lang)
    for _, text, _ in KNOWN:
        features = text_features(text, polarity, TUNED_THRESHOLDS[lang])
        rows = [model.words[word] for word in features.words if word in model.words]
        inputs = np.zeros(len(model.words) + len(DENSE_FEATURES))
        inputs[rows] = 1.0 / np.sqrt(len(features.words))
        inputs[len(model.words) :] = features.dense
        expected = inputs @ model.weights.astype(np.float64) + model.bias
        assert model.logits(features) == pytest.approx(tuple(expected), rel=1e-6, abs=1e-9)


def test_a_shipped_model_round_trips_to_the_same_bytes(tmp_path: Path) -> None:
    original = MODEL_DIR / "de.json.gz"
    model = LinearModel.from_file(original)
    copy = tmp_path / "de.json.gz"
    model.to_file(copy)
    assert copy.read_bytes() == original.read_bytes()


@pytest.mark.parametrize("damage", ["not gzip", "truncated", "missing"])
def test_a_broken_model_file_is_an_error_naming_the_file(tmp_path: Path, damage: str) -> None:
    shipped = (MODEL_DIR / "de.json.gz").read_bytes()
    (tmp_path / "en.json.gz").write_bytes((MODEL_DIR / "en.json.gz").read_bytes())
    if damage == "not gzip":
        (tmp_path / "de.json.gz").write_bytes(b"not gzip")
    elif damage == "truncated":
        (tmp_path / "de.json.gz").write_bytes(shipped[: len(shipped) // 2])
    with pytest.raises(SentimentBackendError, match=r"sentiment\.backend: .*de\.json\.gz"):
        TrainedBackend(SentimentSettings(), directory=tmp_path)


def test_a_model_of_another_language_is_refused(tmp_path: Path) -> None:
    (tmp_path / "de.json.gz").write_bytes((MODEL_DIR / "en.json.gz").read_bytes())
    with pytest.raises(SentimentBackendError, match="holds the en model"):
        TrainedBackend(SentimentSettings(), directory=tmp_path)


def small_corpus() -> list[Example]:
    negative = ["das ist furchtbar", "furchtbar schlecht", "schlecht und teuer", "nie wieder so"]
    positive = ["das ist toll", "toll und schön", "wirklich schön", "super toll gemacht"]
    neutral = ["der zug fährt um acht", "heute ist montag", "das treffen ist um acht", "montag"]
    return [
        Example(f"{text} {i}", label, "small")
        for i in range(3)
        for texts, label in (
            (negative, Label.NEGATIVE),
            (positive, Label.POSITIVE),
            (neutral, Label.NEUTRAL),
        )
        for text in texts
    ]


def test_training_learns_and_gives_the_same_bytes_twice(tmp_path: Path) -> None:
    hp = HyperParameters(l2=1e-3, class_weight_power=1.0, folds=3)
    first, about = train(small_corpus(), "de", hp, {"small": 36})
    second, _ = train(small_corpus(), "de", hp, {"small": 36})
    first.to_file(tmp_path / "a.json.gz")
    second.to_file(tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert about["out_of_fold"]["small"]["macro_f1"] > 0.8
    assert set(about["out_of_fold"]["small"]["fold_sd"]) == {
        "macro_f1", "macro_recall", "negative_f1"
    }  # fmt: skip
    reloaded = LinearModel.from_file(tmp_path / "a.json.gz")
    assert np.array_equal(reloaded.weights, first.weights)
    assert reloaded.temperature > 0
    unseen = featurise(["wirklich furchtbar", "so schön"], "de")
    assert [int(np.argmax(reloaded.probabilities(f))) for f in unseen] == [0, 2]


def test_shipped_probabilities_are_calibrated_out_of_fold() -> None:
    # "0.8 sure" must be right about 80 times in a hundred in both languages, so that a score
    # means the same whatever the language; training records how far off it is, out of fold.
    for lang in ("de", "en"):
        recorded = load_model(lang).about["calibration_error"]
        assert recorded["calibrated"] < 0.05
        assert recorded["calibrated"] <= recorded["raw"]

"""The [sentiment] settings: defaults that work, and cross-field errors that name the key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from monitor.models import Label
from monitor.sentiment import SentimentSettings, build_scorer
from monitor.sentiment.lexicon import TUNED_THRESHOLDS, calibrate


def keys(settings: SentimentSettings) -> list[str]:
    return [key for key, _ in settings.problems()]


def test_defaults_have_no_problems() -> None:
    assert SentimentSettings().problems() == []
    assert SentimentSettings(backend="onnx", model_path=Path("m.onnx")).problems() == []


def test_a_model_backend_needs_model_path() -> None:
    assert keys(SentimentSettings(backend="transformers")) == ["model_path"]


def test_model_path_without_a_model_backend_is_flagged() -> None:
    assert keys(SentimentSettings(model_path=Path("model"))) == ["model_path"]


def test_thresholds_must_be_ordered_within_bounds() -> None:
    assert keys(SentimentSettings(negative_threshold=0.5, positive_threshold=0.2)) == [
        "negative_threshold"
    ]
    assert keys(SentimentSettings(negative_threshold=-1.5)) == ["negative_threshold"]


def test_fallback_language_must_be_a_code() -> None:
    assert keys(SentimentSettings(fallback_language="english")) == ["fallback_language"]
    assert SentimentSettings(fallback_language="und").problems() == []
    assert SentimentSettings(fallback_language="de").problems() == []


def test_a_higher_negative_threshold_flags_more_mentions_with_the_lexicon_backend() -> None:
    mild = "Die Lieferung hat etwas länger gedauert, leider"
    lexicon = SentimentSettings(backend="lexicon")
    strict = build_scorer(replace(lexicon, negative_threshold=-0.9)).score(mild, "de")
    sensitive = build_scorer(replace(lexicon, negative_threshold=-0.01)).score(mild, "de")
    assert strict.label is Label.NEUTRAL
    assert sensitive.label is Label.NEGATIVE


def test_thresholds_mean_the_same_in_every_language() -> None:
    # Each scorer's tuned thresholds land on the settings' defaults, and the scale is monotonic.
    for tuned in TUNED_THRESHOLDS.values():
        assert calibrate(tuned[0], tuned) == pytest.approx(SentimentSettings().negative_threshold)
        assert calibrate(tuned[1], tuned) == pytest.approx(SentimentSettings().positive_threshold)
        points = [i / 50 - 1 for i in range(101)]
        mapped = [calibrate(p, tuned) for p in points]
        assert mapped == sorted(mapped)
        assert (mapped[0], mapped[50], mapped[-1]) == pytest.approx((-1.0, 0.0, 1.0))


def test_a_more_sensitive_threshold_never_turns_praise_negative() -> None:
    scorer = build_scorer(SentimentSettings(negative_threshold=-0.01))
    assert scorer.score("I love this, great service", "en").label is Label.POSITIVE
    assert scorer.score("Super Service, danke!", "de").label is Label.POSITIVE


@pytest.mark.parametrize("backend", ["embedded", "lexicon"])
def test_settings_toml_selects_the_trained_or_the_rule_backend(
    tmp_path: Path, backend: str
) -> None:
    from monitor.settings import load_settings

    path = tmp_path / "settings.toml"
    path.write_text(
        f'[sentiment]\nbackend = "{backend}"\n\n[[topics]]\nname = "acme"\nterms = ["Acme"]\n',
        encoding="utf-8",
    )
    settings = load_settings(path, environ={}).sentiment
    assert settings.backend == backend and settings.problems() == []
    # Only the rule scorers read the thresholds; the trained models label by probability.
    mild = "Die Lieferung hat etwas länger gedauert, leider"
    lenient = build_scorer(replace(settings, negative_threshold=-0.99)).score(mild, "de")
    default = build_scorer(settings).score(mild, "de")
    assert (lenient.label == default.label) is (backend == "embedded")


def test_model_path_is_flagged_for_the_lexicon_backend_too() -> None:
    assert keys(SentimentSettings(backend="lexicon", model_path=Path("m"))) == ["model_path"]

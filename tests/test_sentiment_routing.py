"""Language routing: the source's tag is trusted, otherwise detected; unknowns are counted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.models import Label
from monitor.sentiment import SentimentSettings, build_scorer
from monitor.sentiment.language import LanguageDetector, normalize_language

GERMAN = "Ich bin so enttäuscht von euch, das ist wirklich nicht gut"
ENGLISH = "I am so disappointed with you, this is really not good"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("de-DE", "de"),
        ("de_AT", "de"),
        ("EN", "en"),
        ("deu", "de"),
        ("und", None),
        ("", None),
        (None, None),
        ("12", None),
    ],
)
def test_language_tags_are_normalised(tag: str | None, expected: str | None) -> None:
    assert normalize_language(tag) == expected


def test_the_sources_language_tag_is_trusted_over_detection() -> None:
    scorer = build_scorer(SentimentSettings())
    assert scorer.score(GERMAN, "en-GB").lang == "en"
    assert scorer.score(ENGLISH, "de-DE").lang == "de"
    assert dict(scorer.language_counts()) == {"en": 1, "de": 1}


def test_untagged_texts_are_detected_and_scored_in_their_language() -> None:
    scorer = build_scorer(SentimentSettings())
    german = scorer.score(GERMAN)
    english = scorer.score(ENGLISH)
    assert (german.lang, german.label) == ("de", Label.NEGATIVE)
    assert (english.lang, english.label) == ("en", Label.NEGATIVE)
    assert scorer.fallback_count() == 0


def test_detection_without_function_words_uses_the_language_model() -> None:
    detector = LanguageDetector(["de", "en"])
    assert detector.detect("Zugausfall Hauptbahnhof Verspätung Schienenersatzverkehr") == "de"
    assert detector.detect("Terrible customer service, delayed shipment") == "en"


def test_unidentifiable_text_falls_back_and_is_counted() -> None:
    scorer = build_scorer(SentimentSettings(fallback_language="en"))
    result = scorer.score("😡😡😡")
    assert result.lang == "en"
    assert result.label is Label.NEGATIVE
    assert scorer.language_counts()["und"] == 1
    assert scorer.fallback_count() == 1


def test_unsupported_language_is_scored_by_the_fallback_and_counted() -> None:
    scorer = build_scorer(SentimentSettings(fallback_language="de"))
    result = scorer.score("Quel scandale, je suis déçu", "fr-FR")
    assert result.lang == "de"
    assert scorer.language_counts()["fr"] == 1
    assert scorer.fallback_count() == 1


def test_fallback_und_calls_unknown_languages_neutral() -> None:
    scorer = build_scorer(SentimentSettings(fallback_language="und"))
    result = scorer.score("Rezalet, bir daha asla", "tr")
    assert (result.label, result.score, result.lang) == (Label.NEUTRAL, 0.0, "und")
    assert scorer.fallback_count() == 1


def test_scoring_from_many_threads_counts_every_text() -> None:
    scorer = build_scorer(SentimentSettings())
    texts = [GERMAN, ENGLISH] * 200
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(scorer.score, texts))
    assert [r.lang for r in results] == ["de", "en"] * 200
    assert dict(scorer.language_counts()) == {"de": 200, "en": 200}


def test_posts_in_unexpected_languages_are_identified_and_counted() -> None:
    scorer = build_scorer(SentimentSettings(fallback_language="en"), languages=["de"])
    result = scorer.score("C'est vraiment un scandale, je ne reviendrai jamais chez vous")
    assert result.lang == "en"
    assert scorer.language_counts()["fr"] == 1
    assert scorer.fallback_count() == 1


def test_short_ambiguous_posts_go_to_the_expected_language() -> None:
    detector = LanguageDetector(["de", "en"])
    # Unrestricted, the model's best guesses here are Dutch, Javanese and Estonian, unsure.
    for text in ("Zug weg. Toll.", "Boah, Handy kaputt", "Akku leer"):
        assert detector.detect(text) == "de"
    assert LanguageDetector().detect("Akku leer") != "de"


def test_the_function_word_lists_share_no_word() -> None:
    # The quick verdict counts each word for one language at most only because of this.
    from monitor.sentiment.language import _DE_WORDS, _EN_WORDS

    assert _DE_WORDS.isdisjoint(_EN_WORDS)

"""The topic's own terms carry no sentiment, whatever the backend."""

from __future__ import annotations

from typing import Literal

import pytest

from monitor.models import Label
from monitor.sentiment import SentimentSettings, build_scorer
from monitor.sentiment.topic_terms import PLACEHOLDER, neutralise, term_pattern

# The backends that need nothing but the installed packages.
Backend = Literal["embedded", "lexicon"]

TOPICS = [
    (["Kill Bill", "#KillBill"], "Kill Bill is on TV tonight", "en"),
    (["Bad Homburg"], "Visiting Bad Homburg this weekend", "en"),
    (["Die Toten Hosen", "#DTH"], "Die Toten Hosen spielen heute in Köln", "de"),
]


@pytest.mark.parametrize("backend", ["embedded", "lexicon"])
@pytest.mark.parametrize(("terms", "text", "lang"), TOPICS, ids=[t[1] for t in TOPICS])
def test_a_topic_named_like_a_complaint_is_not_negative(
    backend: Backend, terms: list[str], text: str, lang: str
) -> None:
    settings = SentimentSettings(backend=backend)
    plain = build_scorer(settings).score(text, lang)
    topical = build_scorer(settings, terms=terms).score(text, lang)
    assert plain.label is Label.NEGATIVE  # what the words alone say
    assert topical.label is Label.NEUTRAL


@pytest.mark.parametrize("backend", ["embedded", "lexicon"])
def test_what_is_said_about_the_topic_still_counts(backend: Backend) -> None:
    scorer = build_scorer(SentimentSettings(backend=backend), terms=["Monster"])
    assert (
        scorer.score("Monster is the worst drink ever, never again!", "en").label is Label.NEGATIVE
    )
    assert scorer.score("Ich liebe Monster, einfach großartig! 😍", "de").label is Label.POSITIVE


def test_terms_match_as_whole_words_in_any_spelling() -> None:
    pattern = term_pattern(["Kill Bill", "@acme", "#acme"])
    text = "kill bill, #KillBill, Kill-Bill's, @acme and ACME, but not Killbillion or acmes2"
    assert neutralise(text, pattern) == (
        f"{PLACEHOLDER}, {PLACEHOLDER}, {PLACEHOLDER}, {PLACEHOLDER} and {PLACEHOLDER}, "
        "but not Killbillion or acmes2"
    )


def test_no_terms_leave_the_text_alone() -> None:
    assert term_pattern([]) is None
    assert term_pattern(["  ", "#"]) is None
    assert neutralise("Kill Bill", None) == "Kill Bill"


def test_terms_with_regex_characters_are_literal() -> None:
    pattern = term_pattern(["C++", "a.b"])
    assert neutralise("C++ rocks, a.b too, axb not", pattern) == (
        f"{PLACEHOLDER} rocks, {PLACEHOLDER} too, axb not"
    )

"""The English scorer: VADER taught the vocabulary of complaints, boycotts and sarcasm."""

from __future__ import annotations

import pytest

from monitor.sentiment.english import EnglishScorer

scorer = EnglishScorer()


def polarity(text: str) -> float:
    return scorer.polarity(text)


@pytest.mark.parametrize(
    "text",
    [
        "#BoycottNike",
        "#boycottunited",
        "Never again, @airline",
        "unsubscribe",
        "What a scam",
        "Thanks for nothing @telco",
        "Still no refund after 3 weeks",
        "Worst customer service ever #fail",
        "this update is so cringe",
    ],
)
def test_storm_vocabulary_is_negative(text: str) -> None:
    assert polarity(text) < -0.3


def test_handles_are_names_not_words() -> None:
    # VADER alone reads "@United" as the positive word "united".
    assert polarity("@United lost my bag") < 0
    assert polarity("@Great_Service where is my parcel") == pytest.approx(0.0)


def test_praise_next_to_a_complaint_is_sarcasm() -> None:
    assert polarity("Great, my flight got cancelled again. Thanks a lot") < -0.3
    assert polarity("Love this new update #not") < 0
    assert polarity("Great flight, thanks a lot") > 0.3


def test_eagerness_is_positive() -> None:
    assert polarity("I can't wait for the new phone") > 0.3
    assert polarity("Looking forward to the show") > 0.3


def test_stretched_words_and_curly_apostrophes_are_read() -> None:
    assert polarity("I loooove it") == pytest.approx(polarity("I love it"))
    assert polarity("I don’t like it") == pytest.approx(polarity("I don't like it"))
    assert polarity("I don\\u2019t like it") == pytest.approx(polarity("I don't like it"))


def test_emoji_are_scored() -> None:
    assert polarity("new update 😡") < -0.3
    assert polarity("new update 😍") > 0.3


def test_questions_assert_less_praise() -> None:
    assert 0 < polarity("Will the new phone be great?") < polarity("The new phone is great.")


def test_ambiguous_words_are_softened() -> None:
    # "Super Bowl" and a political "party" are not praise; "like" is mostly a preposition.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    plain = SentimentIntensityAnalyzer()
    for text in ("Watching the Super Bowl", "The party meets on Monday", "like, what?"):
        assert 0 <= polarity(text) < plain.polarity_scores(text)["compound"]

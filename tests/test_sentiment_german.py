"""The German rule scorer reads complaints the way a community manager does."""

from __future__ import annotations

import pytest

from monitor.sentiment.german import GermanScorer
from monitor.sentiment.tokens import Kind, tokenize

scorer = GermanScorer()


def polarity(text: str) -> float:
    return scorer.polarity(text)


@pytest.mark.parametrize(
    "text",
    [
        "Boykott!",
        "Nie wieder kaufe ich bei euch",
        "Was für eine Frechheit",
        "#boycott",
        "Ich habe den Newsletter gleich unsubscribe geklickt",
        "Ich werde meinen Vertrag kündigen",
        "So eine Abzocke",
        "Scheißladen",
        "Zum Kotzen, dieser Kundenservice",
        "Schämt euch",
    ],
)
def test_outrage_vocabulary_is_clearly_negative(text: str) -> None:
    assert polarity(text) < -0.5


@pytest.mark.parametrize(
    ("plain", "negated"),
    [("Das ist gut", "Das ist nicht gut"), ("Das gefällt mir", "Das gefällt mir nicht.")],
)
def test_negation_turns_praise_into_a_complaint(plain: str, negated: str) -> None:
    assert polarity(plain) > 0.3
    assert polarity(negated) < -0.3


def test_negated_complaint_is_relief_not_a_complaint() -> None:
    assert polarity("Kein Problem") > 0
    assert polarity("Das ist nicht schlecht") > 0
    assert polarity("Problem") < 0


def test_negated_function_verb_is_a_complaint() -> None:
    assert polarity("Die App funktioniert") >= 0
    assert polarity("Die App funktioniert nicht") < -0.3
    assert polarity("Die Hotline ist nicht erreichbar") < -0.3


def test_negation_does_not_reach_across_a_clause() -> None:
    assert polarity("Nicht schon wieder Montag. Aber das Wetter ist schön") > 0


def test_intensifiers_and_downtoners_scale_the_next_word() -> None:
    assert polarity("sehr gut") > polarity("gut") > polarity("ziemlich gut") > 0
    assert polarity("extrem schlecht") < polarity("schlecht") < polarity("etwas schlecht") < 0


def test_capitals_and_exclamation_marks_raise_intensity() -> None:
    assert polarity("Das ist SCHLECHT") < polarity("Das ist schlecht")
    assert polarity("Das ist schlecht!!!") < polarity("Das ist schlecht")
    assert polarity("Das ist gut!!!") > polarity("Das ist gut")


def test_a_text_all_in_capitals_is_still_read() -> None:
    assert polarity("DAS IST EINE FRECHHEIT") < -0.5


def test_exclamation_marks_alone_carry_no_sentiment() -> None:
    assert polarity("Der Zug fährt um 10 Uhr ab!!!") == 0.0


@pytest.mark.parametrize(("text", "sign"), [("Neues Produkt 😡", -1), ("Neues Produkt 😍", 1)])
def test_emoji_carry_sentiment(text: str, sign: int) -> None:
    assert polarity(text) * sign > 0.3


@pytest.mark.parametrize(
    ("text", "sign"),
    [("Lieferung kam heute :(", -1), ("Lieferung kam heute :-)", 1), ("Paket da &lt;3", 1)],
)
def test_emoticons_carry_sentiment(text: str, sign: int) -> None:
    assert polarity(text) * sign > 0.3


def test_praise_inside_a_complaint_reads_as_sarcasm() -> None:
    assert polarity("Toll, schon wieder 30 Minuten Verspätung") < -0.5
    assert polarity("Super gemacht, Bahn #ironie") < 0
    assert polarity("Toll gemacht, Bahn") > 0


def test_the_clause_after_aber_decides() -> None:
    assert polarity("Das Essen war gut, aber der Service war eine Katastrophe") < -0.3
    assert polarity("Etwas teuer, aber wirklich lecker") > 0.3


def test_inflected_and_compound_words_are_found() -> None:
    assert polarity("Die schlechtesten Brötchen") < 0
    assert polarity("Scheißwetter heute") < -0.5
    assert polarity("Totalausfall im Netz") < 0
    assert polarity("Mein Lieblingsladen") > 0


def test_neutral_reports_stay_neutral() -> None:
    assert polarity("Der Zug fährt ab Hamburg um 10 Uhr.") == 0.0
    assert polarity("") == 0.0
    assert polarity("https://t.co/abc @bahn") == 0.0


def test_long_reports_are_damped() -> None:
    report = "Die Bahn plant im kommenden Jahr neue Strecken und Bahnhöfe in der Region. " * 6
    assert abs(polarity(report + "Ein Problem bleibt.")) < abs(polarity("Ein Problem bleibt."))


def test_polarity_stays_within_bounds() -> None:
    text = "SCHEISSE!!! Frechheit Abzocke Betrug 😡😡😡 nie wieder!!!"
    assert -1.0 <= polarity(text) < -0.9


def test_tokenizer_keeps_emoticons_and_drops_links_and_handles() -> None:
    tokens = tokenize("super:) @bahn https://t.co/x xD D: !!!")
    assert [(t.kind, t.text) for t in tokens] == [
        (Kind.WORD, "super"),
        (Kind.EMOTICON, ":)"),
        (Kind.WORD, "xD"),
        (Kind.EMOTICON, "D:"),
        (Kind.BANG, "!!!"),
    ]


def test_the_tokenizer_shortcuts_change_no_token() -> None:
    # Spaced dashes after several spaces, links and emoticons that begin with a letter, and a
    # word glued to a number: the cases the fast paths of the pattern must leave alone.
    text = "Toll  - wieder www.bahn.de hin, Dauer 3Tage T_T D: und Dx: — halt  http://x.y"
    assert [(t.kind, t.text) for t in tokenize(text)] == [
        ("word", "Toll"), ("break", "-"), ("word", "wieder"), ("word", "hin"), ("break", ","),
        ("word", "Dauer"), ("word", "Tage"), ("emoticon", "T_T"), ("emoticon", "D:"),
        ("word", "und"), ("word", "Dx"), ("break", ":"), ("break", "—"), ("word", "halt"),
    ]  # fmt: skip


def test_a_salutation_is_not_praise() -> None:
    assert polarity("Liebe Bahn, wann fährt der nächste Zug?") < 0.35
    assert polarity("Ich liebe Bahnfahren") > 0.35
    assert polarity("Liebe Telekom, seit Tagen kein Netz.") < -0.2


def test_negation_reaches_past_mehr() -> None:
    assert polarity("Die App funktioniert nicht mehr") < -0.3
    assert polarity("Das ist nicht mehr gut") < -0.3
    assert polarity("Nicht mehr lange bis Weihnachten") == 0.0


def test_colloquial_praise_and_campaign_hashtags() -> None:
    assert polarity("Die neue Kollektion ist der Hammer") > 0.35
    assert polarity("#BoykottNestle") < -0.5
    assert polarity("Ganz großes Kino, liebe Telekom. Seit Tagen kein Netz.") < -0.3


def test_link_posts_without_emotion_count_less() -> None:
    headline = "Streik bei der Bahn: viele Verspätungen"
    assert polarity(headline + " https://t.co/x") > polarity(headline)
    assert polarity(headline + " https://t.co/x 😡") < polarity(headline + " https://t.co/x")


def test_a_word_that_intensifies_is_not_praise_itself() -> None:
    assert polarity("mega schlecht") < polarity("schlecht") < 0
    assert polarity("super teuer") < 0
    assert polarity("mega") > 0

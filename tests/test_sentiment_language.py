"""Language identification: the model as the monitor loads it, and long or mixed texts."""

from __future__ import annotations

from pathlib import Path

from monitor.sentiment.language import LanguageDetector, _read_identifier

TEXTS = [
    "Ich bin so enttäuscht von euch, das ist wirklich nicht gut",
    "I am so disappointed with you, this is really not good",
    "C'est vraiment un scandale, je ne reviendrai jamais chez vous",
    "Dit is echt een schandaal, ik kom nooit meer terug",
    "Это настоящий скандал, я больше никогда не вернусь",
    "Zugausfall Hauptbahnhof Verspätung Schienenersatzverkehr",
    "",
]


def test_the_model_reads_as_py3langids_own_loader_reads_it() -> None:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    path = Path(MODEL_DIR) / MODEL_FILE
    ours = _read_identifier(path)
    theirs = LanguageIdentifier.from_model_file(path, norm_probs=True)
    assert ours.labels == theirs.labels
    for text in TEXTS:
        assert ours.rank(text) == theirs.rank(text), text
    ours.set_languages(["de", "en", "nl"])
    theirs.set_languages(["de", "en", "nl"])
    assert [ours.classify(text) for text in TEXTS] == [theirs.classify(text) for text in TEXTS]


# An English greeting above a long German post, as forum and email-like posts have them.
ENGLISH_OPENING = (
    "Hello everyone, this is for the people who do not read German: the text below is about "
    "the train that was cancelled this morning, and what you can do about it if you were on it "
    "too. Please share it with anyone who needs it, thank you all for reading this. "
)
GERMAN_BODY = (
    "Der Zug um 7:12 Uhr ist heute wieder ausgefallen, zum dritten Mal in dieser Woche. "
    "Wer eine Zeitkarte hat, kann sich die Fahrt im Taxi erstatten lassen, wenn der Zug mehr "
    "als eine Stunde zu spät ist und es nach Mitternacht keine andere Verbindung mehr gibt. "
    "Das Formular gibt es im Reisezentrum, und man muss es innerhalb von einem Jahr einreichen. "
    "Ich habe das schon zweimal gemacht, es hat beide Male geklappt, aber es dauert ein paar "
    "Wochen, bis das Geld kommt. Bitte nicht vergessen, die Quittung vom Taxi aufzuheben. "
) * 2


def test_a_long_post_is_judged_by_all_of_it_not_only_its_opening() -> None:
    detector = LanguageDetector(["de", "en"])
    assert detector.detect(ENGLISH_OPENING + GERMAN_BODY) == "de"
    assert detector.detect(ENGLISH_OPENING) == "en"


def test_a_long_post_in_one_language_keeps_it_wherever_it_is_sampled() -> None:
    detector = LanguageDetector(["de", "en"])
    assert detector.detect(GERMAN_BODY * 20) == "de"
    assert detector.detect(ENGLISH_OPENING * 30) == "en"

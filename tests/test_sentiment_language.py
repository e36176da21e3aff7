"""Language identification: the model as the monitor loads it, and long or mixed texts."""

from __future__ import annotations

from pathlib import Path

from monitor.sentiment.language import _read_identifier

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

"""Which language a mention is in: the source's tag when it has one, else offline detection.

Detection runs on py3langid (a small offline naive-Bayes model), restricted to the topic's
languages when they are configured. A cheap function-word count settles the clear German/English
cases first, because the model costs about a tenth of a millisecond a text and the embedded
scorers must keep up with every mention. Both read a sample of a long post (its opening, middle
and end), not all of it.
"""

from __future__ import annotations

import copy
import lzma
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

UNDETERMINED = "und"
# A sample of a long post tells its language as well as all of it, at a fraction of the cost:
# function words are counted in this many characters of it, and the model, whose cost grows
# with the length, reads this many (taken from the opening, the middle and the end, so that a
# German post below an English greeting or headline is still German).
_DETECTION_CHARS = 300
_MODEL_CHARS = 200
_SAMPLE_PARTS = 3

# ISO 639-2/3 codes some platforms send instead of the 2-letter ISO 639-1 code.
_THREE_LETTER = {
    "deu": "de", "ger": "de", "gsw": "de", "eng": "en", "fra": "fr", "fre": "fr",
    "spa": "es", "ita": "it", "nld": "nl", "dut": "nl", "por": "pt", "pol": "pl",
    "tur": "tr", "rus": "ru",
}  # fmt: skip
_TAG_RE = re.compile(r"[a-z]{2,3}")
_LETTER_RE = re.compile(r"[^\W\d_]")
# What separates the words the function-word count reads. Splitting on it costs half of what
# finding the words with a letter class does, and it finds the same function words: the pieces
# of links and handles and the numbers it also yields match none (they only count as words of
# the text, as the pieces of links did before).
_SEPARATOR_RE = re.compile(r"[\s!\"#$%&()*+,./:;<=>?@\[\\\]^_`{|}~“”„«»…–—-]+")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words frequent in one of the two languages and absent from the other (and from most
# other Latin-script languages), so a clear majority of them is a safe verdict without the model.
# "was", "will", "also" and "die" are words in both, and so are left out.
_DE_WORDS = _word_set(
    "der das und ist nicht ich ein eine einen mit auf für sich auch dem den zu mir mich "
    "dich noch schon bei von aus nach jetzt wird sind hat haben bin bist mal doch nur kein "
    "keine oder wenn dass über gibt immer heute wieder euch uns wir ihr sehr ganz kann "
    "wurde werden schon hier nichts diese dieser eure euer unsere zum zur vom beim ins gegen "
    "ohne durch seit unter weil dann aber warum wieso gibts mehr eines einem einer sie wegen"
)
_EN_WORDS = _word_set(
    "the and is to of you it that this for with my your are be have not just what on at me "
    "we they don't can't i'm it's get if about from out all like now today would "
    "could should been there their which when who why how our can't won't didn't doesn't "
    "isn't very really"
)


def sample(text: str, size: int) -> str:
    """``text`` if it has at most ``size`` characters, else pieces of it spread over its length.

    >>> sample("abcdefghijklmnopqrstuvwxyz", 9)
    'abc mno xyz'
    """
    if len(text) <= size:
        return text
    part = size // _SAMPLE_PARTS
    step = (len(text) - part) / (_SAMPLE_PARTS - 1)
    starts = (round(index * step) for index in range(_SAMPLE_PARTS))
    return " ".join(text[start : start + part] for start in starts)


def normalize_language(tag: str | None) -> str | None:
    """A source's language tag as a lowercase 2-letter code, or None when it names none.

    ``"de-DE"``, ``"de_AT"``, ``"DE"`` and ``"deu"`` all become ``"de"``; ``"und"``, ``""`` and
    tags that are not language codes become None.

    >>> normalize_language("de-DE"), normalize_language("eng"), normalize_language("und")
    ('de', 'en', None)
    """
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    if not _TAG_RE.fullmatch(primary) or primary in {UNDETERMINED, "mul", "zxx", "mis"}:
        return None
    if len(primary) == 3:
        return _THREE_LETTER.get(primary)
    return primary


def _read_identifier(path: Path) -> Any:
    """py3langid's identifier from its model file, without the copies its own loader makes.

    py3langid 0.4 copies its 39 MB transition table from numpy into an ``array`` while the numpy
    one is still alive, so loading it put the daemon's memory peak 30 MiB above where memory
    then stays. The numpy arrays are kept instead, the tables behind a memoryview, which the
    model indexes as fast as an ``array``; the output table too, which py3langid makes a list
    of 100,000 Python ints (6 MB more, and a model call took a fifth longer with it). A model
    file of another layout is read by py3langid's own loader.
    """
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    with tempfile.TemporaryFile(suffix=".npz") as unpacked:
        # Unpacked to disk, as py3langid does, so the whole npz is never in memory at once.
        with lzma.open(path) as packed:
            shutil.copyfileobj(packed, unpacked, length=1 << 20)
        unpacked.seek(0)
        with np.load(unpacked, allow_pickle=False) as data:
            if not {"ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat"} <= set(
                data.files
            ):
                return LanguageIdentifier.from_model_file(path, norm_probs=True)
            return LanguageIdentifier(
                data["ptc"],
                data["pc"],
                data["classes"].tolist(),
                np.ascontiguousarray(data["nextmove"]).data,
                np.ascontiguousarray(data["out_feat"]).data,
                norm_probs=True,
                tk_row=np.ascontiguousarray(data["nextmove_row"]).data,
            )


class _ModelHolder:
    """Loads py3langid's model once per process (about a second) and shares it read-only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._full: Any = None
        self._restricted: dict[frozenset[str], Any] = {}

    def identifier(self, languages: frozenset[str]) -> Any:
        with self._lock:
            if self._full is None:
                from py3langid.langid import MODEL_DIR, MODEL_FILE

                self._full = _read_identifier(Path(MODEL_DIR) / MODEL_FILE)
            if not languages:
                return self._full
            if languages not in self._restricted:
                known = set(self._full.labels)
                usable = sorted(languages & known)
                if not usable:
                    return self._full
                # set_languages() replaces attributes instead of mutating the shared arrays,
                # so a shallow copy gives an independent restricted view of the same model.
                restricted = copy.copy(self._full)
                restricted.set_languages(usable)
                self._restricted[languages] = restricted
            return self._restricted[languages]


_MODELS = _ModelHolder()


class LanguageDetector:
    """Identifies a text's language, preferring the expected ``languages`` (the topic's).

    Any language py3langid knows can be the answer, so posts in unexpected languages are seen
    and counted; but a short post that looks only somewhat Luxembourgish or Dutch is taken as
    the expected language it is closest to, unless the model is sure (``foreign_confidence``).
    Answers ``"und"`` for texts with too few letters to judge and for unsure verdicts.
    Thread-safe; the model loads on first use.
    """

    def __init__(
        self,
        languages: Iterable[str] = (),
        *,
        min_letters: int = 3,
        min_confidence: float = 0.5,
        foreign_confidence: float = 0.9,
    ) -> None:
        codes = (normalize_language(code) for code in languages)
        self.languages = frozenset(code for code in codes if code)
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.foreign_confidence = foreign_confidence

    def detect(self, text: str) -> str:
        """The 2-letter code of ``text``'s language, or ``"und"``."""
        counted = sample(text, _DETECTION_CHARS)
        if not self._has_letters(counted):
            return UNDETERMINED
        quick = self._by_function_words(_SEPARATOR_RE.split(counted.lower()))
        if quick is not None and (not self.languages or quick in self.languages):
            return quick
        text = sample(text, _MODEL_CHARS)
        code, confidence = self._classify(text, frozenset())
        if self.languages:
            if code in self.languages:
                return code  # it beat every other language; no confidence needed
            if confidence < self.foreign_confidence:
                code, confidence = self._classify(text, self.languages)
        if code is None or confidence < self.min_confidence:
            return UNDETERMINED
        return code

    def _has_letters(self, text: str) -> bool:
        """Whether ``text`` has ``min_letters`` letters; stops looking once it has."""
        for count, _ in enumerate(_LETTER_RE.finditer(text), start=1):
            if count >= self.min_letters:
                return True
        return self.min_letters <= 0

    @staticmethod
    def _classify(text: str, among: frozenset[str]) -> tuple[str | None, float]:
        language, confidence = _MODELS.identifier(among).classify(text)
        return normalize_language(str(language)), float(confidence)

    def _by_function_words(self, words: list[str]) -> str | None:
        """The language the (lowercased) ``words`` clearly are, "de" or "en", else None."""
        if self.languages and not self.languages <= {"de", "en"}:
            return None  # another candidate language could share these words
        # The two word lists share no word, so each word counts for one language at most.
        german = sum(map(_DE_WORDS.__contains__, words))
        english = sum(map(_EN_WORDS.__contains__, words))
        words_in_text = len(words) - words.count("")  # a split leaves "" at either end
        # Demand a share of the text too: a Dutch or Scandinavian text may contain a few. A
        # German post quoting an English phrase ("keep it cool") is still German: one word of
        # the other language is allowed per four.
        if german >= 2 and german >= 4 * english and german * 10 >= words_in_text:
            return "de"
        if english >= 2 and english >= 4 * german and english * 10 >= words_in_text:
            return "en"
        return None

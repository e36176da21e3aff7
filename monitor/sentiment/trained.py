"""The default backend: a linear model per language, trained on labelled posts, shipped inside.

Each language's model is a multinomial logistic regression over word unigrams and bigrams and
the rule scorer's polarity (``features.py``), trained by ``make train-sentiment``
(``training.py``) and stored in ``monitor/data/sentiment/{lang}.json.gz``. Scoring is a few
dictionary look-ups and sums of plain floats per text; nothing is downloaded, and numpy is only
needed to read the file.

Probabilities are temperature-calibrated on held-out folds of the training data, with the
classes weighted equally, so "0.8 negative" means the same in English and German whatever share
of each class the training sets had. The label is the most probable class; the score is
``P(positive) - P(negative)``.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import threading
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.models import Label, most_probable
from monitor.sentiment.base import SentimentBackendError, Verdict
from monitor.sentiment.config import SentimentSettings
from monitor.sentiment.english import EnglishScorer
from monitor.sentiment.features import DENSE_FEATURES, TextFeatures, TokenPolarity, text_features
from monitor.sentiment.german import GermanScorer
from monitor.sentiment.lexicon import TUNED_THRESHOLDS

MODEL_DIR = Path(__file__).resolve().parents[1] / "data" / "sentiment"
FORMAT = 1
CLASSES: tuple[Label, ...] = (Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE)
Matrix = npt.NDArray[np.float32]
Row = tuple[float, float, float]


def rule_polarity(lang: str) -> TokenPolarity:
    """The rule scorer whose polarity the ``lang`` model reads as features."""
    if lang == "de":
        return GermanScorer().polarity_of_tokens
    english = EnglishScorer()
    return lambda text, tokens: english.polarity(text)  # VADER tokenises in its own way


@dataclass(frozen=True)
class LinearModel:
    """One language's weights: a row per n-gram, then one per dense feature."""

    language: str
    words: Mapping[str, int]
    weights: Matrix
    bias: Matrix
    temperature: float
    # What training recorded: sources, hyper-parameters, cross-validated figures.
    about: Mapping[str, Any] = field(default_factory=dict)
    # The weights as one flat array of floats, three per row: for a few dozen n-grams a text,
    # summing these is four times faster than numpy's fancy indexing. An array("f") holds the
    # float32 weights exactly in 4 bytes each, where a list of Python floats took 32 (7 MiB
    # more in all), and is read about as fast.
    _flat: array[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = len(self.words) + len(DENSE_FEATURES)
        if self.weights.shape != (rows, len(CLASSES)) or self.bias.shape != (len(CLASSES),):
            raise ValueError(f"weights {self.weights.shape} do not fit {rows} features")
        flat = array("f")
        flat.frombytes(np.ascontiguousarray(self.weights, dtype=np.float32).tobytes())
        object.__setattr__(self, "_flat", flat)

    def logits(self, features: TextFeatures) -> Row:
        """Uncalibrated class scores, negative / neutral / positive."""
        negative, neutral, positive = (float(b) for b in self.bias)
        flat = self._flat
        at = 3 * len(self.words)
        for value in features.dense:
            if value:
                negative += value * flat[at]
                neutral += value * flat[at + 1]
                positive += value * flat[at + 2]
            at += 3
        if features.words:
            # Each n-gram is worth 1/sqrt(n-grams of the text): summed first, scaled once.
            sum_negative = sum_neutral = sum_positive = 0.0
            for row in map(self.words.get, features.words):
                if row is not None:
                    at = 3 * row
                    sum_negative += flat[at]
                    sum_neutral += flat[at + 1]
                    sum_positive += flat[at + 2]
            scale = 1.0 / math.sqrt(len(features.words))
            negative += scale * sum_negative
            neutral += scale * sum_neutral
            positive += scale * sum_positive
        return negative, neutral, positive

    def probabilities(self, features: TextFeatures) -> Row:
        """Calibrated probabilities of negative, neutral and positive."""
        scaled = [value / self.temperature for value in self.logits(features)]
        top = max(scaled)
        exp = [math.exp(value - top) for value in scaled]
        total = sum(exp)
        return exp[0] / total, exp[1] / total, exp[2] / total

    def to_file(self, path: Path) -> None:
        """Writes the model as gzipped JSON; the same model always gives the same bytes."""
        document = {
            "format": FORMAT,
            "language": self.language,
            "classes": [label.value for label in CLASSES],
            "dense_features": list(DENSE_FEATURES),
            "temperature": self.temperature,
            "bias": [float(b) for b in self.bias],
            "about": dict(self.about),
            "words": sorted(self.words, key=self.words.__getitem__),
            "weights": base64.b64encode(self.weights.astype("<f4").tobytes()).decode("ascii"),
        }
        # ASCII (emoji as \u escapes): decoded, an ASCII document takes a quarter of the memory
        # that one with a single emoji in it would, and loading is when memory peaks.
        raw = json.dumps(document, ensure_ascii=True, sort_keys=True).encode("ascii")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))

    @classmethod
    def from_file(cls, path: Path) -> LinearModel:
        """Reads a model written by :meth:`to_file`; ``ValueError`` says what is wrong."""
        document = json.loads(gzip.decompress(path.read_bytes()))
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown model format {document.get('format')!r}")
        if document["classes"] != [label.value for label in CLASSES]:
            raise ValueError(f"unexpected classes {document['classes']}")
        if document["dense_features"] != list(DENSE_FEATURES):
            raise ValueError("the model was trained on other dense features")
        words = {word: index for index, word in enumerate(document["words"])}
        flat = np.frombuffer(base64.b64decode(document["weights"]), dtype="<f4")
        weights = flat.astype(np.float32).reshape(-1, len(CLASSES))
        return cls(
            language=document["language"],
            words=words,
            weights=weights,
            bias=np.asarray(document["bias"], dtype=np.float32),
            temperature=float(document["temperature"]),
            about=document["about"],
        )


_load_lock = threading.Lock()


@cache
def _load(path: Path) -> LinearModel:
    return LinearModel.from_file(path)


def load_model(lang: str, directory: Path = MODEL_DIR) -> LinearModel:
    """The shipped model for ``lang``, loaded once per process."""
    path = directory / f"{lang}.json.gz"
    with _load_lock:
        try:
            model = _load(path)
        except (OSError, EOFError, ValueError, KeyError) as error:
            raise SentimentBackendError(
                "backend", f"the trained {lang} model at {path} cannot be read ({error})"
            ) from error
    if model.language != lang:
        raise SentimentBackendError(
            "backend", f"{path} holds the {model.language} model, not the {lang} one"
        )
    return model


class TrainedBackend:
    """English and German, each by its trained model over n-grams and rule scores."""

    LANGUAGES: Sequence[str] = ("de", "en")

    def __init__(self, settings: SentimentSettings, directory: Path = MODEL_DIR) -> None:
        del settings  # labels come from the most probable class, not from the thresholds
        self._models = {lang: load_model(lang, directory) for lang in self.LANGUAGES}
        self._polarity = {lang: rule_polarity(lang) for lang in self.LANGUAGES}

    def languages(self) -> frozenset[str] | None:
        return frozenset(self._models)

    def probabilities(self, text: str, lang: str) -> dict[Label, float]:
        """Calibrated probability of each label for ``text`` read as ``lang``."""
        return dict(zip(CLASSES, self._probabilities(text, lang), strict=True))

    def judge(self, text: str, lang: str) -> Verdict:
        row = self._probabilities(text, lang)
        return Verdict(most_probable(row), row[2] - row[0], row)

    def _probabilities(self, text: str, lang: str) -> Row:
        features = text_features(text, self._polarity[lang], TUNED_THRESHOLDS[lang])
        return self._models[lang].probabilities(features)

"""Backends for users with a local sentiment model: a Hugging Face directory or an ONNX file.

They are loaded only when settings select them, from ``model_path`` only (``local_files_only``:
nothing is downloaded at run time), and once per process per path. Their classes are mapped to
our three labels from the model's ``id2label`` (names like "negative", "LABEL_0" or "4 stars").
Inference runs under a lock: tokenizers and sessions are not all safe to share across threads,
and a heavy model is slower than the lock anyway.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.models import Label
from monitor.sentiment.base import Backend, SentimentBackendError, Verdict
from monitor.sentiment.config import SentimentSettings

_VALUE = {Label.NEGATIVE: -1.0, Label.NEUTRAL: 0.0, Label.POSITIVE: 1.0}


def class_labels(id2label: Mapping[int, str]) -> list[tuple[Label, float]]:
    """Our label and a polarity for each of a model's classes, in class order.

    >>> class_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})[0]
    (<Label.NEGATIVE: 'negative'>, -1.0)
    >>> [value for _, value in class_labels({i: f"{i + 1} stars" for i in range(5)})]
    [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    names = [str(id2label[index]).strip().lower() for index in sorted(id2label)]
    if not names:
        raise ValueError("the model has no classes")
    stars = [re.match(r"(\d)\s*stars?$", name) for name in names]
    if all(stars):
        counts = [int(match.group(1)) for match in stars if match]
        middle = (min(counts) + max(counts)) / 2
        half = (max(counts) - min(counts)) / 2 or 1.0
        return [_by_value((count - middle) / half) for count in counts]
    by_name = [_by_name(name) for name in names]
    if all(label is not None for label in by_name):
        return [(label, _VALUE[label]) for label in by_name if label is not None]
    # Anonymous classes: the common conventions are (negative, positive) and
    # (negative, neutral, positive).
    if len(names) == 2:
        return [(Label.NEGATIVE, -1.0), (Label.POSITIVE, 1.0)]
    if len(names) == 3:
        return [(Label.NEGATIVE, -1.0), (Label.NEUTRAL, 0.0), (Label.POSITIVE, 1.0)]
    raise ValueError(f"cannot map the model's classes {names} to negative/neutral/positive")


def _by_name(name: str) -> Label | None:
    for prefix, label in (("neg", Label.NEGATIVE), ("neu", Label.NEUTRAL), ("pos", Label.POSITIVE)):
        if name.startswith(prefix):
            return label
    return None


def _by_value(value: float) -> tuple[Label, float]:
    if value < 0:
        return Label.NEGATIVE, value
    if value > 0:
        return Label.POSITIVE, value
    return Label.NEUTRAL, 0.0


def verdict(probabilities: Sequence[float], classes: Sequence[tuple[Label, float]]) -> Verdict:
    """The label with the most probability mass, the expected polarity, and the mass per label.

    The mass per label is the model's softmax summed over the classes of each label (a
    two-class model gives neutral none); it is as calibrated as the model is, no more.
    """
    mass = dict.fromkeys(_VALUE, 0.0)
    polarity = 0.0
    for probability, (label, value) in zip(probabilities, classes, strict=True):
        mass[label] += probability
        polarity += probability * value
    best = max(mass, key=lambda label: mass[label])
    per_label = (mass[Label.NEGATIVE], mass[Label.NEUTRAL], mass[Label.POSITIVE])
    return Verdict(best, max(-1.0, min(1.0, polarity)), per_label)


def softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(value - top) for value in logits]
    total = sum(exps)
    return [value / total for value in exps]


class ModelBackend:
    """Scores any language with a local classifier given as ``predict(text) -> logits``."""

    def __init__(
        self,
        predict: Callable[[str], Sequence[float]],
        classes: Sequence[tuple[Label, float]],
    ) -> None:
        self._predict = predict
        self._classes = list(classes)
        self._lock = threading.Lock()

    def languages(self) -> frozenset[str] | None:
        return None

    def judge(self, text: str, lang: str) -> Verdict:
        with self._lock:
            logits = self._predict(text)
        return verdict(softmax(list(logits)), self._classes)


_cache_lock = threading.Lock()
_cache: dict[tuple[str, Path, int], ModelBackend] = {}


def load_model_backend(settings: SentimentSettings) -> Backend:
    """The transformers or ONNX backend of ``settings``, loaded once per process and path."""
    if settings.model_path is None:
        raise SentimentBackendError("model_path", f'backend "{settings.backend}" needs model_path')
    path = settings.model_path.expanduser()
    if not path.exists():
        raise SentimentBackendError("model_path", f"{path} does not exist")
    key = (settings.backend, path.resolve(), settings.max_tokens)
    with _cache_lock:
        if key not in _cache:
            if settings.backend == "transformers":
                _cache[key] = _load_transformers(path, settings.max_tokens)
            elif settings.backend == "onnx":
                _cache[key] = _load_onnx(path, settings.max_tokens)
            else:
                raise SentimentBackendError(
                    "backend", f'"{settings.backend}" is not a model backend'
                )
        return _cache[key]


def _require(module: str, backend: str, packages: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise SentimentBackendError(
            "backend", f'"{backend}" needs the packages {packages} (pip install {packages})'
        ) from error


def _load_transformers(path: Path, max_tokens: int) -> ModelBackend:
    if not path.is_dir():
        raise SentimentBackendError("model_path", f"{path} is not a model directory")
    transformers = _require("transformers", "transformers", "transformers torch")
    torch = _require("torch", "transformers", "transformers torch")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True
        )
    except (OSError, ValueError) as error:
        raise SentimentBackendError(
            "model_path", f"{path}: cannot load the model: {error}"
        ) from error
    model.eval()
    classes = _classes_or_error(path, dict(model.config.id2label))

    def predict(text: str) -> Sequence[float]:
        encoded = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt")
        with torch.no_grad():
            logits = model(**encoded).logits[0]
        return [float(value) for value in logits.tolist()]

    return ModelBackend(predict, classes)


def _load_onnx(path: Path, max_tokens: int) -> ModelBackend:
    """An ONNX export (``model.onnx``) with its ``tokenizer.json`` and ``config.json`` beside it."""
    model_file = path if path.is_file() else _first_existing(path, "model.onnx", "onnx/model.onnx")
    directory = model_file.parent
    tokenizer_file = _first_existing(directory, "tokenizer.json", "../tokenizer.json")
    config_file = _first_existing(directory, "config.json", "../config.json")
    onnxruntime = _require("onnxruntime", "onnx", "onnxruntime tokenizers")
    tokenizers = _require("tokenizers", "onnx", "onnxruntime tokenizers")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        id2label = {int(index): str(name) for index, name in config["id2label"].items()}
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise SentimentBackendError(
            "model_path", f"{config_file}: no usable id2label ({error})"
        ) from error
    classes = _classes_or_error(path, id2label)
    try:
        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    except Exception as error:  # both libraries raise their own, undocumented exception types
        raise SentimentBackendError("model_path", f"{model_file}: cannot load: {error}") from error
    tokenizer.enable_truncation(max_length=max_tokens)
    input_names = {node.name for node in session.get_inputs()}
    numpy = _require("numpy", "onnx", "numpy")

    def predict(text: str) -> Sequence[float]:
        encoding = tokenizer.encode(text)
        feeds = {
            "input_ids": [encoding.ids],
            "attention_mask": [encoding.attention_mask],
            "token_type_ids": [encoding.type_ids],
        }
        inputs = {
            name: numpy.asarray(value, dtype=numpy.int64)
            for name, value in feeds.items()
            if name in input_names
        }
        logits = session.run(None, inputs)[0]
        return [float(value) for value in logits[0]]

    return ModelBackend(predict, classes)


def _first_existing(directory: Path, *names: str) -> Path:
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate.resolve()
    raise SentimentBackendError("model_path", f"{directory}: no {' or '.join(names)}")


def _classes_or_error(path: Path, id2label: Mapping[int, str]) -> list[tuple[Label, float]]:
    try:
        return class_labels(id2label)
    except ValueError as error:
        raise SentimentBackendError("model_path", f"{path}: {error}") from error

"""The model backends: loaded from a local path only, mapped onto our three labels."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from monitor.models import Label
from monitor.sentiment import SentimentBackendError, SentimentSettings, build_scorer
from monitor.sentiment.heavy import class_labels, verdict


@pytest.mark.parametrize("backend", ["onnx", "transformers"])
def test_a_missing_model_path_is_an_error_naming_the_key(tmp_path: Path, backend: str) -> None:
    settings = SentimentSettings(backend=backend, model_path=tmp_path / "no-model")  # type: ignore[arg-type]
    with pytest.raises(SentimentBackendError) as caught:
        build_scorer(settings)
    assert caught.value.key == "model_path"
    assert "no-model" in str(caught.value)
    assert str(caught.value).startswith("sentiment.model_path:")


def test_a_model_backend_without_model_path_is_an_error() -> None:
    with pytest.raises(SentimentBackendError, match="needs model_path"):
        build_scorer(SentimentSettings(backend="onnx"))


def test_a_directory_without_an_onnx_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SentimentBackendError, match=r"model\.onnx"):
        build_scorer(SentimentSettings(backend="onnx", model_path=tmp_path))


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        (
            {0: "negative", 1: "neutral", 2: "positive"},
            [Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE],
        ),
        ({0: "POSITIVE", 1: "NEGATIVE"}, [Label.POSITIVE, Label.NEGATIVE]),
        ({0: "LABEL_0", 1: "LABEL_1"}, [Label.NEGATIVE, Label.POSITIVE]),
        (
            {i: f"{i + 1} star{'s' if i else ''}" for i in range(5)},
            [Label.NEGATIVE, Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE, Label.POSITIVE],
        ),
    ],
)
def test_model_classes_map_onto_our_labels(id2label: dict[int, str], expected: list[Label]) -> None:
    assert [label for label, _ in class_labels(id2label)] == expected


def test_unmappable_classes_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot map"):
        class_labels({0: "joy", 1: "anger", 2: "fear", 3: "surprise"})


def test_verdict_sums_probability_per_label() -> None:
    classes = class_labels({i: f"{i + 1} stars" for i in range(5)})
    # Each of the two negative classes is below "neutral", together they win.
    label, polarity, probabilities = verdict([0.3, 0.3, 0.4, 0.0, 0.0], classes)
    assert label is Label.NEGATIVE
    assert polarity == pytest.approx(-0.45)
    # ... and the detector reads the same sums: 0.6 negative, 0.4 neutral, none positive.
    assert probabilities == pytest.approx((0.6, 0.4, 0.0))


def make_tiny_onnx_model(directory: Path) -> Path:
    """A word-level "classifier": each word adds its row of logits (negative, neutral, positive)."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    tokenizers = pytest.importorskip("tokenizers")
    helper, tensor_proto = onnx.helper, onnx.TensorProto

    vocab = {"[UNK]": 0, "gut": 1, "schlecht": 2, "zug": 3}
    rows = [[0.0, 0.5, 0.0], [0.0, 0.0, 4.0], [4.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    table = helper.make_tensor(
        "table", tensor_proto.FLOAT, [len(rows), 3], [value for row in rows for value in row]
    )
    axes = helper.make_tensor("axes", tensor_proto.INT64, [1], [1])
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["embedded"], axis=0),
            helper.make_node("ReduceSum", ["embedded", "axes"], ["logits"], keepdims=0),
        ],
        "tiny-sentiment",
        [helper.make_tensor_value_info("input_ids", tensor_proto.INT64, [1, None])],
        [helper.make_tensor_value_info("logits", tensor_proto.FLOAT, [1, 3])],
        initializer=[table, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(directory / "model.onnx"))

    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = tokenizers.normalizers.Lowercase()
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"id2label": {"0": "negative", "1": "neutral", "2": "positive"}}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def test_an_onnx_model_scores_with_the_same_output_as_the_embedded_backend(
    tmp_path: Path,
) -> None:
    model_dir = make_tiny_onnx_model(tmp_path)
    scorer = build_scorer(SentimentSettings(backend="onnx", model_path=model_dir))
    bad = scorer.score("Zug schlecht", "de-DE")
    good = scorer.score("Zug gut", "de")
    plain = scorer.score("Zug", "de")
    assert (bad.label, bad.lang) == (Label.NEGATIVE, "de")
    assert bad.score < -0.9
    assert good.label is Label.POSITIVE and good.score > 0.9
    assert plain.label is Label.NEUTRAL and abs(plain.score) < 0.1
    assert dict(scorer.language_counts()) == {"de": 3}
    # The model's softmax rides along, for the detector to weigh each mention by.
    assert bad.probabilities is not None and sum(bad.probabilities) == pytest.approx(1.0)
    assert bad.p_negative > 0.9 and plain.p_neutral > bad.p_neutral


def test_an_onnx_file_path_finds_its_tokenizer_and_config(tmp_path: Path) -> None:
    make_tiny_onnx_model(tmp_path)
    scorer = build_scorer(SentimentSettings(backend="onnx", model_path=tmp_path / "model.onnx"))
    assert scorer.score("schlecht", "en").label is Label.NEGATIVE


def test_an_onnx_model_without_labels_is_an_error(tmp_path: Path) -> None:
    make_tiny_onnx_model(tmp_path)
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SentimentBackendError, match="id2label"):
        build_scorer(SentimentSettings(backend="onnx", model_path=tmp_path))


def test_the_transformers_backend_loads_a_local_directory_only(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    # A directory that is not a complete model must fail on load, not reach for a hub.
    with pytest.raises(SentimentBackendError, match="cannot load"):
        build_scorer(SentimentSettings(backend="transformers", model_path=tmp_path))


def test_a_missing_library_is_named(tmp_path: Path) -> None:
    if importlib.util.find_spec("transformers") is not None:
        pytest.skip("transformers is installed")
    with pytest.raises(SentimentBackendError, match="pip install transformers"):
        build_scorer(SentimentSettings(backend="transformers", model_path=tmp_path))

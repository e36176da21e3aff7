"""``shitstorm sentiment``: JSON lines from stdin, and --eval over a labelled TSV."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from monitor.sentiment import SentimentSettings
from monitor.sentiment.cli import run_sentiment

LEXICON = SentimentSettings(backend="lexicon")


def run(
    lang: str = "auto",
    eval_path: Path | None = None,
    stdin: str = "",
    settings: SentimentSettings | None = None,
) -> tuple[int, str]:
    out = io.StringIO()
    code = run_sentiment(lang, eval_path, settings or SentimentSettings(), io.StringIO(stdin), out)
    return code, out.getvalue()


def test_each_input_line_gets_one_json_line_in_order() -> None:
    lines = ["Nie wieder, was für eine Frechheit!", "", "I love this brand, it is the best ❤️"]
    code, out = run(stdin="".join(line + "\n" for line in lines))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["label"] for r in records] == ["negative", "neutral", "positive"]
    assert [r["lang"] for r in records] == ["de", "en", "en"]
    assert all(set(r) == {"label", "score", "lang", "probabilities"} for r in records)
    assert all(-1.0 <= r["score"] <= 1.0 for r in records)
    # The trained scorer's calibrated probabilities, the label the most probable of them.
    for record in records:
        probabilities = record["probabilities"]
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert max(probabilities, key=probabilities.__getitem__) == record["label"]


def test_the_rule_scorer_gives_labels_without_probabilities() -> None:
    code, out = run(stdin="Nie wieder, was für eine Frechheit!\n", settings=LEXICON)
    assert code == 0
    assert set(json.loads(out)) == {"label", "score", "lang"}


def test_lang_option_forces_the_language() -> None:
    code, out = run(lang="de", stdin="This is great\n")
    assert code == 0
    assert json.loads(out)["lang"] == "de"


def test_unknown_lang_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(lang="fr", stdin="x\n")
    assert (code, out) == (2, "")
    assert "--lang" in capsys.readouterr().err


def write_tsv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["id\tlabel\ttext"] + ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_prints_figures_confusion_and_exclusions(tmp_path: Path) -> None:
    tsv = write_tsv(
        tmp_path / "small.tsv",
        [
            ("1", "negative", "Was für eine Frechheit, nie wieder!"),
            ("2", "negative", "Der Zug fällt schon wieder aus :("),
            ("3", "positive", "Vielen Dank, super Service 😍"),
            ("4", "neutral", "Der Zug fährt um 10 Uhr ab Hamburg."),
            ("5", "mixed", "Gutes Essen, schlechter Service"),
        ],
    )
    code, out = run(lang="de", eval_path=tsv)
    assert code == 0
    assert "texts            4" in out
    assert "accuracy         1.000" in out
    assert "macro-F1         1.000" in out
    assert "macro-recall     1.000" in out
    assert "negative P/R/F1  1.000 / 1.000 / 1.000" in out
    assert "1 labelled 'mixed'" in out
    assert "  negative            2         0         0" in out
    assert "texts/second" in out


def test_eval_of_a_missing_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(eval_path=tmp_path / "absent.tsv")
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "absent.tsv" in err


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("text\tlabel\n", "header"),
        ("id\tlabel\ttext\n1\tangry\tGrr\n", "unknown label"),
        ("id\tlabel\ttext\n1\tnegative\n", "3 tab-separated columns"),
        ("id\tlabel\ttext\n", "no labelled rows"),
    ],
)
def test_eval_of_a_malformed_file_names_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, complaint: str
) -> None:
    tsv = tmp_path / "bad.tsv"
    tsv.write_text(content, encoding="utf-8")
    code, _ = run(eval_path=tsv)
    assert code == 2
    err = capsys.readouterr().err
    assert complaint in err
    assert "bad.tsv" in err


def test_a_missing_model_is_reported_with_its_settings_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = SentimentSettings(backend="onnx", model_path=tmp_path / "nowhere")
    code, out = run(stdin="text\n", settings=settings)
    assert (code, out) == (1, "")
    assert "sentiment.model_path" in capsys.readouterr().err

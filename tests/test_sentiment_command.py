"""``shitstorm sentiment --topic NAME --with-text``; a word on stderr when stdin is a terminal."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.sentiment import SentimentSettings
from monitor.sentiment.cli import run_sentiment
from tests.support import BASE_SETTINGS, write_settings

ROOT = Path(__file__).resolve().parents[1]
KILL_BILL = """
[[topics]]
name = "killbill"
terms = ["Kill Bill"]
languages = ["en"]
"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def shitstorm(*args: str, stdin: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "sentiment", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip


def test_with_text_echoes_each_input_beside_its_label() -> None:
    out = io.StringIO()
    lines = "Never again, worst service ever!\n\nThe shop opens at 9.\n"
    code = run_sentiment("en", None, SentimentSettings(), io.StringIO(lines), out, with_text=True)
    assert code == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["text"] for r in records] == [
        "Never again, worst service ever!",
        "",
        "The shop opens at 9.",
    ]
    assert records[0]["label"] == "negative"


def test_a_terminal_is_told_that_texts_are_awaited(capsys: pytest.CaptureFixture[str]) -> None:
    run_sentiment("en", None, SentimentSettings(), Terminal("Great!\n"), io.StringIO())
    assert "reading texts from standard input" in capsys.readouterr().err
    run_sentiment("en", None, SentimentSettings(), io.StringIO("Great!\n"), io.StringIO())
    assert capsys.readouterr().err == ""


def test_topic_option_neutralises_the_topics_terms(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, KILL_BILL)
    text = "Kill Bill is on TV tonight\n"
    plain = shitstorm("--lang", "en", stdin=text, config=config)
    topical = shitstorm(
        "--lang", "en", "--topic", "killbill", "--with-text", stdin=text, config=config
    )
    assert plain.returncode == topical.returncode == 0, plain.stderr + topical.stderr
    assert json.loads(plain.stdout)["label"] == "negative"
    assert json.loads(topical.stdout) | {"score": 0, "probabilities": {}} == {
        "label": "neutral", "score": 0, "lang": "en", "probabilities": {},
        "text": "Kill Bill is on TV tonight",
    }  # fmt: skip


def test_an_unknown_topic_is_a_usage_error_naming_the_configured_ones(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, KILL_BILL)
    result = shitstorm("--topic", "nope", stdin="x\n", config=config)
    assert (result.returncode, result.stdout) == (2, "")
    assert "unknown topic 'nope'" in result.stderr and "killbill" in result.stderr

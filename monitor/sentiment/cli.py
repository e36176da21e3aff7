"""``shitstorm sentiment``: score stdin line by line, or evaluate against a labelled TSV.

One JSON object per input line, in order (an empty line gets a neutral verdict, so output
line N always answers input line N), with the label's probabilities where the scorer gives
them; ``--with-text`` adds the text to it, ``--topic`` first neutralises that topic's terms,
as the daemon does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from monitor.sentiment import build_scorer
from monitor.sentiment.base import SentimentBackendError
from monitor.sentiment.config import SentimentSettings
from monitor.sentiment.evaluation import (
    EvaluationDataError,
    describe_exclusions,
    evaluate,
    read_labelled,
)
from monitor.sentiment.metrics import format_figures

LANG_CHOICES = ("auto", "de", "en")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def run_sentiment(
    lang: str,
    eval_path: Path | None,
    settings: SentimentSettings,
    stdin: TextIO,
    stdout: TextIO,
    *,
    terms: Sequence[str] = (),
    with_text: bool = False,
) -> int:
    """Runs the command and returns its exit code: 0, 2 for bad input, 1 for a broken backend.

    ``terms`` are the topic's search terms, neutralised before scoring. Errors are one line on
    stderr, naming the file or settings key, so stdout stays pure JSON.
    """
    if lang not in LANG_CHOICES:
        return _fail(f"--lang must be one of {', '.join(LANG_CHOICES)}, not {lang!r}")
    hint = None if lang == "auto" else lang
    try:
        scorer = build_scorer(settings, terms=terms)
    except SentimentBackendError as error:
        return _fail(str(error), EXIT_ERROR)
    if eval_path is None:
        if stdin.isatty():
            sys.stderr.write(
                "shitstorm sentiment: reading texts from standard input, one per line "
                "(Ctrl-D to end)\n"
            )
        for line in stdin:
            text = line.rstrip("\r\n")
            result = scorer.score(text, hint)
            record: dict[str, object] = {
                "label": result.label.value,
                "score": round(result.score, 4),
                "lang": result.lang,
            }
            if result.probabilities is not None:  # the rule scorers give none
                labels = ("negative", "neutral", "positive")
                record["probabilities"] = {
                    label: round(p, 4)
                    for label, p in zip(labels, result.probabilities, strict=True)
                }
            if with_text:
                record["text"] = text
            stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            stdout.flush()
        return EXIT_OK
    try:
        data = read_labelled(eval_path)
    except EvaluationDataError as error:
        return _fail(str(error))
    outcome = evaluate(data, scorer, hint)
    stdout.write(f"file             {eval_path}\n")
    stdout.write(f"language         {lang}\n")
    stdout.write(describe_exclusions(outcome.excluded) + "\n")
    stdout.write(format_figures(outcome.figures) + "\n")
    counts = ", ".join(f"{code} {n}" for code, n in sorted(scorer.language_counts().items()))
    stdout.write(f"languages        {counts} (fallbacks {scorer.fallback_count()})\n")
    stdout.write(f"texts/second     {outcome.texts_per_second:,.0f}\n")
    return EXIT_OK


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    sys.stderr.write(f"shitstorm sentiment: error: {message}\n")
    return code

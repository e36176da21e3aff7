"""Accuracy, speed, start-up time and memory of the sentiment backends on the shared dev sets.

Run from the repository root: ``python benchmarks/sentiment_bench.py`` (``make bench``).
The default backend (``embedded``: the trained models) and the rule scorers (``lexicon``) are
measured side by side. Each file is scored twice on one core: with its language as the source's
tag (the figures the targets are stated in), then with detection (``--lang auto``), whose speed
includes language ID. Start-up and memory are measured in a fresh interpreter per backend:
the seconds and resident megabytes from importing the package to the first scored text.
Speed is texts per CPU-second of this process (``time.process_time``), best of several passes:
on a shared machine, wall-clock time also counts the time other processes held the core.
Skips with a message when ``../shared/data/sentiment-dev`` is absent. ``--help`` lists the
options that measure a part of it (one backend, some files, more passes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.sentiment import SentimentSettings, build_scorer  # noqa: E402
from monitor.sentiment.evaluation import describe_exclusions, evaluate, read_labelled  # noqa: E402
from monitor.sentiment.metrics import LABELS, Figures, format_figures  # noqa: E402

DEV = ROOT / ".." / "shared" / "data" / "sentiment-dev"
TRAIN = ROOT / ".." / "shared" / "data" / "sentiment-train"
CPU_CLOCK = time.process_time
RESAMPLES = 2000  # bootstrap resamples of each dev set, seeded: the spread a figure has
ROUNDS = 5  # best of five timed passes, after one warm-up pass that loads lexicons and models
Backend = Literal["embedded", "lexicon"]
BACKENDS: tuple[Backend, ...] = ("embedded", "lexicon")

# Run in a fresh interpreter: resident memory before and after the scorer is built and has read
# one text per language, and the seconds that took.
_STARTUP = """
import json, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
started = time.perf_counter()
before = rss()
from monitor.sentiment import SentimentSettings, build_scorer
scorer = build_scorer(SentimentSettings(backend=sys.argv[1]))
scorer.score("Nie wieder diese Verspätungen, eine Zumutung!", "de")
scorer.score("Never again, the delays are a disgrace!", "en")
print(json.dumps({"seconds": time.perf_counter() - started, "before": before, "after": rss()}))
"""


def startup(backend: str) -> dict[str, float]:
    """Start-up seconds and resident MiB of a fresh process that builds ``backend``."""
    output = subprocess.run(
        [sys.executable, "-c", _STARTUP, backend],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(output)
    return result


def bootstrap(result: Figures, seed: int = 12) -> dict[str, tuple[float, float]]:
    """95 % intervals of negative F1, macro-F1 and macro-recall over resampled dev sets.

    A dev set is one draw of posts; a held-out set of the same kind is another. Resampling
    its posts (with replacement, as many as it has) shows how far a figure may move on such a
    set from chance alone, before any real difference between methods.
    """
    import numpy as np

    cells = np.array([[result.confusion[g][p] for p in LABELS] for g in LABELS], dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(int(cells.sum()), (cells / cells.sum()).ravel(), size=RESAMPLES)
    matrices = draws.reshape(RESAMPLES, len(LABELS), len(LABELS)).astype(float)
    hits = np.diagonal(matrices, axis1=1, axis2=2)
    gold = matrices.sum(axis=2)
    predicted = matrices.sum(axis=1)
    recall = np.divide(hits, gold, out=np.zeros_like(hits), where=gold > 0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    measures = {
        "negative F1": f1[:, 0],
        "macro-F1": f1.mean(axis=1),
        "macro-recall": recall.mean(1),
    }
    return {
        name: (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
        for name, values in measures.items()
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {cpu}, Python {platform.python_version()}"


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity on this platform)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--backend", choices=BACKENDS, action="append", help="only this backend (repeatable)"
    )
    parser.add_argument(
        "--files", default="*", metavar="GLOB", help="only the dev files matching GLOB (*.tsv)"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed passes, best counts")
    parser.add_argument("--no-startup", action="store_true", help="skip start-up and memory")
    args = parser.parse_args(argv)
    if not DEV.is_dir():
        print(f"sentiment bench skipped: {DEV.resolve()} is absent (shared dev data not available)")
        return 0
    backends: Sequence[Backend] = args.backend or BACKENDS
    if not args.no_startup:
        for backend in backends:
            measured = startup(backend)
            print(
                f"start-up {backend}: {measured['seconds']:.2f} s to the first scored texts, "
                f"resident memory {measured['before']:.0f} -> {measured['after']:.0f} MiB"
            )
    print(f"machine: {machine()}; {pin_to_one_core()}")
    files = sorted(DEV.glob(f"{args.files.removesuffix('.tsv')}.tsv"))
    summary: list[str] = []
    for path in files:
        data = read_labelled(path)
        lang = path.name.split("_", 1)[0]
        for backend in backends:
            settings = SentimentSettings(backend=backend)
            tagged = build_scorer(settings)
            evaluate(data, tagged, lang)  # warm-up: lexicons, caches
            best_tagged = min(
                (evaluate(data, tagged, lang, CPU_CLOCK) for _ in range(args.rounds)),
                key=lambda e: e.seconds,
            )
            detected = build_scorer(settings)
            evaluate(data, detected, None)  # counts the languages once: every pass sees the same
            counts = dict(detected.language_counts())
            best_detected = min(
                (evaluate(data, detected, None, CPU_CLOCK) for _ in range(args.rounds)),
                key=lambda e: e.seconds,
            )
            own = counts.get(lang, 0)
            share = own / max(1, sum(counts.values()))
            result = best_tagged.figures
            print()
            print(f"== {path.name} (language tag {lang!r}), backend {backend!r}")
            print(describe_exclusions(best_tagged.excluded))
            print(format_figures(result))
            intervals = bootstrap(result)
            print(
                "95 % bootstrap intervals: "
                + ", ".join(f"{name} {lo:.3f}-{hi:.3f}" for name, (lo, hi) in intervals.items())
            )
            print(f"texts/CPU-second, language tagged    {best_tagged.texts_per_second:>10,.0f}")
            print(f"texts/CPU-second, language detected  {best_detected.texts_per_second:>10,.0f}")
            print(
                f"with detection: macro-F1 {best_detected.figures.macro_f1:.3f}, "
                f"detected as {lang!r}: {own:,} of {sum(counts.values()):,} ({share:.1%})"
            )
            summary.append(
                f"{path.stem:<24} {backend:<9} negative F1 {result.negative.f1:.3f}  "
                f"macro-F1 {result.macro_f1:.3f}  macro-recall {result.macro_recall:.3f}  "
                f"{best_tagged.texts_per_second:>7,.0f} texts/s"
            )
    print()
    print("summary (language tagged):")
    print("\n".join(summary))
    if "lexicon" in backends and args.files == "*":
        print_training_sets()
    return 0


def print_training_sets() -> None:
    """The rule scorers on the German training sets, which their hand-tuning never saw.

    Set beside the trained models' out-of-fold figures (``make train-sentiment`` prints them),
    this compares the two on posts neither was tuned on: the dev sets favour the rules, which
    were tuned on them.
    """
    if not TRAIN.is_dir():
        return
    print()
    print(
        "lexicon backend on the German training sets (compare: make train-sentiment, out of fold)"
    )
    scorer = build_scorer(SentimentSettings(backend="lexicon"))
    for path in sorted(TRAIN.glob("de_*.tsv")):
        result = evaluate(read_labelled(path), scorer, "de").figures
        print(
            f"{path.stem:<28} negative F1 {result.negative.f1:.3f}  "
            f"macro-F1 {result.macro_f1:.3f}  macro-recall {result.macro_recall:.3f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())

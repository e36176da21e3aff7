"""Accuracy and speed of the embedded sentiment scorers on the shared dev sets.

Run from the repository root: ``python benchmarks/sentiment_bench.py`` (``make bench``).
Each file is scored twice on one core: with its language as the source's tag (the figures the
targets are stated in), then with detection (``--lang auto``), whose speed includes language ID.
Speed is texts per CPU-second of this process (``time.process_time``), best of several passes:
on a shared machine, wall-clock time also counts the time other processes held the core.
Skips with a message when ``../shared/data/sentiment-dev`` is absent.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.sentiment import SentimentSettings, build_scorer  # noqa: E402
from monitor.sentiment.evaluation import describe_exclusions, evaluate, read_labelled  # noqa: E402
from monitor.sentiment.metrics import format_figures  # noqa: E402

DEV = ROOT / ".." / "shared" / "data" / "sentiment-dev"
CPU_CLOCK = time.process_time
ROUNDS = 5  # best of five timed passes, after one warm-up pass that loads lexicons and models


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


def main() -> int:
    if not DEV.is_dir():
        print(f"sentiment bench skipped: {DEV.resolve()} is absent (shared dev data not available)")
        return 0
    print(f"machine: {machine()}; {pin_to_one_core()}")
    files = sorted(DEV.glob("*.tsv"))
    for path in files:
        data = read_labelled(path)
        lang = path.name.split("_", 1)[0]
        tagged = build_scorer(SentimentSettings())
        evaluate(data, tagged, lang)  # warm-up: lexicons, caches
        best_tagged = min(
            (evaluate(data, tagged, lang, CPU_CLOCK) for _ in range(ROUNDS)),
            key=lambda e: e.seconds,
        )
        detected = build_scorer(SentimentSettings())
        evaluate(data, detected, None)
        best_detected = min(
            (evaluate(data, detected, None, CPU_CLOCK) for _ in range(ROUNDS)),
            key=lambda e: e.seconds,
        )
        counts = detected.language_counts()
        share = counts.get(lang, 0) / max(1, sum(counts.values()))
        print()
        print(f"== {path.name} (language tag {lang!r})")
        print(describe_exclusions(best_tagged.excluded))
        print(format_figures(best_tagged.figures))
        print(f"texts/CPU-second, language tagged    {best_tagged.texts_per_second:>10,.0f}")
        print(f"texts/CPU-second, language detected  {best_detected.texts_per_second:>10,.0f}")
        print(
            f"with detection: macro-F1 {best_detected.figures.macro_f1:.3f}, "
            f"detected as {lang!r}: {share:.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Storms injected into real mention series: how many page somebody, how soon, at what cost.

Run from the repository root: ``python benchmarks/storm_bench.py`` (part of ``make bench``).

The five NAB realTweets series in ``../shared/data/nab`` are the baselines: real 5-minute
mention volumes of five companies over two months, bursts and all. Each gets a tone as real
topics have one (a negative share wandering from day to day around 15 %), and storms of four
shapes at random times of day and night (``monitor.offline.calibrate``), several seeds. Each
post is read as the default scorer read a labelled dev post of ``../shared/data/sentiment-dev``
with the same true label: its probabilities, drawn (``--reading probabilities``, the default,
as the live pipeline's buckets carry them), or only their most probable label (``--reading
labels``: the same draws, for comparison; the default run also prints that comparison at
``balanced``, storm by storm). Without the dev sets the readings shipped in
``monitor/data/reading_profile.json`` are used (``--write-profile`` rebuilds them). False pages
are counted on the same series without storms, outside NAB's labelled windows (real events of
unknown tone).

``--confusion`` only measures and prints the scorer's confusion matrix on the dev posts, and how
much evidence of a storm one post carries read as a label or as probabilities
(``benchmarks/post_evidence.py``);
``--sweep`` prints the false pages per topic-week at a range of opening bars, the curve the
sensitivities are calibrated from (``detectors/config.py``); ``--ceiling`` only prints what
best-case detectors that count labels catch at the same budget
(``benchmarks/storm_ceiling.py``), which the default run prints too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import post_evidence, storm_ceiling  # noqa: E402
from benchmarks.common import SHARED_DATA, machine  # noqa: E402
from detectors import DetectionSettings  # noqa: E402
from detectors.config import SENSITIVITIES  # noqa: E402
from monitor.offline import calibrate  # noqa: E402
from monitor.offline.reading import (  # noqa: E402
    DEFAULT_CONFUSION,
    LABELS,
    PROFILE_PATH,
    PostReader,
    profile_document,
    shipped_reader,
)

NAB_DIR = SHARED_DATA / "nab"
DEV_DIR = SHARED_DATA / "sentiment-dev"
DEV_FILES = {
    "en_tweeteval_val.tsv": "en",
    "de_sb10k_dev.tsv": "de",
    "de_potts_dev.tsv": "de",
    "de_germeval2017_dev.tsv": "de",
}
SEEDS = (0, 1, 2)


def measured_confusion(
    backend: str | None = None,
) -> Mapping[str, tuple[float, float, float]] | None:
    """Share of each true label's dev posts the default scorer calls negative/neutral/positive,
    the four dev files pooled with equal weight; None when the dev data is absent."""
    from monitor.sentiment import SentimentSettings, build_scorer
    from monitor.sentiment.evaluation import read_labelled
    from monitor.settings_values import build

    paths = [(DEV_DIR / name, lang) for name, lang in DEV_FILES.items()]
    if not all(path.is_file() for path, _ in paths):
        return None
    errors: list[str] = []
    # Built as settings.toml's [sentiment] table would be, so a wrong --backend is named.
    sentiment = build(SentimentSettings, {} if backend is None else {"backend": backend},
                      "sentiment", errors)  # fmt: skip
    if sentiment is None:
        raise SystemExit(f"storm benchmark: --backend: {'; '.join(errors)}")
    scorer = build_scorer(sentiment)
    rows: dict[str, list[tuple[float, float, float]]] = {label: [] for label in LABELS}
    for path, lang in paths:
        counts: dict[str, dict[str, int]] = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
        for row in read_labelled(path).rows:
            counts[row.label][scorer.score(row.text, lang).label] += 1
        for true, predicted in counts.items():
            total = sum(predicted.values())
            if total:
                rows[true].append(tuple(predicted[p] / total for p in LABELS))  # type: ignore[arg-type]
    return {
        label: tuple(statistics.fmean(r[i] for r in found) for i in range(3))  # type: ignore[misc]
        for label, found in rows.items()
    }


def measured_reader(backend: str | None, *, labels_only: bool = False) -> PostReader | None:
    """A reader with the probabilities the default scorer gives the dev posts of each true
    label; None when the dev data is absent or another backend (without them) is chosen."""
    files = {DEV_DIR / name: lang for name, lang in DEV_FILES.items()}
    if backend not in (None, "embedded") or not all(path.is_file() for path in files):
        return None
    probabilities = post_evidence.dev_probabilities(files)
    return PostReader.of_probabilities(probabilities, labels_only=labels_only)


def run(
    settings: DetectionSettings,
    reader: PostReader,
    seeds: tuple[int, ...] = SEEDS,
    quiet: bool = False,
) -> calibrate.CalibrationReport:
    files = sorted((NAB_DIR / "realTweets").glob("*.csv"))
    labels = NAB_DIR / "labels" / "windows.json"
    total = calibrate.CalibrationReport()
    for seed in seeds:
        per_seed = calibrate.CalibrationReport()
        for path in files:
            buckets, _, windows = storm_ceiling.toned_file(path, labels, seed, reader)
            report = calibrate.calibrate(
                buckets, settings, UTC, seed=seed, avoid=windows, reader=reader
            )
            per_seed.extend(report)
            if not quiet:
                caught = sum(r.caught for r in report.results)
                print(
                    f"  seed {seed} {path.stem:22} caught {caught}/{len(report.results)}, "
                    f"false pages {report.false_alarms} in {report.quiet_weeks:.1f} weeks"
                )
        if not quiet:
            for line in calibrate.summary_lines(per_seed):
                print(f"  seed {seed}: {line}")
        total.extend(per_seed)
    return total


def sweep(reader: PostReader, seeds: tuple[int, ...]) -> None:
    """False pages per topic-week on the storm-free series at a range of opening bars."""
    labels = NAB_DIR / "labels" / "windows.json"
    series = []
    for path in sorted((NAB_DIR / "realTweets").glob("*.csv")):
        for seed in seeds:
            buckets, _, windows = storm_ceiling.toned_file(path, labels, seed, reader)
            series.append((buckets, windows))
    print("opening bar -> false pages per topic-week (storm-free series, outside NAB windows):")
    for bar in (3.5, 3.75, 4.0, 4.25, 4.5):
        settings = DetectionSettings(threshold=bar, hold_threshold=min(3.0, bar))
        pages = weeks = 0.0
        for buckets, windows in series:
            judged = calibrate.alerts_of(buckets, settings, UTC)
            found, quiet = calibrate.false_alarms(judged, timedelta(days=7), windows)
            pages += found
            weeks += quiet
        print(f"  {bar:4.2f}: {pages:.0f} in {weeks:.0f} topic-weeks = {pages / weeks:.3f}")


def print_ceiling(reader: PostReader, seeds: tuple[int, ...], sensitivity: str) -> None:
    """What the best case catches on the same series and storms, at ``sensitivity``'s budget."""
    settings = DetectionSettings(sensitivity=sensitivity)
    files = sorted((NAB_DIR / "realTweets").glob("*.csv"))
    labels = NAB_DIR / "labels" / "windows.json"
    print(f"ceiling at sensitivity = {sensitivity!r} ({len(seeds)} seed(s)):")
    for name, expectation in storm_ceiling.BEST_CASES.items():
        runs = storm_ceiling.replay(
            files, labels, reader, seeds, settings.min_negative, expectation
        )
        for line in storm_ceiling.report_lines(runs, settings.false_alarms_per_week, name):
            print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confusion", action="store_true", help="only print the confusion matrix")
    parser.add_argument("--sensitivity", choices=SENSITIVITIES, default=None)
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    parser.add_argument("--sweep", action="store_true", help="false pages at a range of bars")
    parser.add_argument(
        "--ceiling", action="store_true", help="only what a best-case detector would catch"
    )
    parser.add_argument(
        "--backend", default=None, help="sentiment backend reading the posts (default: settings')"
    )
    parser.add_argument(
        "--reading",
        choices=("probabilities", "labels"),
        default="probabilities",
        help="the detector reads the posts' probabilities (default) or their labels only",
    )
    parser.add_argument(
        "--write-profile",
        action="store_true",
        help=f"only rewrite the shipped readings of the dev posts ({PROFILE_PATH.name})",
    )
    args = parser.parse_args()
    print(machine())
    confusion = measured_confusion(args.backend)
    if confusion is None:
        print(f"sentiment dev sets: {DEV_DIR.resolve()} absent: default confusion used")
        confusion = DEFAULT_CONFUSION
    print("scorer confusion (true label: share read negative / neutral / positive):")
    for label, row in confusion.items():
        print(f"  {label:8} " + " / ".join(f"{share:.2f}" for share in row))
    dev_files = {DEV_DIR / name: lang for name, lang in DEV_FILES.items()}
    probabilities = measured_reader(args.backend)
    if probabilities is not None:
        post_evidence.print_evidence(dev_files)
    if args.write_profile:
        if probabilities is None or probabilities.probabilities is None:
            raise SystemExit(
                "storm benchmark: --write-profile needs the dev sets and the default scorer"
            )
        PROFILE_PATH.write_text(profile_document(probabilities.probabilities))
        print(f"wrote {PROFILE_PATH}")
        return 0
    if args.confusion:
        return 0
    if not (NAB_DIR / "labels" / "windows.json").is_file():
        print(f"storm benchmark: {NAB_DIR.resolve()} is absent: skipped")
        return 0
    labels_only = PostReader(confusion)
    if probabilities is None and args.backend in (None, "embedded"):
        print("sentiment dev sets absent: posts read as the shipped readings of the dev posts")
        probabilities = shipped_reader()
    if probabilities is None:
        print(f"--backend {args.backend} gives no probabilities: posts read by label")
        reader = labels_only
    elif args.reading == "labels":
        # The same posts and draws, the detector given only their labels: the comparison.
        reader = replace(probabilities, labels_only=True)
    else:
        reader = probabilities
    reading = "probabilities" if reader.gives_probabilities else "labels"
    print(f"the detector reads the posts' {reading}")
    if args.sweep:
        sweep(reader, tuple(range(args.seeds)))
        return 0
    seeds = tuple(range(args.seeds))
    # The best cases judge label counts: they are the ceiling for a detector that reads labels.
    print_ceiling(labels_only, seeds, args.sensitivity or "balanced")
    if args.ceiling:
        return 0
    names = [args.sensitivity] if args.sensitivity else list(SENSITIVITIES)
    for name in names:
        settings = DetectionSettings(sensitivity=name)
        started = time.perf_counter()
        report = run(settings, reader, tuple(range(args.seeds)), quiet=name != "balanced")
        print(
            f"sensitivity = {name!r} ({len(report.results)} storms, "
            f"{time.perf_counter() - started:.0f} s):"
        )
        for line in calibrate.summary_lines(report):
            print(f"  {line}")
        if name == "balanced" and reader.gives_probabilities:
            print_paired(report, run(settings, replace(reader, labels_only=True), seeds, True))
    return 0


def print_paired(
    weighed: calibrate.CalibrationReport, counted: calibrate.CalibrationReport
) -> None:
    """The same posts and storms, the detector given only their labels: what reading the
    probabilities changed, storm by storm (a paired comparison, free of the draws' noise)."""
    print("  the same posts counted by label only:")
    for line in calibrate.summary_lines(counted):
        print(f"    {line}")
    pairs = list(zip(weighed.results, counted.results, strict=True))
    assert all(a.storm == b.storm for a, b in pairs), "the two runs placed different storms"
    for shape in dict.fromkeys(a.storm.shape.name for a, _ in pairs):
        mine = [(a.caught, b.caught) for a, b in pairs if a.storm.shape.name == shape]
        gained = sum(a and not b for a, b in mine)
        lost = sum(b and not a for a, b in mine)
        print(
            f"    {shape:9}  caught only reading probabilities {gained:2}, only by label {lost:2}"
        )


if __name__ == "__main__":
    raise SystemExit(main())

"""The commands that run the pipeline or a scorer off line: replay, demo, backtest, calibrate
and sentiment. None of them touches a running daemon; the tools are in ``monitor/offline/``."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFactory,
    config_path,
    duration,
    known_topic,
    open_store,
    settings_from,
)
from monitor.settings import Settings


def register(command: CommandFactory) -> None:
    replay = command(
        "replay", "run the pipeline over recorded mentions (JSONL) on a simulated clock"
    )
    replay.add_argument("file", type=Path, metavar="FILE.jsonl")
    replay.add_argument(
        "--strict", action="store_true", help="stop at the first bad line, replaying nothing"
    )
    replay.set_defaults(handler=cmd_replay)
    demo = command(
        "demo", "replay the bundled scenario (a calm week, then a storm) and show the alert"
    )
    demo.add_argument(
        "--keep",
        metavar="PATH",
        type=Path,
        help="keep the demo database at PATH (and its settings beside it, PATH.toml)",
    )
    demo.set_defaults(handler=cmd_demo)
    backtest = command("backtest", "run the detector and alert policy over a count series (CSV)")
    backtest.add_argument("series", type=Path, metavar="SERIES.csv")
    backtest.add_argument("--output", type=Path, metavar="OUT.csv")
    backtest.add_argument("--detector", metavar="NAME")
    backtest.add_argument("--labels", type=Path, metavar="windows.json")
    backtest.add_argument("--plot", type=Path, metavar="FILE.png")
    backtest.add_argument("--no-progress", action="store_true")
    backtest.add_argument(
        "--inject",
        action="store_true",
        help="read the series as mention volume, give it a tone, inject storms and say what "
        "each sensitivity would have caught",
    )
    backtest.set_defaults(handler=cmd_backtest)
    calibrate = command(
        "calibrate",
        "inject storms into a topic's stored history: what each sensitivity would have caught",
    )
    calibrate.add_argument("topic")
    calibrate.add_argument(
        "--since", type=duration, default=timedelta(days=30), metavar="30d",
        help="how much history, counted back from the topic's latest bucket (default 30d)",
    )  # fmt: skip
    calibrate.add_argument("--seeds", type=int, default=3, help="storm placements (default 3)")
    calibrate.set_defaults(handler=cmd_calibrate)
    sentiment = command("sentiment", "score texts from stdin (one per line) or --eval a TSV")
    sentiment.add_argument("--lang", default="auto", choices=("auto", "de", "en"))
    sentiment.add_argument("--eval", type=Path, metavar="FILE.tsv", dest="eval_path")
    sentiment.add_argument("--topic", metavar="NAME", help="neutralise this topic's terms first")
    sentiment.add_argument("--with-text", action="store_true", help="echo each text with its label")
    sentiment.set_defaults(handler=cmd_sentiment)


def cmd_replay(args: argparse.Namespace) -> int:
    from monitor.offline.replay import ReplayError, read_file

    settings = settings_from(args)
    try:
        recording = read_file(args.file, settings, strict=args.strict)
    except ReplayError as exc:
        print(f"shitstorm replay: {exc}", file=sys.stderr)
        if args.strict:
            print("shitstorm replay: nothing replayed (--strict)", file=sys.stderr)
        return EXIT_USAGE
    shown = recording.bad_lines[:MAX_BAD_LINES_SHOWN]
    for problem in shown:
        print(f"shitstorm replay: {problem}", file=sys.stderr)
    if len(recording.bad_lines) > len(shown):
        more = len(recording.bad_lines) - len(shown)
        print(f"shitstorm replay: ... and {more} more bad line(s)", file=sys.stderr)
    for (topic, source), (first, count) in recording.unconfigured.items():
        print(
            f"shitstorm replay: warning: topic {topic!r} configures no source {source!r} "
            f"({count} mention(s), first on line {first}); replayed as if it did",
            file=sys.stderr,
        )
    status = _replay(settings, recording, sys.stdout)
    return EXIT_FAILED if recording.bad_lines else status


MAX_BAD_LINES_SHOWN = 20


def _replay(settings: Settings, recording: object, stdout: TextIO) -> int:
    from monitor.offline.replay import Recording, replay
    from monitor.runtime.assembly import build_alerters
    from monitor.runtime.logs import setup_logging

    assert isinstance(recording, Recording)
    setup_logging("warning")
    store = open_store(settings)
    summary = replay(recording, store, settings, build_alerters(settings, stdout))
    extra = ""
    if recording.bad_lines:
        extra += f"; {len(recording.bad_lines)} bad line(s) skipped"
    unconfigured = sum(count for _, count in recording.unconfigured.values())
    if unconfigured:
        extra += f"; {unconfigured} mention(s) from sources the settings do not configure"
    print(
        f"replayed {summary.mentions} mentions in {summary.buckets} buckets: "
        f"{summary.incidents_opened} alert(s), {summary.notifications_sent} notification(s) "
        f"sent{extra}",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from monitor.offline.demo import demo_recording, demo_settings, write_demo_settings

    keep: Path | None = args.keep
    if keep is not None and keep.exists():
        print(f"shitstorm demo: {keep} exists; choose a new file", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="shitstorm-demo-") as folder:
        database = keep.resolve() if keep else Path(folder) / "demo.db"
        settings = demo_settings(database)
        print(
            "Replaying the bundled scenario: a calm week of mentions about 'acme', "
            "then a storm. The monitor prints what it would post to Slack.\n",
            flush=True,
        )
        status = _replay(settings, demo_recording(settings), sys.stdout)
        if keep is not None:
            write_demo_settings(database)
            config = keep.with_name(keep.name + ".toml")
            print(
                f"\nKept the demo database in {keep} and its settings in {config}.\n"
                "Look around with any command, e.g.:\n"
                f"  shitstorm --config {config} incidents show 1\n"
                f"  shitstorm --config {config} buckets acme --since 12h\n"
                f"  shitstorm --config {config} export buckets --format csv"
            )
        return status


def cmd_backtest(args: argparse.Namespace) -> int:
    from detectors.config import DetectionSettings
    from monitor.offline.backtest import run_backtest

    detection = DetectionSettings()
    if args.config or config_path(args).exists():
        detection = settings_from(args).detection
    if args.inject:
        from monitor.offline.backtest import run_injected

        return run_injected(args.series, detection, args.labels, sys.stdout)
    return run_backtest(
        args.series,
        output=args.output,
        detector=args.detector,
        labels=args.labels,
        plot=args.plot,
        settings=detection,
        progress=not args.no_progress,
        stdout=sys.stdout,
    )


def cmd_calibrate(args: argparse.Namespace) -> int:
    from alerts.incidents import DISMISSING_FEEDBACK
    from monitor.offline.calibrate import print_calibration

    settings = settings_from(args)
    if not known_topic(settings, args.topic, "calibrate"):
        return EXIT_USAGE
    topic = settings.topic(args.topic)
    store = open_store(settings)
    latest = store.last_bucket_end(topic.name)
    if latest is None:
        print(f"shitstorm calibrate: no stored buckets for {topic.name!r} yet", file=sys.stderr)
        return EXIT_USAGE
    buckets = [judged.bucket for judged in store.buckets(topic.name, latest - args.since)]
    # The topic's real incidents are real events, neither calm history nor false pages; those
    # somebody called "not a shitstorm" stay in, as the false pages they were.
    incidents = [
        (incident.opened_at, incident.resolved_at or latest)
        for incident in store.incidents(topic.name)
        if incident.feedback not in DISMISSING_FEEDBACK
    ]
    print(
        f"calibrating {topic.name!r} on its own history"
        + (f", leaving out its {len(incidents)} incident(s)" if incidents else ""),
        file=sys.stdout,
    )
    return print_calibration(
        buckets, settings.detection_for(topic), settings.zone(topic), sys.stdout,
        seeds=max(args.seeds, 1), avoid=incidents,
    )  # fmt: skip


def cmd_sentiment(args: argparse.Namespace) -> int:
    from monitor.sentiment.cli import run_sentiment
    from monitor.sentiment.config import SentimentSettings

    sentiment = SentimentSettings()
    terms: list[str] = []
    if args.config or config_path(args).exists() or args.topic is not None:
        settings = settings_from(args)
        sentiment = settings.sentiment
        if args.topic is not None:
            if not known_topic(settings, args.topic, "sentiment"):
                return 2
            terms = settings.topic(args.topic).terms
    return run_sentiment(
        args.lang,
        args.eval_path,
        sentiment,
        sys.stdin,
        sys.stdout,
        terms=terms,
        with_text=args.with_text,
    )

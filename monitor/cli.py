"""The ``shitstorm`` command: run the daemon, check settings, replay, inspect and act on incidents.

Every subcommand exits 0 on success, 2 on bad input (settings, arguments, files) with one line
per problem on stderr, and 1 when something failed at run time.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from monitor.settings import DEFAULT_CONFIG, ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from monitor.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("SHITSTORM_CONFIG") or DEFAULT_CONFIG)


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(config_path(args))


def now_utc() -> datetime:
    """The wall clock, read where the daemon reads it (``monitor.service``)."""
    from monitor import service

    return service.now_utc()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shitstorm",
        description="Early-warning monitor for online firestorms against your brand.",
    )
    commands = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--config",
            metavar="PATH",
            help=f"settings file (default: $SHITSTORM_CONFIG or ./{DEFAULT_CONFIG})",
        )
        return sub

    run = command("run", "run the monitor daemon until SIGTERM/SIGINT")
    run.set_defaults(handler=cmd_run)

    check = command("check-config", "validate the settings file and exit")
    check.set_defaults(handler=cmd_check_config)

    replay = command(
        "replay", "run the pipeline over recorded mentions (JSONL) on a simulated clock"
    )
    replay.add_argument("file", type=Path, metavar="FILE.jsonl")
    replay.set_defaults(handler=cmd_replay)

    demo = commands.add_parser(
        "demo", help="replay the bundled scenario (a calm week, then a storm) and show the alert"
    )
    demo.add_argument("--keep", metavar="DB", type=Path, help="keep the demo database here")
    demo.set_defaults(handler=cmd_demo)

    incidents = command("incidents", "list, show and act on incidents")
    actions = incidents.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="list incidents, newest first")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--topic")
    listing.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    listing.set_defaults(handler=cmd_incidents_list)
    show = actions.add_parser("show", help="show one incident with its history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    show.set_defaults(handler=cmd_incidents_show)
    for verb, help_text in (("ack", "acknowledge an incident"), ("resolve", "resolve an incident")):
        act = actions.add_parser(verb, help=help_text)
        act.add_argument("id", type=int)
        act.add_argument("--by", required=True, metavar="NAME", help="who is acting")
        act.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
        act.set_defaults(handler=cmd_incidents_act, verb=verb)

    backtest = command("backtest", "run the detector and alert policy over a count series (CSV)")
    backtest.add_argument("series", type=Path, metavar="SERIES.csv")
    backtest.add_argument("--output", type=Path, metavar="OUT.csv")
    backtest.add_argument("--detector", metavar="NAME")
    backtest.add_argument("--labels", type=Path, metavar="windows.json")
    backtest.add_argument("--plot", type=Path, metavar="FILE.png")
    backtest.add_argument("--no-progress", action="store_true")
    backtest.set_defaults(handler=cmd_backtest)

    sentiment = command("sentiment", "score texts from stdin (one per line) or --eval a TSV")
    sentiment.add_argument("--lang", default="auto", choices=("auto", "de", "en"))
    sentiment.add_argument("--eval", type=Path, metavar="FILE.tsv", dest="eval_path")
    sentiment.add_argument("--topic", metavar="NAME", help="neutralise this topic's terms first")
    sentiment.add_argument("--with-text", action="store_true", help="echo each text with its label")
    sentiment.set_defaults(handler=cmd_sentiment)

    silence = command("silence", "record incidents for TOPIC without paging anyone for a while")
    silence.add_argument("topic")
    silence.add_argument(
        "--for",
        dest="duration",
        type=_duration,
        required=True,
        metavar="DURATION",
        help='how long, e.g. "6h" or "2d"',
    )
    silence.add_argument("--reason", default=None)
    silence.add_argument("--by", default=None, metavar="NAME")
    silence.set_defaults(handler=cmd_silence)

    status = command("status", "one screen for ops: sources, topics, incidents, outbox, database")
    status.set_defaults(handler=cmd_status)

    buckets = command("buckets", "TOPIC's judged buckets with the detector's reasons")
    buckets.add_argument("topic")
    buckets.add_argument(
        "--since", type=_duration, default="24h", metavar="DURATION", help='default "24h"'
    )
    buckets.add_argument(
        "--all", action="store_true", help="every bucket, not only the notable ones"
    )
    buckets.set_defaults(handler=cmd_buckets)

    backup = command("backup", "copy the database consistently, also while the daemon runs")
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.set_defaults(handler=cmd_backup)

    sources = command("sources", "work with the configured sources")
    source_actions = sources.add_subparsers(metavar="ACTION")
    test = source_actions.add_parser("test", help="poll each configured source once and report")
    test.add_argument("--topic")
    test.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    test.set_defaults(handler=cmd_sources_test)

    return parser


# -- commands ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.service import Daemon, setup_logging

    settings = settings_from(args)
    setup_logging(settings.monitor.log_level)
    return Daemon(settings).run()


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    sources = sum(len(t.sources) for t in settings.topics)
    print(
        f"{settings.path}: ok — {len(settings.topics)} topic(s), {sources} source(s), "
        f"database {settings.monitor.database}"
    )
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from monitor.replay import ReplayError, read_file

    settings = settings_from(args)
    try:
        recording = read_file(args.file, settings)
    except ReplayError as exc:
        print(f"shitstorm replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _replay(settings, recording, sys.stdout)


def _replay(settings: Settings, recording: object, stdout: TextIO) -> int:
    from monitor.replay import Recording, replay
    from monitor.service import build_alerters, setup_logging

    assert isinstance(recording, Recording)
    setup_logging("warning")
    store = open_store(settings)
    summary = replay(recording, store, settings, build_alerters(settings, stdout))
    print(
        f"replayed {summary.mentions} mentions in {summary.buckets} buckets: "
        f"{summary.incidents_opened} alert(s), {summary.notifications_sent} notification(s) sent",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from monitor.demo import demo_recording, demo_settings

    with tempfile.TemporaryDirectory(prefix="shitstorm-demo-") as folder:
        database = args.keep or Path(folder) / "demo.db"
        settings = demo_settings(database)
        print(
            "Replaying the bundled scenario: a calm week of mentions about 'acme', "
            "then a storm. The monitor prints what it would post to Slack.\n",
            flush=True,
        )
        return _replay(settings, demo_recording(settings), sys.stdout)


def cmd_incidents_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    incidents = store.incidents(args.topic)
    if args.json:
        print(json.dumps([incident_json(i) for i in incidents], indent=2))
        return EXIT_OK
    if not incidents:
        print("no incidents")
        return EXIT_OK
    print(
        f"{'ID':>4}  {'TOPIC':<16} {'STATUS':<13} {'SEV':>3}  {'OPENED (UTC)':<17} "
        f"{'ACKNOWLEDGED':<17} RESOLVED"
    )
    for i in incidents:
        print(
            f"{i.id:>4}  {i.topic:<16} {i.status.value:<13} {i.peak_severity:>3}  "
            f"{_short(i.opened_at):<17} {_short(i.acknowledged_at):<17} {_short(i.resolved_at)}"
        )
    return EXIT_OK


def cmd_incidents_show(args: argparse.Namespace) -> int:
    store = open_store(settings_from(args))
    try:
        incident = store.incident(args.id)
    except KeyError:
        print(f"shitstorm incidents: no incident #{args.id}", file=sys.stderr)
        return EXIT_USAGE
    events = store.incident_events(incident.id)
    if args.json:
        data = incident_json(incident)
        data["events"] = [{"at": at.isoformat(), "kind": k, "actor": a} for at, k, a in events]
        print(json.dumps(data, indent=2))
        return EXIT_OK
    for key, value in incident_json(incident).items():
        print(f"{key:<18} {value if value is not None else '-'}")
    print("history:")
    for at, kind, actor in events:
        print(f"  {_short(at)}  {kind}{f' by {actor}' if actor else ''}")
    return EXIT_OK


def cmd_incidents_act(args: argparse.Namespace) -> int:
    from monitor.actions import act

    settings = settings_from(args)
    store = open_store(settings)
    action = "acknowledge" if args.verb == "ack" else "resolve"
    try:
        transition = act(store, settings, args.id, action, args.by, now_utc())
    except KeyError:
        print(f"shitstorm incidents: no incident #{args.id}", file=sys.stderr)
        return EXIT_USAGE
    incident = transition.incident
    assert incident is not None
    if not transition.events:
        print(f"incident #{incident.id} is already {incident.status.value}; nothing changed")
        return EXIT_OK
    print(f"incident #{incident.id} {incident.status.value} by {args.by}")
    return EXIT_OK


def cmd_backtest(args: argparse.Namespace) -> int:
    from detectors.config import DetectionSettings
    from monitor.backtest import run_backtest

    detection = DetectionSettings()
    if args.config or config_path(args).exists():
        detection = settings_from(args).detection
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


def cmd_sentiment(args: argparse.Namespace) -> int:
    from monitor.sentiment.cli import run_sentiment
    from monitor.sentiment.config import SentimentSettings

    sentiment = SentimentSettings()
    terms: list[str] = []
    if args.config or config_path(args).exists() or args.topic is not None:
        settings = settings_from(args)
        sentiment = settings.sentiment
        if args.topic is not None:
            if not _known_topic(settings, args.topic, "sentiment"):
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


def _duration(text: str) -> timedelta:
    """An argparse type for "6h", "2d", "30m": a bad one is a usage error naming the option."""
    from monitor.settings import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _known_topic(settings: Settings, name: str, command: str) -> bool:
    """Whether ``name`` is a configured topic; if not, say which ones are, on stderr."""
    try:
        settings.topic(name)
    except KeyError:
        known = ", ".join(t.name for t in settings.topics)
        print(f"shitstorm {command}: unknown topic {name!r} (configured: {known})", file=sys.stderr)
        return False
    return True


def cmd_silence(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not _known_topic(settings, args.topic, "silence"):
        return EXIT_USAGE
    duration: timedelta = args.duration
    store = open_store(settings)
    now = now_utc()
    store.add_silence(args.topic, now, now + duration, args.reason, args.by)
    print(
        f"{args.topic}: silenced until {_short(now + duration)} UTC — incidents are still "
        "recorded and posted, but nobody is paged"
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.status import render_status

    settings = settings_from(args)
    store = open_store(settings)
    print(render_status(store, settings, now_utc()))
    return EXIT_OK


def cmd_buckets(args: argparse.Namespace) -> int:
    from monitor.status import render_buckets

    settings = settings_from(args)
    if not _known_topic(settings, args.topic, "buckets"):
        return EXIT_USAGE
    span: timedelta = args.since
    store = open_store(settings)
    notable_from = None if args.all else settings.detection.hold_threshold
    print(render_buckets(store, args.topic, now_utc() - span, notable_from=notable_from))
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from monitor.store import Store

    settings = settings_from(args)
    if not settings.monitor.database.exists():
        print(f"shitstorm backup: no database at {settings.monitor.database}", file=sys.stderr)
        return EXIT_USAGE
    if args.path.exists():
        print(f"shitstorm backup: {args.path} exists; choose a new file", file=sys.stderr)
        return EXIT_USAGE
    store = Store(settings.monitor.database)
    try:
        store.backup(args.path)
    except (OSError, sqlite3.Error) as exc:
        print(f"shitstorm backup: {exc}", file=sys.stderr)
        return EXIT_FAILED
    size = args.path.stat().st_size
    print(f"backed up {settings.monitor.database} to {args.path} ({size / 1e6:.1f} MB)")
    return EXIT_OK


def cmd_sources_test(args: argparse.Namespace) -> int:
    from monitor.probe import probe_sources

    settings = settings_from(args)
    topics = settings.topics
    if args.topic is not None:
        topics = tuple(t for t in topics if t.name == args.topic)
        if not topics:
            print(f"shitstorm sources test: unknown topic {args.topic!r}", file=sys.stderr)
            return EXIT_USAGE
    failed = probe_sources(topics, now_utc(), sys.stdout)
    return EXIT_FAILED if failed else EXIT_OK


# -- helpers -----------------------------------------------------------------------------------


def open_store(settings: Settings) -> Store:
    """The configured database, migrated to the current schema."""
    from monitor.store import Store

    store = Store(settings.monitor.database)
    store.migrate()
    return store


def incident_json(incident: object) -> dict[str, object]:
    from monitor.models import Incident

    assert isinstance(incident, Incident)

    def opt(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": incident.id,
        "topic": incident.topic,
        "status": incident.status.value,
        # The incident's severity is the worst it reached; the current level rides along.
        "severity": incident.peak_severity,
        "current_severity": incident.severity,
        "opened_at": incident.opened_at.isoformat(),
        "acknowledged_at": opt(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": opt(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "feedback": incident.feedback,
        "escalations": incident.escalations,
    }


def _short(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


if __name__ == "__main__":
    sys.exit(main())

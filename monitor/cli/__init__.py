"""The ``shitstorm`` command: run the daemon, check settings, replay, inspect and act on incidents.

Every subcommand exits 0 on success, 2 on bad input (settings, arguments, files) with one line
per problem on stderr, and 1 when something failed at run time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from monitor.settings import DEFAULT_CONFIG, ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from monitor.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# What `incidents feedback` accepts, and the feedback stored (the Slack buttons' values).
FEEDBACK_VERDICTS = {
    "not-a-shitstorm": "not_a_shitstorm",
    "expected": "expected_campaign",
    "storm": "confirmed_storm",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_with_silence_verb(list(sys.argv[1:] if argv is None else argv)))
    if not hasattr(args, "handler"):
        (getattr(args, "usage_of", None) or parser).print_help()
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
    """The settings file, with the database ``--database`` names (which beats everything)."""
    settings = load_settings(config_path(args))
    if args.database is not None:
        monitor = dataclasses.replace(settings.monitor, database=args.database.resolve())
        settings = dataclasses.replace(settings, monitor=monitor)
    return settings


def now_utc() -> datetime:
    """The wall clock, read where the daemon reads it (``monitor.runtime.service``)."""
    from monitor.runtime import service

    return service.now_utc()


# -- the parser, one command group at a time ---------------------------------------------------

def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--config`` and ``--database``, accepted before the command and after it."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help=f"settings file (default: $SHITSTORM_CONFIG or ./{DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--database",
        metavar="PATH",
        type=Path,
        default=default,
        help="SQLite database to use instead of the configured one (e.g. a `demo --keep` file)",
    )


def build_parser() -> argparse.ArgumentParser:
    from monitor import __version__

    parser = argparse.ArgumentParser(
        prog="shitstorm",
        description="Early-warning monitor for online firestorms against your brand.",
    )
    parser.add_argument("--version", action="version", version=f"shitstorm {__version__}")
    _global_options(parser, None)
    # After the command the options must not reset what was given before it: SUPPRESS.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, help_text: str, group: Any = None) -> argparse.ArgumentParser:
        where = commands if group is None else group
        sub: argparse.ArgumentParser = where.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        sub.set_defaults(usage_of=sub)
        return sub

    _daemon_commands(command)
    _incident_commands(command)
    _data_commands(command)
    _setup_commands(command)
    return parser


CommandFactory = Callable[..., argparse.ArgumentParser]


def _daemon_commands(command: CommandFactory) -> None:
    command("run", "run the monitor daemon until SIGTERM/SIGINT").set_defaults(handler=cmd_run)
    status = command("status", "one screen for ops: sources, Slack, topics, incidents, outbox")
    status.set_defaults(handler=cmd_status)
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
        "--since", type=_duration, default=timedelta(days=30), metavar="30d",
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


def _incident_commands(command: CommandFactory) -> None:
    incidents = command("incidents", "list, show and act on incidents")
    actions = incidents.add_subparsers(metavar="ACTION")
    listing = command("list", "list incidents, newest first", actions)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--topic")
    listing.set_defaults(handler=cmd_incidents_list)
    show = command("show", "what the Slack message says, and the incident's timeline", actions)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="the notification payload as JSON")
    show.set_defaults(handler=cmd_incidents_show)
    for verb, help_text in (("ack", "acknowledge an incident"), ("resolve", "resolve an incident")):
        act = command(verb, help_text, actions)
        act.add_argument("id", type=int)
        act.add_argument("--by", required=True, metavar="NAME", help="who is acting")
        act.set_defaults(handler=cmd_incidents_act, verb=verb)
    feedback = command(
        "feedback", "judge an alert like the Slack buttons do (dismissing also resolves)", actions
    )
    feedback.add_argument("id", type=int)
    feedback.add_argument("verdict", choices=tuple(FEEDBACK_VERDICTS), metavar="VERDICT",
                          help=f"one of: {', '.join(FEEDBACK_VERDICTS)}")
    feedback.add_argument("--by", required=True, metavar="NAME", help="who is judging")
    feedback.set_defaults(handler=cmd_incidents_feedback)

    silence = command("silence", "page nobody about a topic for a while; list and lift silences")
    verbs = silence.add_subparsers(metavar="ACTION")
    add = command("add", "record TOPIC's incidents without paging anyone (the default)", verbs)
    add.add_argument("topic")
    add.add_argument(
        "--for",
        dest="duration",
        type=_duration,
        required=True,
        metavar="DURATION",
        help='how long, e.g. "6h" or "2d"',
    )
    add.add_argument("--reason", default=None)
    add.add_argument("--by", default=None, metavar="NAME")
    add.set_defaults(handler=cmd_silence)
    listing = command("list", "silences in force (--all: also planned and past ones)", verbs)
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(handler=cmd_silence_list)
    lift = command("lift", "end a silence now", verbs)
    lift.add_argument("id", type=int)
    lift.set_defaults(handler=cmd_silence_lift)


def _data_commands(command: CommandFactory) -> None:
    buckets = command("buckets", "TOPIC's judged buckets with the detector's reasons")
    buckets.add_argument("topic")
    buckets.add_argument(
        "--since",
        type=_duration,
        default="24h",
        metavar="DURATION",
        help='default "24h", counted back from the latest bucket',
    )
    buckets.add_argument(
        "--all", action="store_true", help="every bucket, not only the notable ones"
    )
    buckets.set_defaults(handler=cmd_buckets)
    export = command("export", "buckets, mentions or incidents as CSV or JSON")
    export.add_argument("table", choices=("buckets", "mentions", "incidents"))
    export.add_argument("--topic", help="one topic (default: every configured topic)")
    export.add_argument(
        "--since",
        type=_duration,
        metavar="DURATION",
        help='e.g. "7d", counted back from each topic\'s latest bucket (default: everything)',
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv", dest="fmt")
    export.add_argument("--output", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(handler=cmd_export)
    backup = command("backup", "copy the database consistently, also while the daemon runs")
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.set_defaults(handler=cmd_backup)


def _setup_commands(command: CommandFactory) -> None:
    check = command(
        "check-config", "validate the settings file and the credentials it needs, and exit"
    )
    check.set_defaults(handler=cmd_check_config)
    sources = command("sources", "work with the configured sources")
    source_actions = sources.add_subparsers(metavar="ACTION")
    test = command("test", "poll each configured source once and report", source_actions)
    test.add_argument("--topic")
    test.set_defaults(handler=cmd_sources_test)
    slack = command("slack", "work with the Slack connection")
    slack_actions = slack.add_subparsers(metavar="ACTION")
    slack_test = command(
        "test",
        "check the token, its scopes and the channels, and post (then delete) a test message",
        slack_actions,
    )
    slack_test.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="check this channel (repeatable; default: every configured one)",
    )
    slack_test.add_argument(
        "--dry-run", action="store_true", help="check only: post no test message"
    )
    slack_test.set_defaults(handler=cmd_slack_test)


def _with_silence_verb(argv: list[str]) -> list[str]:
    """``silence TOPIC --for 6h`` keeps working next to ``silence list`` and ``silence lift``."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in ("--config", "--database"):
            index += 2
            continue
        if token.startswith("-"):
            index += 1
            continue
        if token == "silence":
            rest = argv[index + 1 : index + 2]
            if rest and rest[0] not in ("add", "list", "lift", "-h", "--help"):
                return [*argv[: index + 1], "add", *argv[index + 1 :]]
        return argv
    return argv


# -- commands ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.credentials import check_credentials
    from monitor.runtime.service import Daemon, setup_logging

    settings = settings_from(args)
    report = check_credentials(settings)
    if report.errors:
        # The same check as check-config: a missing token must stop the start, not the alert.
        raise ConfigError([*report.errors, "shitstorm run: not started (fix the above first)"])
    setup_logging(settings.monitor.log_level)
    for warning in report.warnings:
        logging.getLogger("monitor.credentials").warning("%s", warning)
    return Daemon(settings).run()


def cmd_check_config(args: argparse.Namespace) -> int:
    from monitor.credentials import check_credentials

    settings = settings_from(args)
    report = check_credentials(settings)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.errors:
        raise ConfigError(report.errors)
    sources = sum(len(t.sources) for t in settings.topics)
    alerts = f"Slack channel {settings.slack.channel}" if settings.slack else "the console"
    print(
        f"{settings.path}: ok — {len(settings.topics)} topic(s), {sources} source(s), "
        f"alerts to {alerts}, database {settings.monitor.database}"
    )
    for credential in report.credentials:
        print(f"  {credential.var:<28} {credential.origin}  ({credential.key})")
    if settings.slack:
        print("next: `shitstorm slack test` checks the token, the channel and a test post")
    return EXIT_OK


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
    from monitor.runtime.service import build_alerters, setup_logging

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


def cmd_incidents_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    # A topic since removed from the settings still lists the incidents it had.
    known = args.topic is None or store.incidents(args.topic, limit=1)
    if not known and not _known_topic(settings, args.topic, "incidents list"):
        return EXIT_USAGE
    incidents = store.incidents(args.topic)
    if args.json:
        from monitor.cli.export import incident_row

        print(json.dumps([incident_row(i) for i in incidents], indent=2))
        return EXIT_OK
    if not incidents:
        print("no incidents" + (f" for {args.topic}" if args.topic else ""))
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
    from monitor.cli.incident_view import incident_snapshot, render_incident

    settings = settings_from(args)
    store = open_store(settings)
    try:
        incident = store.incident(args.id)
    except KeyError:
        print(f"shitstorm incidents: no incident #{args.id}", file=sys.stderr)
        return EXIT_USAGE
    if not _known_topic(settings, incident.topic, "incidents show"):
        return EXIT_USAGE
    now = now_utc()
    if args.json:
        data = incident_snapshot(store, settings, incident, now)
        events = store.incident_events(incident.id)
        data["events"] = [{"at": at.isoformat(), "kind": k, "actor": a} for at, k, a in events]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(render_incident(store, settings, incident, now))
    return EXIT_OK


def cmd_incidents_act(args: argparse.Namespace) -> int:
    action = "acknowledge" if args.verb == "ack" else "resolve"
    return _act(args, action, f"{{status}} by {args.by}")


def cmd_incidents_feedback(args: argparse.Namespace) -> int:
    feedback = FEEDBACK_VERDICTS[args.verdict]
    return _act(args, feedback, f"marked {args.verdict!r} by {args.by} ({{status}})")


def _act(args: argparse.Namespace, action: str, done: str) -> int:
    """Apply ``action`` exactly as a Slack button click does (``monitor.runtime.actions.act``)."""
    from monitor.runtime.actions import CannotAct, act

    settings = settings_from(args)
    store = open_store(settings)
    try:
        transition = act(store, settings, args.id, action, args.by, now_utc())
    except CannotAct as exc:
        print(f"shitstorm incidents: {exc}", file=sys.stderr)
        return EXIT_USAGE
    incident = transition.incident
    assert incident is not None
    if not transition.events:
        print(f"incident #{incident.id} is already {incident.status.value}"
              + (f" ({incident.feedback})" if incident.feedback else "") + "; nothing changed")
        return EXIT_OK
    print(f"incident #{incident.id} " + done.format(status=incident.status.value))
    return EXIT_OK


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
    if not _known_topic(settings, args.topic, "calibrate"):
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
    silence_id = store.add_silence(args.topic, now, now + duration, args.reason, args.by)
    print(
        f"{args.topic}: silenced until {_short(now + duration)} UTC (silence #{silence_id}) — "
        "incidents are still recorded and posted, but nobody is paged; "
        f"`shitstorm silence lift {silence_id}` ends it"
    )
    return EXIT_OK


def cmd_silence_list(args: argparse.Namespace) -> int:
    from monitor.cli.status import render_silences

    store = open_store(settings_from(args))
    now = now_utc()
    silences = store.silences() if args.all else store.silences(active_at=now)
    print(render_silences(silences, now))
    return EXIT_OK


def cmd_silence_lift(args: argparse.Namespace) -> int:
    store = open_store(settings_from(args))
    now = now_utc()
    found = [s for s in store.silences() if s.id == args.id]
    if not found:
        print(f"shitstorm silence lift: no silence #{args.id} (see `silence list --all`)",
              file=sys.stderr)
        return EXIT_USAGE
    silence = found[0]
    if silence.end_at <= now:
        print(f"silence #{silence.id} on {silence.topic} ended {_short(silence.end_at)} UTC "
              "already; nothing changed")
        return EXIT_OK
    store.end_silence(silence.id, max(now, silence.start_at))
    print(f"silence #{silence.id} lifted: {silence.topic} pages again from now on")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.cli.status import render_status

    settings = settings_from(args)
    store = open_store(settings)
    print(render_status(store, settings, now_utc()))
    return EXIT_OK


def cmd_buckets(args: argparse.Namespace) -> int:
    from monitor.cli.status import bucket_window, render_buckets

    settings = settings_from(args)
    if not _known_topic(settings, args.topic, "buckets"):
        return EXIT_USAGE
    store = open_store(settings)
    now = now_utc()
    since, until = bucket_window(store, args.topic, args.since, now)
    notable_from = None if args.all else settings.detection.hold_threshold
    print(render_buckets(store, args.topic, since, notable_from=notable_from, until=until, now=now))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from monitor.cli import export
    from monitor.cli.status import bucket_window

    settings = settings_from(args)
    if args.topic is not None and not _known_topic(settings, args.topic, "export"):
        return EXIT_USAGE
    topics = [args.topic] if args.topic else [t.name for t in settings.topics]
    store = open_store(settings)
    now = now_utc()
    since: dict[str, datetime | None] = dict.fromkeys(topics)
    for topic in topics if args.since else ():
        since[topic], until = bucket_window(store, topic, args.since, now)
        if now - until > timedelta(hours=1):
            print(f"shitstorm export: {topic}: --since counted back from its latest bucket "
                  f"({_short(until)} UTC)", file=sys.stderr)
    rows = export.rows(store, args.table, topics, since)
    if args.output is None:
        export.write(sys.stdout, args.table, rows, args.fmt)
        return EXIT_OK
    partial = args.output.with_name(args.output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = export.write(out, args.table, rows, args.fmt)
        partial.replace(args.output)
    except OSError as exc:
        print(f"shitstorm export: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {count} {args.table} to {args.output}", file=sys.stderr)
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
    from monitor.cli.probe import probe_sources

    settings = settings_from(args)
    topics = settings.topics
    if args.topic is not None:
        if not _known_topic(settings, args.topic, "sources test"):
            return EXIT_USAGE
        topics = tuple(t for t in topics if t.name == args.topic)
    failed = probe_sources(topics, now_utc(), sys.stdout)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_slack_test(args: argparse.Namespace) -> int:
    from alerts.slack_check import run_slack_test
    from monitor.secrets import SecretLookup, find_secret

    settings = settings_from(args)
    token = find_secret(settings.slack.token_env) if settings.slack else SecretLookup(None)
    print(f"Slack check ({settings.slack.api_url if settings.slack else 'not configured'})")
    report = run_slack_test(settings, token, channels=args.channel, post=not args.dry_run)
    print(report.render())
    return EXIT_FAILED if report.failed else EXIT_OK


# -- helpers -----------------------------------------------------------------------------------


def open_store(settings: Settings) -> Store:
    """The configured database, migrated to the current schema."""
    from monitor.store import Store

    store = Store(settings.monitor.database)
    store.migrate()
    return store


def _short(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


if __name__ == "__main__":
    sys.exit(main())

"""What is stored, for people and other tools: ``buckets``, ``export`` and ``backup``."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFactory,
    duration,
    known_topic,
    now_utc,
    open_store,
    settings_from,
    short,
)


def register(command: CommandFactory) -> None:
    buckets = command("buckets", "TOPIC's judged buckets with the detector's reasons")
    buckets.add_argument("topic")
    buckets.add_argument(
        "--since",
        type=duration,
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
        type=duration,
        metavar="DURATION",
        help='e.g. "7d", counted back from each topic\'s latest bucket (default: everything)',
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv", dest="fmt")
    export.add_argument("--output", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(handler=cmd_export)
    backup = command("backup", "copy the database consistently, also while the daemon runs")
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.set_defaults(handler=cmd_backup)


def cmd_buckets(args: argparse.Namespace) -> int:
    from monitor.cli.status import bucket_window, render_buckets

    settings = settings_from(args)
    if not known_topic(settings, args.topic, "buckets"):
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
    if args.topic is not None and not known_topic(settings, args.topic, "export"):
        return EXIT_USAGE
    topics = [args.topic] if args.topic else [t.name for t in settings.topics]
    store = open_store(settings)
    now = now_utc()
    since: dict[str, datetime | None] = dict.fromkeys(topics)
    for topic in topics if args.since else ():
        since[topic], until = bucket_window(store, topic, args.since, now)
        if now - until > timedelta(hours=1):
            print(
                f"shitstorm export: {topic}: --since counted back from its latest bucket "
                f"({short(until)} UTC)",
                file=sys.stderr,
            )
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

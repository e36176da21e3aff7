"""What every subcommand shares: exit codes, the settings and database it works on, the clock,
and the small parsers and checks that make its errors read alike."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from monitor.settings import DEFAULT_CONFIG, ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from monitor.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandFactory(Protocol):
    """Adds the subcommand ``name`` to the top level, or to ``group`` (the subparsers of a
    command with actions, like ``incidents``), and returns its parser."""

    def __call__(self, name: str, help_text: str, group: Any = None) -> argparse.ArgumentParser: ...


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


def open_store(settings: Settings) -> Store:
    """The configured database, migrated to the current schema."""
    from monitor.store import Store

    path = settings.monitor.database
    store = Store(path)
    try:
        store.migrate()
    except sqlite3.Error as exc:
        store.close()
        raise ConfigError([f"monitor.database: cannot use {path}: {exc}"]) from None
    return store


def duration(text: str) -> timedelta:
    """An argparse type for "6h", "2d", "30m": a bad one is a usage error naming the option."""
    from monitor.settings_values import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def known_topic(settings: Settings, name: str, command: str) -> bool:
    """Whether ``name`` is a configured topic; if not, say which ones are, on stderr."""
    try:
        settings.topic(name)
    except KeyError:
        known = ", ".join(t.name for t in settings.topics)
        print(f"shitstorm {command}: unknown topic {name!r} (configured: {known})", file=sys.stderr)
        return False
    return True


def short(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"

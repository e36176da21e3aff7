"""``shitstorm run`` (the daemon) and ``shitstorm status`` (one screen of how it is doing)."""

from __future__ import annotations

import argparse
import logging

from monitor.cli.common import EXIT_OK, CommandFactory, now_utc, open_store, settings_from
from monitor.settings import ConfigError


def register(command: CommandFactory) -> None:
    command("run", "run the monitor daemon until SIGTERM/SIGINT").set_defaults(handler=cmd_run)
    status = command("status", "one screen for ops: sources, Slack, topics, incidents, outbox")
    status.set_defaults(handler=cmd_status)


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.credentials import check_credentials
    from monitor.runtime.logs import setup_logging
    from monitor.runtime.service import Daemon

    settings = settings_from(args)
    report = check_credentials(settings)
    if report.errors:
        # The same check as check-config: a missing token must stop the start, not the alert.
        raise ConfigError([*report.errors, "shitstorm run: not started (fix the above first)"])
    setup_logging(settings.monitor.log_level)
    for warning in report.warnings:
        logging.getLogger("monitor.credentials").warning("%s", warning)
    return Daemon(settings).run()


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.cli.status import render_status

    settings = settings_from(args)
    store = open_store(settings)
    print(render_status(store, settings, now_utc()))
    return EXIT_OK

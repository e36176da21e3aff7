"""Is it set up right? ``check-config``, ``sources test`` and ``slack test``."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFactory,
    known_topic,
    now_utc,
    settings_from,
)
from monitor.settings import ConfigError


def register(command: CommandFactory) -> None:
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


def cmd_sources_test(args: argparse.Namespace) -> int:
    from monitor.cli.probe import probe_sources

    settings = settings_from(args)
    topics = settings.topics
    if args.topic is not None:
        if not known_topic(settings, args.topic, "sources test"):
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

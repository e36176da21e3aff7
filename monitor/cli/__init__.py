"""The ``shitstorm`` command: run the daemon, check settings, replay, inspect and act on incidents.

Every subcommand exits 0 on success, 2 on bad input (settings, arguments, files) with one line
per problem on stderr, and 1 when something failed at run time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.cli import (
    daemon_commands,
    data_commands,
    incident_commands,
    offline_commands,
    setup_commands,
)
from monitor.cli.common import EXIT_OK, EXIT_USAGE
from monitor.cli.incident_commands import with_silence_verb
from monitor.settings import DEFAULT_CONFIG, ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_silence_verb(list(sys.argv[1:] if argv is None else argv)))
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

    # In this order, which is the order `shitstorm --help` lists them in.
    daemon_commands.register(command)
    offline_commands.register(command)
    incident_commands.register(command)
    data_commands.register(command)
    setup_commands.register(command)
    return parser


if __name__ == "__main__":
    sys.exit(main())

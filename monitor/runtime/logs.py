"""How the process logs: one line per event on stderr, for the daemon and the commands alike."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping


def setup_logging(level: str = "info", environ: Mapping[str, str] | None = None) -> None:
    """One line per event on stderr; no timestamps under systemd, whose journal adds its own."""
    env = os.environ if environ is None else environ
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not env.get("INVOCATION_ID"):
        fmt = "%(asctime)s " + fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Request logs from httpx would print every poll's URL (and its query) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

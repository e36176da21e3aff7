"""Tell systemd how the daemon is doing (``Type=notify``), in pure Python.

The protocol is one datagram of ``KEY=VALUE`` lines to the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Outside systemd the
variable is unset and every call is a cheap no-op that returns False, so the daemon, the tests
and ``shitstorm demo`` run the same code.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import timedelta

log = logging.getLogger(__name__)


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (newline-separated ``KEY=VALUE`` pairs) to systemd.

    Returns False when not run under systemd or when the socket cannot be reached; a failed
    notification is logged but never raised, because it must not take the daemon down.
    """
    env = os.environ if environ is None else environ
    address = _socket_address(env.get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.warning("sd_notify to %r failed: %s", env.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def ready(environ: Mapping[str, str] | None = None) -> bool:
    """Startup (or a reload) is complete: the database is migrated and the scheduler runs."""
    return notify("READY=1", environ)


def reloading(monotonic_usec: int, environ: Mapping[str, str] | None = None) -> bool:
    """A reload has started; send :func:`ready` when it is done.

    systemd >= 253 (``Type=notify-reload``) matches the reload by ``MONOTONIC_USEC``, the
    ``CLOCK_MONOTONIC`` time in microseconds; the caller reads the clock, this module does not.
    """
    return notify(f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec}", environ)


def stopping(environ: Mapping[str, str] | None = None) -> bool:
    """Shutdown has begun, so systemd shows "deactivating" while the outbox is flushed."""
    return notify("STOPPING=1", environ)


def watchdog(environ: Mapping[str, str] | None = None) -> bool:
    """Feed the watchdog. Call it from a scheduler job, so a hung scheduler starves it."""
    return notify("WATCHDOG=1", environ)


def status(text: str, environ: Mapping[str, str] | None = None) -> bool:
    """A one-line status shown by ``systemctl status``; newlines would end the field early."""
    one_line = " ".join(text.split())
    return notify(f"STATUS={one_line}", environ)


def watchdog_interval(environ: Mapping[str, str] | None = None) -> timedelta | None:
    """How often systemd expects :func:`watchdog`, or None when the watchdog is off for us.

    ``WATCHDOG_PID``, when set, names the process the watchdog is meant for; a child that
    inherited the environment must not feed it. Feed at half this interval or more often.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return timedelta(microseconds=int(usec))


def _socket_address(value: str) -> str | bytes | None:
    """The connectable address for ``$NOTIFY_SOCKET``, or None when it is unusable."""
    if value.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of the '@'.
        return b"\0" + value[1:].encode("utf-8")
    if value.startswith("/"):
        return value
    # Unset, empty, or a vsock address ("vsock:...") that a plain service never gets.
    return None

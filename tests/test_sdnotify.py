"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.runtime import sdnotify


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(1.0)
    try:
        yield sock, {"NOTIFY_SOCKET": address}
    finally:
        sock.close()


@pytest.fixture
def abstract_socket() -> Iterator[tuple[socket.socket, dict[str, str]]]:
    if not sys.platform.startswith("linux"):
        pytest.skip("abstract sockets are Linux-only")
    name = f"shitstorm-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(1.0)
    try:
        yield sock, {"NOTIFY_SOCKET": f"@{name}"}
    finally:
        sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode("utf-8")


def test_ready_reaches_a_path_socket(path_socket: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = path_socket
    assert sdnotify.ready(env) is True
    assert received(sock) == "READY=1"


def test_messages_reach_an_abstract_socket(
    abstract_socket: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = abstract_socket
    assert sdnotify.watchdog(env) is True
    assert received(sock) == "WATCHDOG=1"
    assert sdnotify.stopping(env) is True
    assert received(sock) == "STOPPING=1"


def test_reloading_carries_the_monotonic_time(
    path_socket: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = path_socket
    assert sdnotify.reloading(123_456_789, env)
    assert received(sock).splitlines() == ["RELOADING=1", "MONOTONIC_USEC=123456789"]


def test_status_is_flattened_to_one_line(
    path_socket: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = path_socket
    assert sdnotify.status("3 topics\npolling  ok", env)
    assert received(sock) == "STATUS=3 topics polling ok"


def test_notify_sends_one_datagram_per_call(
    path_socket: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = path_socket
    assert sdnotify.notify("READY=1\nSTATUS=up", env)
    assert received(sock) == "READY=1\nSTATUS=up"


@pytest.mark.parametrize("value", [None, "", "relative/path", "vsock:2:1234"])
def test_notify_outside_systemd_is_a_no_op(value: str | None) -> None:
    env = {} if value is None else {"NOTIFY_SOCKET": value}
    assert sdnotify.notify("READY=1", env) is False
    assert sdnotify.ready(env) is False


def test_a_vanished_socket_is_reported_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}
    assert sdnotify.ready(env) is False
    assert "sd_notify" in caplog.text


def test_watchdog_interval_from_the_environment() -> None:
    env = {"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": str(os.getpid())}
    assert sdnotify.watchdog_interval(env) == timedelta(minutes=2)
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "500000"}) == timedelta(seconds=0.5)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "soon"},
        # Meant for another process (we inherited the environment from it).
        {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid() + 1)},
        {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "x"},
    ],
)
def test_watchdog_interval_is_none_when_not_for_us(env: dict[str, str]) -> None:
    assert sdnotify.watchdog_interval(env) is None

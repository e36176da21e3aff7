"""``shitstorm run`` as a real subprocess: it polls, answers HTTP, and stops cleanly on signals."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.store import Store
from tests.sources_support import Canned, FakeAPI
from tests.support import ALERTS, TOPIC, at, write_settings

ROOT = Path(__file__).resolve().parents[1]

SETTINGS = """
[monitor]
database = "monitor.db"
bucket = "2s"
lateness = "1s"
"""


class Daemon:
    """A ``shitstorm run`` child process whose stderr is read line by line."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            cwd=config.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []

    def wait_for(self, needle: str, timeout: float = 20.0) -> str:
        """Read stderr until a line contains ``needle``; fail after ``timeout`` seconds."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stderr], [], [], 0.2)
            if ready:
                line = self.process.stderr.readline()
                if not line:
                    break
                self.lines.append(line)
                if needle in line:
                    return line
        pytest.fail(f"no {needle!r} in the daemon's log:\n{''.join(self.lines)}")

    def log_so_far(self) -> str:
        """The log, with whatever the daemon has written since last read (without waiting)."""
        assert self.process.stderr is not None
        while select.select([self.process.stderr], [], [], 0)[0]:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line)
        return self.log

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=timeout)
        self.lines.append(err)
        return self.process.returncode

    @property
    def log(self) -> str:
        return "".join(self.lines)


def config_for(folder: Path, base_url: str) -> Path:
    source = f"""
[[topics.sources]]
type = "hackernews"
interval = "1s"
base_url = "{base_url}/api/v1/"
"""
    return write_settings(
        folder, SETTINGS, ALERTS, '[http]\nlisten = "127.0.0.1:0"\n', TOPIC, source
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_polls_then_stops_on_a_signal_with_status_0(
    tmp_path: Path, hn_api: str, signum: int
) -> None:
    daemon = Daemon(config_for(tmp_path, hn_api))
    daemon.wait_for("acme/hackernews: polled")
    assert daemon.stop(signum) == 0, daemon.log
    assert "stopped" in daemon.log
    store = Store(tmp_path / "monitor.db")
    assert store.source_state("acme", "hackernews") is not None


def test_logs_carry_timestamps_except_under_systemd(tmp_path: Path, hn_api: str) -> None:
    daemon = Daemon(config_for(tmp_path, hn_api), env={"INVOCATION_ID": "abc"})
    line = daemon.wait_for("acme/hackernews: polled")
    assert line.startswith("INFO monitor.pipeline:")
    assert daemon.stop() == 0


def test_a_source_answering_garbage_is_logged_and_the_daemon_keeps_running(
    tmp_path: Path,
) -> None:
    api = FakeAPI()
    api.add(
        "GET",
        "/api/v1/search_by_date",
        Canned(200, b"<html>maintenance</html>", {"content-type": "text/html"}),
    )
    with api.serve() as base_url:
        daemon = Daemon(config_for(tmp_path, base_url))
        line = daemon.wait_for("poll failed")
        assert "acme/hackernews" in line and "expected JSON" in line
        daemon.wait_for("poll failed")  # polled again: still alive
        assert daemon.stop() == 0


def test_health_endpoint_answers_over_http(tmp_path: Path, hn_api: str) -> None:
    daemon = Daemon(config_for(tmp_path, hn_api))
    line = daemon.wait_for("HTTP endpoint on")
    url = line.rsplit(" ", 1)[-1].strip()
    daemon.wait_for("acme/hackernews: polled")
    metrics = httpx.get(f"{url}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert 'shitstorm_mentions_ingested_total{source="hackernews",topic="acme"}' in metrics.text
    assert httpx.get(f"{url}/healthz", timeout=5).status_code in (200, 503)
    assert daemon.stop() == 0


def test_sighup_reloads_a_good_file_and_keeps_the_old_settings_on_a_broken_one(
    tmp_path: Path, hn_api: str
) -> None:
    config = config_for(tmp_path, hn_api)
    daemon = Daemon(config)
    daemon.wait_for("acme/hackernews: polled")
    good = config.read_text() + '\n[[topics]]\nname = "globex"\nterms = ["Globex"]\n'
    config.write_text(good)
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("settings reloaded")
    config.write_text(good.replace('interval = "1s"', 'interval = "1 sec"'))
    daemon.process.send_signal(signal.SIGHUP)
    line = daemon.wait_for("reload rejected: topics[0].sources[0].interval")
    assert "invalid duration" in line
    daemon.wait_for("still running on the previous settings")
    daemon.wait_for("acme/hackernews: polled")  # and it keeps polling
    assert daemon.stop() == 0


def test_webhook_pushes_are_stored_once(tmp_path: Path, hn_api: str) -> None:
    import hashlib
    import hmac
    import json

    config = config_for(tmp_path, hn_api)
    config.write_text(config.read_text() + '\n[[topics.sources]]\ntype = "webhook"\n')
    daemon = Daemon(config, env={"SHITSTORM_WEBHOOK_SECRET": "s3cret"})
    url = daemon.wait_for("HTTP endpoint on").rsplit(" ", 1)[-1].strip()
    body = json.dumps(
        [
            {
                "id": "v1",
                "source": "brandwatch",
                "created_at": "2026-03-02T12:00:00Z",
                "text": "Acme ist eine Frechheit",
                "lang": "de",
            },
            {
                "id": "v2",
                "source": "brandwatch",
                "created_at": "2026-03-02T12:00:01Z",
                "text": "Acme is great",
            },
        ]
    ).encode()
    signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    headers = {"X-Shitstorm-Signature": signature, "Content-Type": "application/json"}
    first = httpx.post(f"{url}/ingest/acme", content=body, headers=headers, timeout=5)
    again = httpx.post(f"{url}/ingest/acme", content=body, headers=headers, timeout=5)
    assert (first.status_code, first.json()) == (202, {"accepted": 2, "new": 2})
    assert again.json() == {"accepted": 2, "new": 0}
    forged = httpx.post(f"{url}/ingest/acme", content=body + b" ", headers=headers, timeout=5)
    assert forged.status_code == 401
    assert daemon.stop() == 0
    store = Store(tmp_path / "monitor.db")
    stored = store.mentions("acme", at(12), at(13))
    assert [(m.mention.id, m.label.value) for m in stored] == [
        ("v1", "negative"),
        ("v2", "positive"),
    ]
    # Pushed mentions keep the trained scorer's probabilities, as polled ones do.
    v1, v2 = stored
    assert v1.p_negative is not None and v2.p_negative is not None
    assert v1.p_negative > 0.5 > v2.p_negative and v2.p_neutral is not None


def test_status_and_sources_test_commands(tmp_path: Path, hn_api: str) -> None:
    config = config_for(tmp_path, hn_api)
    tested = subprocess.run(
        [sys.executable, "-m", "monitor", "sources", "test", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tested.returncode == 0, tested.stderr
    assert "acme/hackernews (hackernews): ok — 0 mention(s)" in tested.stdout
    daemon = Daemon(config)
    daemon.wait_for("acme/hackernews: polled")
    assert daemon.stop() == 0
    status = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert "acme/hackernews" in status.stdout and "OUTBOX    0 pending" in status.stdout


def test_sources_test_reports_a_failing_source(tmp_path: Path) -> None:
    api = FakeAPI()
    api.add("GET", "/api/v1/search_by_date", Canned(401, b'{"message": "nope"}'))
    with api.serve() as base_url:
        tested = subprocess.run(
            [
                sys.executable,
                "-m",
                "monitor",
                "sources",
                "test",
                "--config",
                str(config_for(tmp_path, base_url)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert tested.returncode == 1
    assert "FAILED" in tested.stdout and "check your token" in tested.stdout


def test_systemd_notifications_ready_watchdog_and_stopping(tmp_path: Path, hn_api: str) -> None:
    import socket

    address = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(address))
    listener.settimeout(20)
    try:
        daemon = Daemon(
            config_for(tmp_path, hn_api),
            env={"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "2000000"},
        )
        received: list[str] = []
        while not any("WATCHDOG=1" in m for m in received):
            received.append(listener.recv(4096).decode())
        assert any(m.startswith("READY=1") for m in received)
        assert daemon.stop() == 0
        while not any("STOPPING=1" in m for m in received):
            received.append(listener.recv(4096).decode())
    finally:
        listener.close()

"""SIGHUP applies exactly what ``check-config`` accepts, and a new database is migrated first.

In-process against ``Daemon.reload`` (what the SIGHUP handler calls), and once as a real
``shitstorm run`` subprocess getting a real SIGHUP.
"""

from __future__ import annotations

import io
import signal
import sqlite3
from pathlib import Path

import pytest

from monitor.runtime.service import Daemon
from monitor.settings import load_settings
from monitor.store import Store
from tests.sources_support import Canned, FakeAPI
from tests.support import ALERTS, TOPIC, write_settings
from tests.test_daemon import Daemon as DaemonProcess
from tests.test_daemon import config_for

SOURCE = """
[[topics.sources]]
type = "hackernews"
interval = "60s"
base_url = "http://127.0.0.1:9/api/v1/"
"""


def source_with(change: str) -> str:
    """SOURCE with one key set to a new value (``change`` is its TOML line)."""
    lines = {"interval": 'interval = "60s"', "base_url": 'base_url = "http://127.0.0.1:9/api/v1/"'}
    lines[change.split("=")[0].strip()] = change
    return '\n[[topics.sources]]\ntype = "hackernews"\n' + "\n".join(lines.values()) + "\n"


def config(folder: Path, database: str = "one.db", source: str = SOURCE) -> Path:
    monitor = f'[monitor]\ndatabase = "{database}"\n'
    return write_settings(folder, monitor, ALERTS, "[http]\nenabled = false\n", TOPIC, source)


def daemon_on(path: Path) -> Daemon:
    daemon = Daemon(load_settings(path, {}), stdout=io.StringIO(), environ={})
    daemon.store().migrate()
    return daemon


def test_a_reload_to_a_new_database_migrates_it_before_any_job_runs(tmp_path: Path) -> None:
    path = config(tmp_path)
    daemon = daemon_on(path)
    config(tmp_path, database="two.db")

    assert daemon.reload()

    assert daemon.settings.monitor.database == tmp_path / "two.db"
    fresh = Store(tmp_path / "two.db")
    assert fresh.schema_version > 0
    assert fresh.source_state("acme", "hackernews") is None  # the tables exist: no error
    daemon._maintain()  # a job on the new database: no "no such table"


@pytest.mark.parametrize("kind", ["not a database", "a directory"])
def test_a_reload_to_an_unusable_database_is_refused(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = config(tmp_path)
    daemon = daemon_on(path)
    target = tmp_path / "broken.db"
    if kind == "a directory":
        target.mkdir()
    else:
        target.write_bytes(b"this is not SQLite " * 100)
    config(tmp_path, database="broken.db")

    assert not daemon.reload()

    assert daemon.settings.monitor.database == tmp_path / "one.db"
    rejected = [r.getMessage() for r in caplog.records if "reload rejected" in r.getMessage()]
    assert any(f"monitor.database: cannot use {target}" in line for line in rejected)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ('interval = "9999999999d"', "topics[0].sources[0].interval"),
        ('interval = "0s"', "topics[0].sources[0].interval"),
        ('timeout = "0s"', "topics[0].sources[0].timeout"),
        ("max_pages = 0", "topics[0].sources[0].max_pages"),
        ("max_pages = 12345678901234567890", "topics[0].sources[0].max_pages"),
        ('base_url = "not a url"', "topics[0].sources[0].base_url"),
        ('deadline = "0s"', "topics[0].sources[0].deadline"),
        ('max_response_size = "100GB"', "topics[0].sources[0].max_response_size"),
    ],
)
def test_a_reload_with_what_check_config_rejects_keeps_the_old_settings(
    tmp_path: Path, change: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = config(tmp_path)
    daemon = daemon_on(path)
    before = daemon.settings
    config(tmp_path, source=source_with(change))

    assert not daemon.reload()

    assert daemon.settings is before
    assert any(r.getMessage().startswith(f"reload rejected: {key}:") for r in caplog.records)


def test_sighup_to_a_new_database_keeps_the_daemon_polling_into_it(tmp_path: Path) -> None:
    api = FakeAPI()
    api.add("GET", "/api/v1/search_by_date", Canned.payload("hackernews", "empty.json"))
    with api.serve() as base_url:
        path = config_for(tmp_path, base_url.rstrip("/"))
        daemon = DaemonProcess(path)
        try:
            daemon.wait_for("acme/hackernews: polled")
            path.write_text(
                path.read_text().replace('database = "monitor.db"', 'database = "new.db"')
            )
            daemon.process.send_signal(signal.SIGHUP)
            daemon.wait_for("settings reloaded")
            daemon.wait_for("acme/hackernews: polled")
            path.write_text(path.read_text().replace('interval = "1s"', 'interval = "9999999999d"'))
            daemon.process.send_signal(signal.SIGHUP)
            daemon.wait_for("reload rejected: topics[0].sources[0].interval: duration")
            daemon.wait_for("acme/hackernews: polled")  # still alive, still on new.db
            assert daemon.stop() == 0
            assert "no such table" not in daemon.log
        finally:
            if daemon.process.poll() is None:  # a failed step must not leave it running
                daemon.process.kill()
                daemon.process.wait(timeout=10)

    with sqlite3.connect(tmp_path / "new.db") as conn:
        polls = conn.execute("SELECT count(*) FROM source_state").fetchone()[0]
    assert polls == 1

"""``shitstorm run`` against a fake Jetstream on loopback, across a SIGTERM and a restart: every
matching post is stored exactly once and nothing else, deletes are marked, and a stream that
cannot connect neither stops the daemon nor delays its exit."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.sources.jetstream_posts import micros
from monitor.store import Store
from tests.fake_jetstream import DID, FakeJetstream, account, delete, identity, like, post
from tests.support import ALERTS, TOPIC, wait_for, write_settings
from tests.test_daemon import SETTINGS, Daemon

T0 = micros(datetime.now(UTC) - timedelta(seconds=30))
# Every instant a stored mention can have.
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def us(seconds: float) -> int:
    return T0 + int(seconds * 1_000_000)


def uri(rkey: str) -> str:
    return f"at://{DID}/app.bsky.feed.post/{rkey}"


def config(folder: Path, url: str) -> Path:
    source = f"""
[[topics.sources]]
type = "jetstream"
url = "{url}"
idle_timeout = "60s"
"""
    return write_settings(
        folder, SETTINGS, ALERTS, '[http]\nlisten = "127.0.0.1:0"\n', TOPIC, source
    )


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test started; any still running when it ends (a failed test) are killed."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.communicate()


def stored(path: Path) -> list[tuple[str, bool]]:
    """The stored mentions' ids and deleted flags (none before the daemon created its tables)."""
    if not path.exists():
        return []
    store = Store(path)
    try:
        rows = store.mentions("acme", EVER[0], EVER[1])
        return sorted((row.mention.id, row.deleted_at is not None) for row in rows)
    except sqlite3.OperationalError:
        return []
    finally:
        store.close()


def assert_stopped_within_grace(daemon: Daemon) -> None:
    """The stream closed inside the daemon's own stop deadline: it logs "stopped" only then
    (past the deadline it warns and exits without the stragglers). Judged by the daemon's
    deadline, not this machine's wall clock, so a loaded CI runner cannot fail it."""
    assert "monitor.runtime.service: stopped\n" in daemon.log, daemon.log
    assert "still running after" not in daemon.log, daemon.log


def test_every_matching_post_is_stored_exactly_once_across_a_drop_and_a_restart(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    fake = FakeJetstream()
    database = tmp_path / "monitor.db"
    with fake.serve() as url:
        fake.add(
            post(us(1), "m1", "Acme lost my order, awful"),
            post(us(2), "n1", "a post about something else"),
            like(us(3), "l1"),
            identity(us(4)),
            account(us(5)),
            post(us(6), "m2", "#acme keeps crashing", reply_to=uri("n1")),
        )
        fake.add("{this is not json", time_us=us(6))
        fake.add(post(us(7), "m3", "ACME support is great"), post(us(8), "n2", "Acmeville"))
        fake.drop_after(4)  # the first connection is dropped mid-stream
        daemon = Daemon(config(tmp_path, url))
        daemons.append(daemon)
        wait_for(lambda: len(stored(database)) == 3, 20, daemon.log_so_far)
        fake.add(delete(us(9), "m1"))
        wait_for(lambda: (uri("m1"), True) in stored(database), 10, daemon.log_so_far)
        assert daemon.stop() == 0, daemon.log
        assert_stopped_within_grace(daemon)
        assert "jetstream: skipped 1 of" in daemon.log
        connections = fake.connections
        assert connections >= 2  # the drop made it reconnect

        # Posted while the daemon was down: the restart replays them from the stored cursor.
        fake.add(post(us(10), "m4", "acme is down again"), post(us(11), "n3", "unrelated"))
        daemon = Daemon(config(tmp_path, url))
        daemons.append(daemon)
        wait_for(lambda: (uri("m4"), False) in stored(database), 20, daemon.log_so_far)
        fake.add(post(us(12), "m5", "live: #ACME outage"))
        wait_for(lambda: (uri("m5"), False) in stored(database), 10, daemon.log_so_far)
        assert daemon.stop() == 0, daemon.log
        resumed = int(fake.requests[connections]["cursor"][0])
        assert us(4) <= resumed <= us(9)

    assert stored(database) == [
        (uri("m1"), True),
        (uri("m2"), False),
        (uri("m3"), False),
        (uri("m4"), False),
        (uri("m5"), False),
    ]
    store = Store(database)
    replies = {
        m.mention.id: m.mention.reply_to
        for m in store.mentions("acme", EVER[0], EVER[1])
        if m.mention.reply_to is not None
    }
    assert replies == {uri("m2"): uri("n1")}


def test_an_unreachable_stream_keeps_the_daemon_running_and_stopping_on_time(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}/subscribe"
    daemon = Daemon(config(tmp_path, url))
    daemons.append(daemon)
    daemon.wait_for("jetstream: cannot connect to 127.0.0.1")
    daemon.wait_for("retrying in")
    assert daemon.stop() == 0, daemon.log
    assert_stopped_within_grace(daemon)
    state = Store(tmp_path / "monitor.db").source_state("acme", "jetstream")
    assert state is not None and state.failing_since is not None

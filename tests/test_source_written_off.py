"""A source failing for longer than ``blind_after`` no longer blinds its whole topic.

A short outage is a gap: its buckets are incomplete, neither judged nor learnt from. After
``blind_after`` the other sources' evidence is judged (so a storm on them still pages), the
bucket's reason says it was judged without the failed source, and nothing is learnt from it.
Replayed on a simulated clock: two sources, one of them down for an hour.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.offline.replay import read_recording, replay
from monitor.store import JudgedBucket, Store
from tests.support import ALERTS, BASE_SETTINGS, TOPIC, at, calm_then_storm, settings_in

OUTAGE = (at(10, 0), at(11, 0))


def two_sources(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each line also seen on Mastodon, which is down during OUTAGE."""
    copies = [{**line, "id": f"m{line['id']}", "source": "mastodon"} for line in stream]
    outage = {
        "kind": "outage",
        "source": "mastodon",
        "start": OUTAGE[0].isoformat(),
        "end": OUTAGE[1].isoformat(),
    }
    return [*stream, *copies, outage]


def run(folder: Path, stream: list[dict[str, Any]], blind_after: str) -> list[JudgedBucket]:
    settings = settings_in(
        folder, BASE_SETTINGS, ALERTS + f'blind_after = "{blind_after}"\n', TOPIC
    )
    recording = read_recording((json.dumps(line) for line in stream), settings)
    store = Store(settings.monitor.database)
    store.migrate()
    replay(recording, store, settings, {})
    return store.buckets("acme")


def test_after_blind_after_the_working_source_is_judged_and_its_storm_opens_an_incident(
    tmp_path: Path,
) -> None:
    stream = two_sources(calm_then_storm(at(8), minutes=200, storm_at=150))
    buckets = {b.bucket.start_at: b for b in run(tmp_path, stream, "10m")}

    early = buckets[at(10, 5)]  # five minutes into the outage: a gap
    assert not early.bucket.complete and not early.anomalous
    assert (early.reason or "").startswith("incomplete bucket")
    later = buckets[at(10, 20)]  # twenty minutes in: judged on Hacker News alone
    assert not later.bucket.complete  # stored as a gap: nothing learns from it
    assert (later.reason or "").startswith(
        "judged without mastodon (failing for over 0:10:00; not learnt from): "
    )
    storm = [b.bucket.start_at for b in buckets.values() if b.anomalous]
    assert storm and storm[0] in {at(10, 30) + timedelta(minutes=m) for m in range(3)}
    incidents = Store(tmp_path / "monitor.db").incidents()
    assert len(incidents) == 1


def test_nothing_is_learnt_from_buckets_judged_without_a_source(tmp_path: Path) -> None:
    """The expectations after the outage are the same as if it had been a plain gap."""
    stream = two_sources(calm_then_storm(at(8), minutes=240, storm_at=10_000))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    judged = run(tmp_path / "a", stream, "10m")
    gap = run(tmp_path / "b", stream, "36500d")

    assert any((b.reason or "").startswith("judged without") for b in judged)
    assert not any((b.reason or "").startswith("judged without") for b in gap)
    after = [b.expected_negative for b in judged if b.bucket.start_at >= OUTAGE[1]]
    assert after and after == [b.expected_negative for b in gap if b.bucket.start_at >= OUTAGE[1]]


def test_a_topic_whose_only_source_fails_stays_a_gap(tmp_path: Path) -> None:
    stream = calm_then_storm(at(8), minutes=200, storm_at=150)
    stream.append(
        {
            "kind": "outage",
            "source": "hackernews",
            "start": OUTAGE[0].isoformat(),
            "end": OUTAGE[1].isoformat(),
        }
    )
    buckets = run(tmp_path, stream, "10m")
    during = [b for b in buckets if OUTAGE[0] <= b.bucket.start_at < OUTAGE[1]]
    assert during and all((b.reason or "").startswith("incomplete bucket") for b in during)

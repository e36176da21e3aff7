"""``shitstorm replay`` / ``demo`` / ``incidents``: the whole pipeline on a simulated clock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.store import Store
from tests.support import (
    ALERTS,
    BASE_SETTINGS,
    POSITIVE,
    TOPIC,
    at,
    calm_then_storm,
    write_jsonl,
    write_settings,
)

ROOT = Path(__file__).resolve().parents[1]


def shitstorm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def incidents(config: Path) -> list[dict[str, Any]]:
    result = shitstorm("incidents", "list", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def test_replay_of_a_storm_opens_one_incident_at_its_start(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC)
    stream = calm_then_storm(at(8), minutes=180, storm_at=150)
    recording = write_jsonl(tmp_path / "stream.jsonl", stream)

    result = shitstorm("replay", str(recording), "--config", str(config))

    assert result.returncode == 0, result.stderr
    assert "NEW INCIDENT" in result.stdout and "acme" in result.stdout
    (incident,) = incidents(config)
    assert incident["topic"] == "acme" and incident["status"] == "open"
    assert incident["severity"] >= 1
    # Simulated time: the storm began at 10:30 and was alerted in its first buckets.
    opened = incident["opened_at"]
    assert opened in {(at(10, 30) + timedelta(minutes=m)).isoformat() for m in range(3)}
    assert incident["acknowledged_at"] is None and incident["resolved_at"] is None
    # Replayed buckets carry the summed probabilities, as the daemon's do.
    store = Store(tmp_path / "monitor.db")
    for judged in store.buckets("acme"):
        bucket = judged.bucket
        stored = store.mentions("acme", bucket.start_at, bucket.end_at)
        assert bucket.readings is not None and all(m.p_negative is not None for m in stored)
        expected = sum(m.p_negative or 0.0 for m in stored)
        assert bucket.readings.negative == pytest.approx(expected)
    store.close()


def test_a_happy_spike_and_an_outage_open_nothing(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC)
    stream = calm_then_storm(at(8), minutes=180, storm_at=150, storm_text=POSITIVE)
    stream.append(
        {
            "kind": "outage",
            "source": "hackernews",
            "start": at(9, 30).isoformat(),
            "end": at(10, 0).isoformat(),
        }
    )
    recording = write_jsonl(tmp_path / "stream.jsonl", stream)
    result = shitstorm("replay", str(recording), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert incidents(config) == []


def test_buckets_show_what_the_detector_said_about_each_bucket(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC)
    stream = calm_then_storm(at(8), minutes=180, storm_at=150)
    shitstorm("replay", str(write_jsonl(tmp_path / "s.jsonl", stream)), "--config", str(config))
    since = ("--since", "36500d")  # the replay ran on a simulated clock in the past

    notable = shitstorm("buckets", "acme", *since, "--config", str(config))
    assert notable.returncode == 0, notable.stderr
    storm = [line for line in notable.stdout.splitlines() if " STORM " in line]
    # The storm began at 10:30: its buckets are listed with the detector's sentence.
    assert storm and storm[0].startswith("03-02 10:3")
    assert "negative mentions in the last" in storm[0] and "expected" in storm[0]
    every = shitstorm("buckets", "acme", *since, "--all", "--config", str(config))
    assert len(every.stdout.splitlines()) == 1 + 180  # a header and one line per minute

    unknown = shitstorm("buckets", "nope", "--config", str(config))
    assert unknown.returncode == 2 and "unknown topic 'nope' (configured: acme)" in unknown.stderr
    bad = shitstorm("buckets", "acme", "--since", "soon", "--config", str(config))
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_a_storm_that_ends_resolves_and_incidents_can_be_acted_on(tmp_path: Path) -> None:
    config = write_settings(
        tmp_path,
        BASE_SETTINGS,
        ALERTS.replace('console = "on"', 'console = "on"\nresolve_after = "10m"'),
        TOPIC,
    )
    stream = calm_then_storm(at(8), minutes=200, storm_at=150, storm_minutes=10)
    shitstorm("replay", str(write_jsonl(tmp_path / "s.jsonl", stream)), "--config", str(config))
    (incident,) = incidents(config)
    assert incident["status"] == "resolved" and incident["resolved_at"] is not None

    assert (
        shitstorm("incidents", "ack", "1", "--by", "lena", "--config", str(config)).returncode == 0
    )
    shown = shitstorm("incidents", "show", "1", "--json", "--config", str(config))
    kinds = [e["kind"] for e in json.loads(shown.stdout)["events"]]
    assert kinds[0] == "opened" and "resolved" in kinds


def test_cli_acknowledge_and_resolve_are_idempotent(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC)
    stream = calm_then_storm(at(8), minutes=160, storm_at=150)
    shitstorm("replay", str(write_jsonl(tmp_path / "s.jsonl", stream)), "--config", str(config))
    first = shitstorm("incidents", "ack", "1", "--by", "lena", "--config", str(config))
    again = shitstorm("incidents", "ack", "1", "--by", "tom", "--config", str(config))
    assert first.returncode == again.returncode == 0
    assert "acknowledged by lena" in first.stdout and "nothing changed" in again.stdout
    (incident,) = incidents(config)
    assert incident["status"] == "acknowledged" and incident["acknowledged_at"] is not None
    shitstorm("incidents", "resolve", "1", "--by", "lena", "--config", str(config))
    assert incidents(config)[0]["status"] == "resolved"
    missing = shitstorm("incidents", "ack", "99", "--by", "lena", "--config", str(config))
    assert missing.returncode == 2 and "Incident #99 does not exist" in missing.stderr


HN_SOURCE = '\n[[topics.sources]]\ntype = "hackernews"\n'
GOOD = '{"id": "%s", "source": "hackernews", "created_at": "2026-03-02T08:0%s:00Z", "text": "x"}'
BAD_LINES = {
    2: ("[1, 2, 3]", "expected a mention or outage object, got an array"),
    3: ("42", "expected a mention or outage object, got a number (42)"),
    4: ("null", "expected a mention or outage object, got null"),
    5: ('{"id": "2", "source": "hackernews", "text": "no time"}', "'created_at' is missing"),
    6: ("{not json", "not JSON"),
    7: (
        '{"id": "3", "source": "hackernews", "created_at": "yesterday", "text": "x"}',
        "'created_at' 'yesterday' is not an ISO 8601 time",
    ),
    8: (
        '{"id": "4", "topic": "globex", "source": "hackernews", '
        '"created_at": "2026-03-02T08:01:00Z", "text": "x"}',
        "unknown topic 'globex'",
    ),
    9: (
        '{"kind": "outage", "source": "hackernews", "start": "2026-03-02T09:00:00Z"}',
        "an outage needs source, start and end",
    ),
    10: (
        '{"id": "5", "topic": [1], "source": "hackernews", '
        '"created_at": "2026-03-02T08:01:00Z", "text": "x"}',
        "'topic' must be a topic name",
    ),
}


def bad_recording(path: Path) -> Path:
    lines = [GOOD % ("1", "0"), *(line for line, _ in BAD_LINES.values()), GOOD % ("9", "5")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replay_reports_each_bad_line_goes_on_and_exits_1(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC, HN_SOURCE)
    recording = bad_recording(tmp_path / "bad.jsonl")
    result = shitstorm("replay", str(recording), "--config", str(config))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for number, (_, reason) in BAD_LINES.items():
        (line,) = [x for x in result.stderr.splitlines() if f"line {number}:" in x]
        assert reason in line, line
    # The good lines before and after the bad ones were replayed, and the summary counts both.
    assert "replayed 2 mentions" in result.stderr
    assert f"{len(BAD_LINES)} bad line(s) skipped" in result.stderr
    store = Store(tmp_path / "monitor.db")
    assert store.mention_count("acme") == 2


def test_replay_strict_stops_at_the_first_bad_line_and_replays_nothing(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC, HN_SOURCE)
    recording = bad_recording(tmp_path / "bad.jsonl")
    result = shitstorm("replay", str(recording), "--strict", "--config", str(config))
    assert result.returncode == 2
    assert "line 2: expected a mention or outage object, got an array" in result.stderr
    assert "line 3" not in result.stderr and "nothing replayed (--strict)" in result.stderr
    assert not (tmp_path / "monitor.db").exists()


def test_replay_warns_once_about_a_source_the_topic_does_not_configure(tmp_path: Path) -> None:
    config = write_settings(tmp_path, BASE_SETTINGS, ALERTS, TOPIC, HN_SOURCE)
    stream = calm_then_storm(at(8), minutes=30, storm_at=100)
    for line in stream[::3]:
        line["source"] = "tiktok"
    recording = write_jsonl(tmp_path / "s.jsonl", stream)
    result = shitstorm("replay", str(recording), "--config", str(config))

    assert result.returncode == 0, result.stderr
    warnings = [x for x in result.stderr.splitlines() if "tiktok" in x]
    tiktok = len(stream[::3])
    assert warnings == [
        f"shitstorm replay: warning: topic 'acme' configures no source 'tiktok' "
        f"({tiktok} mention(s), first on line 1); replayed as if it did"
    ]
    assert f"; {tiktok} mention(s) from sources the settings do not configure" in result.stderr
    # A topic with a webhook takes any source name its senders give: no warning then.
    webhook = write_settings(
        tmp_path, BASE_SETTINGS, ALERTS, TOPIC, HN_SOURCE, '[[topics.sources]]\ntype = "webhook"\n'
    )
    (tmp_path / "monitor.db").unlink()
    pushed = shitstorm("replay", str(recording), "--config", str(webhook))
    assert pushed.returncode == 0 and "tiktok" not in pushed.stderr


def test_demo_shows_the_bundled_storm(tmp_path: Path) -> None:
    result = shitstorm("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "NEW INCIDENT" in result.stdout
    assert "#acmegate" in result.stdout
    assert not list(tmp_path.iterdir())  # nothing left behind without --keep

"""The CLI as a stand-in for Slack, run on the demo's kept database through ``monitor.cli.main``.

One ``demo --keep`` run (a calm week, then a storm) is shared by the module; tests that change
the database work on a copy.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from tests.support import TOPIC, write_settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder holding the kept demo database ``demo.db`` and its settings ``demo.db.toml``."""
    folder = tmp_path_factory.mktemp("demo")
    shown = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr("sys.stdout", shown)
        assert main(["demo", "--keep", "demo.db"]) == 0
    (folder / "shown.txt").write_text(shown.getvalue(), encoding="utf-8")
    yield folder


@pytest.fixture
def copy(demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo's settings file and database that a test may change."""
    for name in ("demo.db", "demo.db.toml"):
        shutil.copy(demo / name, tmp_path / name)
    return tmp_path / "demo.db.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_shows_the_storm_and_tells_how_to_read_its_kept_database(
    demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = (demo / "shown.txt").read_text(encoding="utf-8")
    assert "NEW INCIDENT" in shown and "#acmegate" in shown
    assert "Kept the demo database in demo.db and its settings in demo.db.toml" in shown
    assert "shitstorm --config demo.db.toml incidents show 1" in shown
    monkeypatch.chdir(demo)
    code, _, err = run(capsys, "demo", "--keep", "demo.db")
    assert code == 2 and "demo.db exists; choose a new file" in err
    config = (demo / "demo.db.toml").read_text(encoding="utf-8")
    assert 'database = "demo.db"' in config


def test_config_goes_before_or_after_the_command(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(demo / "demo.db.toml")
    screens = [
        run(capsys, "--config", config, "status"),
        run(capsys, "status", "--config", config),
    ]
    assert screens[0] == screens[1] and screens[0][0] == 0
    assert "acme/mastodon" in screens[0][1]
    listed = [
        run(capsys, "--config", config, "incidents", "list"),
        run(capsys, "incidents", "--config", config, "list"),
        run(capsys, "incidents", "list", "--config", config),
    ]
    assert listed[0] == listed[1] == listed[2]
    assert "acme" in listed[0][1] and "open" in listed[0][1]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"shitstorm {__version__}"


def test_database_option_points_any_command_at_another_database(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_settings(tmp_path, TOPIC))  # its own database would be ./var/monitor.db
    empty = run(capsys, "incidents", "list", "--config", config)
    assert empty[:2] == (0, "no incidents\n")
    database = str(demo / "demo.db")
    before = run(capsys, "--database", database, "incidents", "list", "--config", config)
    after = run(capsys, "incidents", "list", "--config", config, "--database", database)
    assert before == after and before[0] == 0
    assert "   1  acme" in before[1]
    code, out, _ = run(capsys, "--database", database, "status", "--config", config)
    assert code == 0 and f"database  {database}" in out


def test_incidents_show_prints_what_the_slack_message_says(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--config", str(demo / "demo.db.toml"), "incidents", "show", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("incident #1 · acme · open · peak ")
    text = "\n".join(lines)
    # The same parts as the Slack message: why, the numbers, drivers, split and top posts.
    assert "Why it opened" in text and "negative mentions in the last" in text
    assert "Now (" in text
    assert "driving:" in text and "#acmegate" in text
    assert "sources:" in text and "mastodon" in text and "de " in text
    assert "top posts:" in text and "“" in text
    timeline = lines[lines.index("timeline:") + 1 :]
    assert timeline[0].endswith("opened") and any("escalated" in x for x in timeline)
    missing = run(capsys, "--config", str(demo / "demo.db.toml"), "incidents", "show", "99")
    assert missing[0] == 2 and "no incident #99" in missing[2]


def test_incidents_show_json_is_the_notification_payload_with_events(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "--config", str(demo / "demo.db.toml"), "incidents", "show", "1", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["incident"]["id"] == 1
    assert data["top_posts"] and data["drivers"] and data["split"]["source"]
    assert data["events"][0]["kind"] == "opened"


def test_feedback_takes_the_path_the_slack_buttons_take(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(copy)
    code, out, _ = run(
        capsys, "--config", config, "incidents", "feedback", "1", "storm", "--by", "lena"
    )
    assert code == 0 and out == "incident #1 marked 'storm' by lena (open)\n"
    shown = run(capsys, "--config", config, "incidents", "show", "1")[1]
    assert "feedback: Confirmed storm" in shown and "feedback by lena" in shown
    code, out, _ = run(
        capsys, "--config", config, "incidents", "feedback", "1", "not-a-shitstorm", "--by", "tom"
    )
    assert code == 0 and "(resolved)" in out
    (incident,) = json.loads(run(capsys, "--config", config, "incidents", "list", "--json")[1])
    assert (incident["status"], incident["feedback"]) == ("resolved", "not_a_shitstorm")
    again = run(
        capsys, "--config", config, "incidents", "feedback", "1", "not-a-shitstorm", "--by", "tom"
    )
    assert again[0] == 0 and "nothing changed" in again[1]
    with pytest.raises(SystemExit) as bad:
        main(["--config", config, "incidents", "feedback", "1", "maybe", "--by", "tom"])
    assert bad.value.code == 2
    assert "invalid choice: 'maybe'" in capsys.readouterr().err


def test_silences_are_listed_and_lifted(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(copy)
    assert run(capsys, "--config", config, "silence", "list")[1] == "no silences\n"
    code, out, _ = run(
        capsys,
        "--config",
        config,
        "silence",
        "acme",
        "--for",
        "6h",
        "--reason",
        "Black Friday",
        "--by",
        "lena",
    )
    assert code == 0 and "(silence #1)" in out
    listed = run(capsys, "--config", config, "silence", "list")[1].splitlines()
    assert len(listed) == 2 and "active" in listed[1] and "lena — Black Friday" in listed[1]
    assert run(capsys, "silence", "lift", "1", "--config", config)[1] == (
        "silence #1 lifted: acme pages again from now on\n"
    )
    assert run(capsys, "--config", config, "silence", "list")[1] == "no silences\n"
    past = run(capsys, "--config", config, "silence", "list", "--all")[1]
    assert " over " in past
    assert "nothing changed" in run(capsys, "--config", config, "silence", "lift", "1")[1]
    missing = run(capsys, "--config", config, "silence", "lift", "7")
    assert missing[0] == 2 and "no silence #7" in missing[2]
    unknown = run(capsys, "--config", config, "silence", "add", "globex", "--for", "1h")
    assert unknown[0] == 2 and "unknown topic 'globex'" in unknown[2]


def test_incidents_list_names_an_unknown_topic(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--config", str(demo / "demo.db.toml"), "incidents", "list", "--topic", "nosuch"
    )
    assert (code, out) == (2, "")
    assert "unknown topic 'nosuch' (configured: acme)" in err


def test_buckets_count_back_from_the_latest_bucket_and_say_so(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--config", str(demo / "demo.db.toml"), "buckets", "acme")
    header, *rows = out.splitlines()
    assert code == 0
    # The demo ended on 2026-11-10 at 19:05 UTC: its last day is shown, not an empty today.
    assert header.startswith(
        "acme: buckets since 2026-11-09 19:05 UTC, counted back from the "
        "latest bucket (2026-11-10 19:05 UTC"
    )
    assert "nothing judged since" in header
    assert any(" STORM " in row for row in rows)


def test_export_buckets_mentions_and_incidents(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(demo / "demo.db.toml")
    code, out, _ = run(capsys, "--config", config, "export", "buckets", "--since", "1h")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 12  # an hour of 5-minute buckets before the latest
    assert rows[-1]["start_at"] == "2026-11-10T19:00:00+00:00"
    assert set(rows[0]) >= {"volume", "negative", "expected_negative", "anomalous", "reason"}
    # The expected negatives the scorer's probabilities add up to ride along with the count.
    assert all(0.0 <= float(row["p_negative"]) <= int(row["volume"]) for row in rows)

    target = tmp_path / "mentions.json"
    code, _, err = run(
        capsys,
        "--config",
        config,
        "export",
        "mentions",
        "--topic",
        "acme",
        "--since",
        "30m",
        "--format",
        "json",
        "--output",
        str(target),
    )
    mentions = json.loads(target.read_text(encoding="utf-8"))
    assert code == 0 and f"wrote {len(mentions)} mentions to {target}" in err
    assert mentions and all(m["created_at"] >= "2026-11-10T18:35" for m in mentions)
    assert {"text", "sentiment", "label", "engagement", "source"} <= set(mentions[0])
    assert all(0.0 <= m["p_negative"] + m["p_neutral"] <= 1.0 for m in mentions)

    everything = run(capsys, "--config", config, "export", "mentions")[1]
    stored = Store(demo / "demo.db").mention_count("acme")  # the outage's posts never arrived
    assert len(list(csv.DictReader(io.StringIO(everything)))) == stored > 8000

    code, out, _ = run(capsys, "--config", config, "export", "incidents", "--format", "json")
    (incident,) = json.loads(out)
    assert incident["id"] == 1 and incident["severity"] >= 4
    unknown = run(capsys, "--config", config, "export", "buckets", "--topic", "nosuch")
    assert unknown[0] == 2 and "unknown topic 'nosuch'" in unknown[2]


def test_calibrate_injects_storms_into_the_topics_own_history(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(demo / "demo.db.toml")
    code, out, err = run(capsys, "--config", config, "calibrate", "acme", "--seeds", "1")
    assert code == 0, err
    # The replayed storm is a real incident: left out, neither calm history nor a false page.
    assert "calibrating 'acme' on its own history, leaving out its 1 incident(s)" in out
    for name in ("fewer", "balanced", "more"):
        assert f"sensitivity = {name!r}" in out
    assert "sensitivity = 'balanced' (configured)" in out
    assert out.count("false pages without storms: ") == 3
    assert "viral " in out and "caught by topic size" in out
    short = run(capsys, "--config", config, "calibrate", "acme", "--since", "2d")
    assert short[0] == 2 and "calibration needs at least 4" in short[1]
    unknown = run(capsys, "--config", config, "calibrate", "nosuch")
    assert unknown[0] == 2 and "unknown topic 'nosuch'" in unknown[2]


def test_acting_on_an_incident_of_a_topic_no_longer_configured_says_so(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The topic was renamed in settings.toml after its incident opened: the action is refused
    # with the reason, not reported as a missing incident.
    copy.write_text(copy.read_text(encoding="utf-8").replace('name = "acme"', 'name = "acme2"'),
                    encoding="utf-8")  # fmt: skip
    code, _, err = run(capsys, "--config", str(copy), "incidents", "ack", "1", "--by", "lena")
    assert code == 2
    assert "belongs to topic 'acme', which is no longer configured" in err
    missing = run(capsys, "--config", str(copy), "incidents", "ack", "99", "--by", "lena")
    assert missing[0] == 2 and "Incident #99 does not exist" in missing[2]

"""settings.toml validation: every problem is one line naming its key path, exit status 2."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.settings import ConfigError, load_settings
from monitor.settings_values import parse_duration

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
[monitor]
database = "data/monitor.db"
bucket = "30s"

[[topics]]
name = "acme"
terms = ["Acme", "#acme"]

[[topics.sources]]
type = "hackernews"
interval = "90s"
base_url = "http://127.0.0.1:9/"

[[topics.sources]]
type = "rss"
url = "http://127.0.0.1:9/feed.xml"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    return caught.value.problems


def test_good_file_is_typed_and_paths_resolve_against_its_folder(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), environ={})
    assert settings.monitor.bucket == timedelta(seconds=30)
    assert settings.monitor.database == tmp_path / "data" / "monitor.db"
    topic = settings.topic("acme")
    assert [s.source_name for s in topic.sources] == ["hackernews", "rss"]
    assert topic.sources[0].interval == timedelta(seconds=90)


def test_database_can_be_overridden_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, GOOD), environ={"SHITSTORM_DATABASE": "/srv/state/monitor.db"}
    )
    assert settings.monitor.database == Path("/srv/state/monitor.db")


def test_every_problem_is_reported_with_its_key_path(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        GOOD.replace('interval = "90s"', 'interval = "5 minuts"')
        .replace('bucket = "30s"', 'bucket = "30s"\ncolour = "red"')
        .replace('type = "rss"', 'type = "myspace"')
        + '\n[alerts]\nmax_escalations = "three"\n',
    )
    assert "topics[0].sources[0].interval: invalid duration '5 minuts'" in found[-2] or any(
        line.startswith("topics[0].sources[0].interval: invalid duration '5 minuts'")
        for line in found
    )
    assert any(line.startswith("monitor.colour: unknown key") for line in found)
    assert any(
        line.startswith("topics[0].sources[1].type: unknown source type 'myspace'")
        for line in found
    )
    assert any(line.startswith("alerts.max_escalations: expected a whole number") for line in found)
    assert len(found) == 4


def test_missing_required_keys_and_wrong_types(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[[topics]]\nname = "acme"\nterms = "Acme"\n[[topics.sources]]\ntype = "rss"\n',
    )
    assert "topics[0].terms: expected a list, got a string ('Acme')" in found
    assert "topics[0].sources[0].url: required" in found


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "[monitor\nbucket = 5m\n")
    assert len(found) == 1 and "invalid TOML" in found[0] and "line 1" in found[0]


def test_no_topics_and_duplicate_names(tmp_path: Path) -> None:
    assert problems(tmp_path, "[monitor]\n") == ["topics: configure at least one [[topics]] table"]
    doubled = GOOD + '\n[[topics]]\nname = "acme"\nterms = ["x"]\n'
    assert "topics[1].name: topic 'acme' is configured twice" in problems(tmp_path, doubled)


def test_two_sources_of_one_type_need_distinct_names(tmp_path: Path) -> None:
    text = GOOD + '\n[[topics.sources]]\ntype = "rss"\nurl = "http://127.0.0.1:9/b.xml"\n'
    assert any(
        p.startswith("topics[0].sources[2].name: another source") for p in problems(tmp_path, text)
    )
    named = text.replace(
        'url = "http://127.0.0.1:9/b.xml"', 'url = "http://127.0.0.1:9/b.xml"\nname = "rss-b"'
    )
    assert load_settings(write(tmp_path, named), environ={}).topics[0].sources[2].name == "rss-b"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("500ms", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["5 minuts", "", "5", "m5", "1x", 5])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_check_config_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('interval = "90s"', 'interval = "5 minuts"'))
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "topics[0].sources[0].interval: invalid duration '5 minuts' "
        '(write it like "90s", "5m", "2h" or "1d")'
    ]
    assert "Traceback" not in result.stderr


def test_run_refuses_to_start_on_a_broken_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('type = "rss"', 'type = "myspace"'))
    result = run_cli("run", "--config", str(path))
    assert result.returncode == 2
    assert "topics[0].sources[1].type: unknown source type 'myspace'" in result.stderr


def test_the_example_settings_file_is_valid() -> None:
    result = run_cli("check-config", "--config", str(ROOT / "settings.toml"))
    assert result.returncode == 0, result.stderr


def test_every_commented_example_in_the_settings_file_is_valid(tmp_path: Path) -> None:
    """Uncomment the example source and campaign tables: they must validate as written."""
    lines = (ROOT / "settings.toml").read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    in_example = False
    for line in lines:
        if line.startswith("# [[topics."):
            in_example = True
        elif not line.startswith("# ") or line.startswith("# ["):
            in_example = False
        if in_example and line.startswith("# ") and not line.startswith("#  "):
            candidate = line[2:]
            if candidate.startswith("[[") or "=" in candidate.split("#")[0]:
                out.append(candidate)
                continue
        out.append(line)
    path = write(tmp_path, "\n".join(out))
    settings = load_settings(path, environ={})
    types = [s.type for s in settings.topics[0].sources]
    assert set(types) >= {
        "bluesky",
        "reddit",
        "x",
        "youtube",
        "facebook",
        "instagram",
        "webhook",
        "mastodon",
        "hackernews",
        "rss",
    }
    assert settings.topics[0].campaigns[0].name == "Black Friday"


HOSTILE = [
    # (what replaces the HN source's `interval = "90s"` line, the key, the message's start)
    (
        'interval = "9999999999d"',
        "topics[0].sources[0].interval",
        "duration '9999999999d' is too long",
    ),
    ('interval = "0s"', "topics[0].sources[0].interval", "must be at least 1s"),
    ('timeout = "0s"', "topics[0].sources[0].timeout", "must be at least 1s"),
    ('deadline = "5s"\ntimeout = "20s"', "topics[0].sources[0].timeout", "must not be longer than"),
    ("max_pages = 0", "topics[0].sources[0].max_pages", "must be between 1 and 1000"),
    ("max_pages = 12345678901234567890", "topics[0].sources[0].max_pages", "must be between"),
    ('max_response_size = "5GB"', "topics[0].sources[0].max_response_size", "must be between"),
    ('max_response_size = "lots"', "topics[0].sources[0].max_response_size", "invalid size"),
    ('lookback = "-1s"', "topics[0].sources[0].lookback", "invalid duration"),
]


@pytest.mark.parametrize(("line", "key", "message"), HOSTILE)
def test_hostile_source_values_are_rejected_naming_the_key(
    tmp_path: Path, line: str, key: str, message: str
) -> None:
    found = problems(tmp_path, GOOD.replace('interval = "90s"', line))
    assert len(found) == 1 and found[0].startswith(f"{key}: {message}"), found


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            GOOD.replace('base_url = "http://127.0.0.1:9/"', 'base_url = "127.0.0.1:9"'),
            "topics[0].sources[0].base_url",
        ),
        (
            GOOD.replace('base_url = "http://127.0.0.1:9/"', 'base_url = "ftp://example.org/"'),
            "topics[0].sources[0].base_url",
        ),
        (
            GOOD.replace('url = "http://127.0.0.1:9/feed.xml"', 'url = "feed.xml"'),
            "topics[0].sources[1].url",
        ),
        (GOOD + '[slack]\nchannel = "#a"\napi_url = "slack.com/api/"\n', "slack.api_url"),
        (GOOD + '[http]\nlisten = "not-an-address"\n', "http.listen"),
        (GOOD + '[http]\nlisten = "127.0.0.1:99999"\n', "http.listen"),
        (GOOD + '[http]\nlisten = "bad host!:8787"\n', "http.listen"),
        (GOOD + '[detection]\nwarmup = "999999999d"\n', "detection.warmup"),
        (GOOD + "[monitor.x]\n", "monitor.x"),
    ],
)
def test_urls_listen_addresses_and_huge_durations_are_rejected(
    tmp_path: Path, text: str, key: str
) -> None:
    found = problems(tmp_path, text)
    assert [line.split(":")[0] for line in found] == [key], found


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "[::1]:8787", "localhost:8787", "0.0.0.0:80"])
def test_good_listen_addresses_pass(tmp_path: Path, listen: str) -> None:
    settings = load_settings(write(tmp_path, GOOD + f'[http]\nlisten = "{listen}"\n'), environ={})
    assert settings.http.listen == listen


def test_sizes_are_written_with_units(tmp_path: Path) -> None:
    text = GOOD.replace('interval = "90s"', 'max_response_size = "2MiB"\ndeadline = "30s"')
    source = load_settings(write(tmp_path, text), environ={}).topics[0].sources[0]
    assert source.max_response_size == 2 * 1024 * 1024
    assert source.deadline == timedelta(seconds=30)


def test_check_config_rejects_every_hostile_value_at_once_without_a_traceback(
    tmp_path: Path,
) -> None:
    text = (
        GOOD.replace('interval = "90s"', 'interval = "9999999999d"').replace(
            'url = "http://127.0.0.1:9/feed.xml"',
            'url = "http://127.0.0.1:9/feed.xml"\nmax_pages = 0',
        )
        + '[http]\nlisten = "127.0.0.1:99999"\n[detection]\nwarmup = "999999999d"\n'
    )
    result = run_cli("check-config", "--config", str(write(tmp_path, text)))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    keys = sorted(line.split(":")[0] for line in result.stderr.splitlines())
    assert keys == [
        "detection.warmup",
        "http.listen",
        "topics[0].sources[0].interval",
        "topics[0].sources[1].max_pages",
    ]

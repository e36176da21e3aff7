"""Setup that fails loudly: credentials in ``check-config`` and ``run``, ``slack test``, the
daemon's Slack token check, and progress output fit for a terminal or a log."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from alerts import slack_check
from monitor.cli import main
from monitor.offline.progress import progress
from monitor.settings import load_settings
from monitor.store import Store
from tests.fake_slack import FakeSlack
from tests.support import ALERTS, TOPIC, at, write_settings
from tests.test_daemon import SETTINGS, Daemon

ROOT = Path(__file__).resolve().parents[1]
CREDENTIAL_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SHITSTORM_WEBHOOK_SECRET",
    "BLUESKY_HANDLE",
    "BLUESKY_APP_PASSWORD",
    "CREDENTIALS_DIRECTORY",
)
SOURCES = """
[[topics.sources]]
type = "webhook"

[[topics.sources]]
type = "bluesky"
"""


def slack_table(fake: FakeSlack | None = None, channel: str = "#social-alerts") -> str:
    api = f'api_url = "{fake.base_url}"\n' if fake else ""
    return f'[slack]\nchannel = "{channel}"\n{api}'


def shitstorm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT), **(env or {})},
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(f"{var}_FILE", raising=False)
    return monkeypatch


# -- check-config and run ------------------------------------------------------------------------


def test_check_config_names_each_missing_credential_and_run_refuses_to_start(
    tmp_path: Path,
) -> None:
    config = str(write_settings(tmp_path, slack_table(), TOPIC, SOURCES))
    expected = [
        "slack.token_env: no Slack bot token: set SLACK_BOT_TOKEN",
        "topics[0].sources[0].secret_env: no acme/webhook secret: set SHITSTORM_WEBHOOK_SECRET",
        "topics[0].sources[1].handle_env: no acme/bluesky handle: set BLUESKY_HANDLE",
        "topics[0].sources[1].password_env: no acme/bluesky password: set BLUESKY_APP_PASSWORD",
    ]
    checked = shitstorm("check-config", "--config", config)
    started = shitstorm("run", "--config", config)
    for result in (checked, started):
        assert result.returncode == 2
        errors = [x for x in result.stderr.splitlines() if not x.startswith("warning:")]
        assert [e.split(" (or ")[0] for e in errors[: len(expected)]] == expected
    assert "not started" in started.stderr and "alerts to" not in started.stderr
    assert checked.stdout == ""


def test_credentials_count_from_the_environment_a_file_or_systemd(tmp_path: Path) -> None:
    config = str(write_settings(tmp_path, slack_table(), TOPIC, SOURCES))
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "bluesky_app_password").write_text("app-pass\n")
    (tmp_path / "handle").write_text("acme.bsky.social\n")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-secret-token",
        "SHITSTORM_WEBHOOK_SECRET": "hush",
        "BLUESKY_HANDLE_FILE": str(tmp_path / "handle"),
        "CREDENTIALS_DIRECTORY": str(credentials),
    }
    result = shitstorm("check-config", "--config", config, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "alerts to Slack channel #social-alerts" in lines[0]
    assert any(x.split() == ["SLACK_BOT_TOKEN", "environment", "(slack.token_env)"] for x in lines)
    assert any("BLUESKY_HANDLE" in x and f"file {tmp_path / 'handle'}" in x for x in lines)
    assert any(
        "BLUESKY_APP_PASSWORD" in x and "systemd credential bluesky_app_password" in x
        for x in lines
    )
    # Buttons need one way in; without it that is a warning, not an error.
    assert "warning: slack: the incident buttons will not work" in result.stderr
    assert "xoxb-secret-token" not in result.stdout + result.stderr
    assert "hush" not in result.stdout + result.stderr


def test_an_unreadable_file_or_the_wrong_kind_of_token_is_an_error(tmp_path: Path) -> None:
    config = str(write_settings(tmp_path, slack_table(), TOPIC))
    result = shitstorm(
        "check-config", "--config", config, env={"SLACK_BOT_TOKEN_FILE": str(tmp_path / "missing")}
    )
    assert result.returncode == 2
    assert (
        f"slack.token_env: Slack bot token: SLACK_BOT_TOKEN_FILE={tmp_path / 'missing'}: "
        "no such file" in result.stderr
    )
    user_token = shitstorm(
        "check-config", "--config", config, env={"SLACK_BOT_TOKEN": "xoxp-1234-user"}
    )
    assert user_token.returncode == 2
    assert (
        "SLACK_BOT_TOKEN (environment) is not a Slack bot token: it holds a user token"
        in user_token.stderr
    )
    assert "1234" not in user_token.stderr


def test_a_webhook_needs_the_http_endpoint(tmp_path: Path) -> None:
    config = str(
        write_settings(
            tmp_path, "[http]\nenabled = false\n", TOPIC, '[[topics.sources]]\ntype = "webhook"\n'
        )
    )
    result = shitstorm("check-config", "--config", config, env={"SHITSTORM_WEBHOOK_SECRET": "hush"})
    assert result.returncode == 2
    assert "topics[0].sources[0].type: a webhook needs the HTTP endpoint" in result.stderr


def test_the_example_settings_need_no_credential_so_make_run_starts() -> None:
    result = shitstorm("check-config", "--config", str(ROOT / "settings.toml"))
    assert result.returncode == 0, result.stderr
    assert "alerts to the console" in result.stdout and result.stderr == ""


# -- slack test ------------------------------------------------------------------------------------


def test_slack_test_checks_everything_and_cleans_up_after_itself(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeSlack(channels={"social-alerts": "C0ALERTS", "acme": "C0ACME01"}) as fake:
        clean_env.setenv("SLACK_BOT_TOKEN", fake.bot_token)
        topic = TOPIC + 'channel = "C0ACME01"\n'
        config = str(write_settings(tmp_path, slack_table(fake), topic))
        assert main(["slack", "test", "--config", config]) == 0
        out = capsys.readouterr().out
        assert [c.method for c in fake.calls].count("chat.postMessage") == 2
        assert not list(fake.all_messages()) and len(fake.deleted) == 2
    lines = out.splitlines()
    assert lines[1].split()[:2] == ["ok", "token"]
    assert "workspace Fake (T0FAKE), bot @shitstorm (U0BOT)" in lines[1]
    assert "SLACK_BOT_TOKEN (environment)" in lines[1] and fake.bot_token not in out
    assert any(
        x.split()[:3] == ["ok", "#social-alerts", "channel"] and "member" in x for x in lines
    )
    assert any(x.split()[:3] == ["ok", "C0ACME01", "channel"] for x in lines)
    assert any(x.split()[:2] == ["ok", "scopes"] and "chat:write" in x for x in lines)
    assert "posted a test message in #social-alerts and deleted it" in out
    assert lines[-1] == "Slack is ready"


def test_slack_test_dry_run_posts_nothing(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeSlack() as fake:
        clean_env.setenv("SLACK_BOT_TOKEN", fake.bot_token)
        config = str(write_settings(tmp_path, slack_table(fake), TOPIC))
        assert main(["slack", "test", "--dry-run", "--config", config]) == 0
        assert not fake.calls_to("chat.postMessage") and not fake.calls_to("chat.delete")
    assert "skipped (--dry-run): nothing was posted" in capsys.readouterr().out


def test_slack_test_names_each_problem_and_exits_1(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scopes = ["chat:write", "channels:history", "channels:read"]  # files:write is missing
    with FakeSlack(not_in={"C0OPS"}, scopes=scopes) as fake:
        clean_env.setenv("SLACK_BOT_TOKEN", fake.bot_token)
        config = str(write_settings(tmp_path, slack_table(fake), TOPIC))
        code = main(
            ["slack", "test", "--config", config, "--channel", "#ops", "--channel", "#nowhere"]
        )
        out = capsys.readouterr().out
        assert code == 1
        assert not fake.calls_to("chat.postMessage")  # no channel it may post in
    assert "FAIL  #ops" in out and "the bot is not a member: invite it" in out
    assert "FAIL  #nowhere" in out and "channel #nowhere not found" in out
    assert "FAIL  scopes" in out and "missing files:write (upload the chart" in out
    assert out.splitlines()[-1] == "3 problem(s) to fix"


def test_slack_test_asks_for_the_private_channel_scopes_a_private_channel_needs(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scopes = ["chat:write", "files:write", "channels:history", "channels:read"]
    with FakeSlack(channels={"war-room": "G0WARROOM"}, scopes=scopes) as fake:
        clean_env.setenv("SLACK_BOT_TOKEN", fake.bot_token)
        config = str(write_settings(tmp_path, slack_table(fake, "#war-room"), TOPIC))
        assert main(["slack", "test", "--config", config, "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "ok    #war-room  private channel G0WARROOM, the bot is a member" in out
    assert "missing groups:history (the same in private channels)" in out


def test_slack_test_with_a_bad_token_or_none(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeSlack() as fake:
        config = str(write_settings(tmp_path, slack_table(fake), TOPIC))
        assert main(["slack", "test", "--config", config]) == 1
        assert "FAIL  token     not set: put the bot token (xoxb-…) in SLACK_BOT_TOKEN" in (
            capsys.readouterr().out
        )
        clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
        assert main(["slack", "test", "--config", config]) == 1
        out = capsys.readouterr().out
    assert "FAIL  token" in out and "the bot token (SLACK_BOT_TOKEN) is invalid" in out
    assert "xoxb-revoked" not in out
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    unreachable = slack_table().replace(
        "[slack]", f'[slack]\napi_url = "http://127.0.0.1:{port}/api/"'
    )
    config = str(write_settings(tmp_path, unreachable, TOPIC))
    assert main(["slack", "test", "--config", config]) == 1
    assert f"cannot reach Slack at http://127.0.0.1:{port}/api/" in capsys.readouterr().out
    no_slack = str(write_settings(tmp_path, TOPIC))
    assert main(["slack", "test", "--config", no_slack]) == 1
    assert "no [slack] table" in capsys.readouterr().out


# -- the daemon's token check ---------------------------------------------------------------


def daemon_config(folder: Path, hn: str, fake: FakeSlack) -> Path:
    source = (
        f'[[topics.sources]]\ntype = "hackernews"\ninterval = "1s"\nbase_url = "{hn}/api/v1/"\n'
    )
    return write_settings(
        folder,
        SETTINGS,
        ALERTS,
        '[http]\nlisten = "127.0.0.1:0"\n',
        slack_table(fake),
        TOPIC,
        source,
    )


def test_run_logs_the_workspace_and_bot_at_start_and_on_reload(tmp_path: Path, hn_api: str) -> None:
    with FakeSlack() as fake:
        daemon = Daemon(
            daemon_config(tmp_path, hn_api, fake), env={"SLACK_BOT_TOKEN": fake.bot_token}
        )
        connected = "Slack: connected to workspace Fake (T0FAKE), bot @shitstorm (U0BOT)"
        daemon.wait_for(connected)
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for("settings reloaded")
        daemon.wait_for(connected)
        assert daemon.stop() == 0
        assert len(fake.calls_to("auth.test")) >= 2
    assert fake.bot_token not in daemon.log


def test_run_with_a_refused_token_keeps_running_and_says_so_everywhere(
    tmp_path: Path, hn_api: str
) -> None:
    with FakeSlack() as fake:
        config = daemon_config(tmp_path, hn_api, fake)
        daemon = Daemon(config, env={"SLACK_BOT_TOKEN": "xoxb-wrong"})
        url = daemon.wait_for("HTTP endpoint on").rsplit(" ", 1)[-1].strip()
        daemon.wait_for("Slack check failed: the bot token (SLACK_BOT_TOKEN) is invalid")
        health = httpx.get(f"{url}/healthz", timeout=5)
        status = shitstorm("status", "--config", str(config))
        assert daemon.process.poll() is None  # still running, still polling its sources
        assert daemon.stop() == 0
    assert health.status_code == 503
    assert "slack: the bot token (SLACK_BOT_TOKEN) is invalid (failing since" in health.text
    assert "slack     FAILING since" in status.stdout and "is invalid" in status.stdout
    assert "xoxb-wrong" not in daemon.log + health.text + status.stdout


def test_a_reload_that_lacks_a_credential_is_rejected_like_a_broken_file(
    tmp_path: Path, hn_api: str
) -> None:
    with FakeSlack() as fake:
        config = daemon_config(tmp_path, hn_api, fake)
        good = config.read_text(encoding="utf-8")
        daemon = Daemon(config, env={"SLACK_BOT_TOKEN": fake.bot_token})
        daemon.wait_for("Slack: connected")
        config.write_text(good + '\n[[topics.sources]]\ntype = "webhook"\n', encoding="utf-8")
        daemon.process.send_signal(signal.SIGHUP)
        rejected = daemon.wait_for("reload rejected: topics[0].sources[1].secret_env")
        daemon.wait_for("still running on the previous settings")
        assert daemon.stop() == 0
    assert "no acme/webhook secret: set SHITSTORM_WEBHOOK_SECRET" in rejected


def test_a_failing_token_check_is_retried_every_minute_and_logs_the_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "monitor.db")
    store.migrate()
    with FakeSlack() as fake:
        settings = load_settings(write_settings(tmp_path, slack_table(fake), TOPIC), environ={})
        assert settings.slack is not None
        env = {"SLACK_BOT_TOKEN": fake.bot_token}
        fake.fail_next("auth.test", status=500)
        caplog.set_level(logging.INFO, logger="alerts.slack_check")
        failed = slack_check.record_token_check(store, settings.slack, env, at(12), announce=True)
        assert not failed.ok and "HTTP 500" in failed.detail
        assert not slack_check.token_check_due(failed, at(12, 0, 59))
        assert slack_check.token_check_due(failed, at(12, 1))
        ok = slack_check.record_token_check(store, settings.slack, env, at(12, 1), announce=False)
    assert ok.ok and ok.failing_since is None and ok.detail.startswith("workspace Fake")
    assert "Slack: connected to workspace Fake" in caplog.text  # the recovery is logged
    assert not slack_check.token_check_due(ok, at(12, 59))
    assert slack_check.token_check_due(ok, at(12, 1) + slack_check.RECHECK_EVERY)


# -- progress --------------------------------------------------------------------------------------


def test_progress_in_a_log_is_a_few_plain_lines() -> None:
    log = io.StringIO()
    items = list(range(10_000))
    assert list(progress(items, label="acme", unit="bucket", stream=log)) == items
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 10
    assert lines[0] == "acme: 10% (1000/10000 buckets)"
    assert lines[-1] == "acme: 100% (10000/10000 buckets)"


def test_progress_on_a_terminal_is_a_live_bar() -> None:
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert list(progress(range(500), label="acme", unit="bucket", stream=terminal)) == (
            list(range(500))
        )
    drawn = os.read(leader, 65536).decode("utf-8", "replace")
    os.close(leader)
    assert "\r" in drawn and "bucket" in drawn


def test_backtest_progress_in_a_pipe_has_no_carriage_returns(tmp_path: Path) -> None:
    series = tmp_path / "series.csv"
    start = at(0)
    rows = [f"{(start + timedelta(minutes=5 * i)).isoformat()},{i % 7}" for i in range(6000)]
    series.write_text("timestamp,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = shitstorm("backtest", str(series))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
    progress_lines = [x for x in result.stderr.splitlines() if "% (" in x]
    assert 2 <= len(progress_lines) <= 11 and progress_lines[-1].startswith("series: 100% (6000")

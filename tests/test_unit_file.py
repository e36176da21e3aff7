"""The systemd unit: the settings ops relies on, and what systemd-analyze thinks of it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.settings import SlackSettings

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "shitstorm-monitor.service"
EXEC_START = "/opt/shitstorm-monitor/.venv/bin/shitstorm"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed"
)


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """Section → key → values; systemd allows a key to repeat, so values are lists."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return directives(UNIT.read_text(encoding="utf-8"))["Service"]


def one(service: dict[str, list[str]], key: str) -> str:
    values = service.get(key, [])
    assert len(values) == 1, f"{key}= should appear once, found {values}"
    return values[0]


def test_the_daemon_reports_readiness_and_is_watched(service: dict[str, list[str]]) -> None:
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    assert re.fullmatch(r"\d+(s|min)", one(service, "WatchdogSec"))
    assert one(service, "Restart") == "on-failure"
    assert one(service, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(service, "ExecStart") == (
        f"{EXEC_START} run --config /etc/shitstorm-monitor/settings.toml"
    )


def test_the_database_lives_in_the_state_directory(service: dict[str, list[str]]) -> None:
    state_directory = one(service, "StateDirectory")
    assert one(service, "DynamicUser") == "yes"
    assert f"SHITSTORM_DATABASE=%S/{state_directory}/monitor.db" in service["Environment"]


def test_the_slack_token_is_a_credential_named_as_the_code_reads_it(
    service: dict[str, list[str]],
) -> None:
    # monitor/secrets.py reads $CREDENTIALS_DIRECTORY/<variable name lowercased>.
    credential = SlackSettings(channel="#x").token_env.lower()
    loaded = dict(value.split(":", 1) for value in service["LoadCredential"])
    assert loaded[credential] == f"/etc/shitstorm-monitor/credentials/{credential}"
    assert not any("TOKEN" in value for value in service.get("Environment", []))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("CapabilityBoundingSet", ""),
    ],
)
def test_hardening(service: dict[str, list[str]], key: str, value: str) -> None:
    assert one(service, key) == value


def test_system_calls_and_memory_are_limited(service: dict[str, list[str]]) -> None:
    assert service["SystemCallFilter"][0] == "@system-service"
    assert re.fullmatch(r"\d+[KMG]", one(service, "MemoryMax"))


def runnable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at a real executable: verify checks that it exists."""
    binary = tmp_path / "shitstorm"
    binary.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    binary.chmod(0o755)
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(EXEC_START, str(binary)), "utf-8")
    return copy


@needs_systemd_analyze
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    unit = runnable_copy(tmp_path)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    about_us = [line for line in result.stderr.splitlines() if UNIT.name in line]
    assert result.returncode == 0, result.stderr
    assert about_us == []


@needs_systemd_analyze
def test_systemd_analyze_security_rates_it_ok_or_better(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    help_text = subprocess.run(
        [SYSTEMD_ANALYZE, "--help"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    if "--offline" not in help_text:
        pytest.skip("this systemd-analyze cannot rate unit files offline (systemd < 250)")
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", str(runnable_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    rating = re.search(r"Overall exposure level for \S+: (\d+\.\d) (\w+)", result.stdout)
    assert rating is not None, result.stdout + result.stderr
    assert rating.group(2) in {"OK", "SAFE", "PERFECT"}, rating.group(0)
    assert float(rating.group(1)) < 5.0

"""The Slack app manifest asks for exactly what the code uses: least privilege, Socket Mode on."""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "slack-app-manifest.yaml"


def test_manifest_scopes_and_settings() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "files:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "usergroups:read",
    }
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert "request_url" not in settings["interactivity"]  # Socket Mode needs no public URL
    assert "https://<host>/slack/actions" in MANIFEST.read_text(encoding="utf-8")

"""Which credentials the configured parts need, and whether each is there (never what it is).

``check-config`` prints this and ``run`` refuses to start on its errors, so a missing token is
found at setup and not at the first storm: ``[slack]`` without a bot token, a webhook without its
secret, a source without its API key. Each problem names the settings key that names the
variable (``topics[0].sources[2].secret_env``) and the variable to set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.secrets import find_secret
from monitor.settings import ConfigError, Settings, load_settings
from monitor.sources import PUSH_TYPES
from monitor.sources.base import SourceSettings
from monitor.sources.mastodon import MastodonSettings

# Slack's token kinds by prefix; the prefixes are no secret and tell a mix-up apart.
SLACK_TOKEN_KINDS = {
    "xoxb-": "bot token",
    "xoxp-": "user token",
    "xapp-": "app-level token",
    "xoxe": "refresh token",
}


@dataclass(frozen=True)
class Credential:
    """One secret a configured part needs: the key naming its variable, and where it was found."""

    key: str  # "slack.token_env", "topics[0].sources[1].token_env"
    var: str  # "SLACK_BOT_TOKEN"
    purpose: str  # "Slack bot token"
    origin: str | None  # "environment", "file /run/…", None when missing
    problem: str | None = None  # what is wrong: missing, unreadable file, wrong kind of token

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class CredentialReport:
    credentials: list[Credential]
    # Not errors: something optional is off (Slack buttons without a way to receive clicks).
    warnings: list[str]
    # A credential that cannot be used as configured (a webhook secret with HTTP off).
    unusable: list[str]

    @property
    def errors(self) -> list[str]:
        return [f"{c.key}: {c.problem}" for c in self.credentials if c.problem] + self.unusable


def check_credentials(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> CredentialReport:
    credentials: list[Credential] = []
    warnings: list[str] = []
    unusable: list[str] = []
    slack = settings.slack
    if slack is not None:
        credentials.append(
            _lookup("slack.token_env", slack.token_env, "Slack bot token", environ, prefix="xoxb-")
        )
        app = find_secret(slack.app_token_env, environ)
        signing = find_secret(slack.signing_secret_env, environ)
        if app.value is not None or app.problem:
            credentials.append(
                _lookup(
                    "slack.app_token_env",
                    slack.app_token_env,
                    "Slack app token",
                    environ,
                    prefix="xapp-",
                )
            )
        if signing.value is not None or signing.problem:
            credentials.append(
                _lookup(
                    "slack.signing_secret_env",
                    slack.signing_secret_env,
                    "Slack signing secret",
                    environ,
                )
            )
            if not settings.http.enabled:
                warnings.append(
                    f"slack.signing_secret_env: {slack.signing_secret_env} is set but "
                    "[http] enabled = false, so /slack/actions cannot receive clicks"
                )
        if app.value is None and signing.value is None and not (app.problem or signing.problem):
            warnings.append(
                "slack: the incident buttons will not work: set "
                f"{slack.app_token_env} (Socket Mode) or {slack.signing_secret_env} "
                "(HTTP /slack/actions)"
            )
    for i, topic in enumerate(settings.topics):
        for j, source in enumerate(topic.sources):
            where = f"topics[{i}].sources[{j}]"
            for key in needed_keys(source):
                var = getattr(source, key)
                purpose = f"{topic.name}/{source.source_name} {key.removesuffix('_env')}"
                credentials.append(_lookup(f"{where}.{key}", var, purpose, environ))
            if source.type in PUSH_TYPES and not settings.http.enabled:
                unusable.append(
                    f"{where}.type: a webhook needs the HTTP endpoint: set [http] enabled = true"
                )
    return CredentialReport(credentials, warnings, unusable)


def needed_keys(source: SourceSettings) -> list[str]:
    """The source's ``*_env`` keys whose variable must be set for it to work."""
    keys = [f.name for f in dataclasses.fields(source) if f.name.endswith("_env")]
    if isinstance(source, MastodonSettings) and not source.mentions:
        keys.remove("token_env")  # public hashtag timelines need no token; it is sent if set
    return keys


def load_checked_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """:func:`load_settings` plus the credential check: what ``run`` starts (and reloads) with."""
    settings = load_settings(path, environ)
    errors = check_credentials(settings, environ).errors
    if errors:
        raise ConfigError(errors)
    return settings


def _lookup(
    key: str, var: str, purpose: str, environ: Mapping[str, str] | None, *, prefix: str = ""
) -> Credential:
    found = find_secret(var, environ)
    if found.problem:
        return Credential(key, var, purpose, None, problem=f"{purpose}: {found.problem}")
    if found.value is None:
        where = f"set {var} (or {var}_FILE naming a file, or the systemd credential {var.lower()})"
        return Credential(key, var, purpose, None, problem=f"no {purpose}: {where}")
    if prefix and not found.value.startswith(prefix):
        # Name the kind of token it is instead; Slack's prefixes are no secret, the rest is.
        kind = next((k for p, k in SLACK_TOKEN_KINDS.items() if found.value.startswith(p)), None)
        what = f"it holds a {kind}" if kind else f"it does not start with {prefix}"
        return Credential(
            key,
            var,
            purpose,
            found.origin,
            problem=f"{var} ({found.origin}) is not a {purpose}: {what}",
        )
    return Credential(key, var, purpose, found.origin)

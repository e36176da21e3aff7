"""settings.toml + environment → validated, typed settings.

Every table is checked against a frozen dataclass: its fields are the keys a user may write,
their types say what a value must look like, and a field without a default is required. Each
problem becomes one line naming the key path (``topics[0].sources[1].interval: ...``), all of them
collected before anything starts, so a user fixes the whole file in one go. This module holds
the sections and assembles them; how one table is read and one value converted (durations,
sizes, times) is :mod:`monitor.settings_values`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detectors.config import SENSITIVITIES, DetectionSettings
from monitor.http_messages import parse_listen
from monitor.sentiment.config import SentimentSettings
from monitor.settings_values import build
from monitor.sources import SOURCE_TYPES, source_class
from monitor.sources.base import SourceSettings, url_problem

DEFAULT_CONFIG = "settings.toml"


class ConfigError(Exception):
    """The settings cannot be used. ``problems`` holds one line per problem, key path first."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, kw_only=True)
class MonitorSettings:
    database: Path = Path("var/monitor.db")
    bucket: timedelta = timedelta(minutes=5)
    lateness: timedelta = timedelta(minutes=2)
    timezone: str = "UTC"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    keep_mentions: timedelta = timedelta(days=90)
    # How many buckets of history feed the Slack chart and the detectors' warm start.
    history: timedelta = timedelta(days=28)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.bucket < timedelta(seconds=1):
            found.append(("bucket", "must be at least 1s"))
        if self.lateness < timedelta(0):
            found.append(("lateness", "must not be negative"))
        if _zone(self.timezone) is None:
            found.append(("timezone", f"unknown time zone {self.timezone!r}"))
        return found


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    # Print notifications on stdout: "auto" does so while no Slack token is set, so
    # `make run` shows its alerts before Slack is set up.
    console: Literal["auto", "on", "off"] = "auto"
    resolve_after: timedelta = timedelta(hours=3)
    reopen_within: timedelta = timedelta(hours=2)
    escalate_after: timedelta = timedelta(minutes=15)
    max_escalations: int = 3
    blind_after: timedelta = timedelta(minutes=30)
    retry_initial: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(minutes=30)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        for key in ("resolve_after", "escalate_after", "retry_initial", "retry_max"):
            if getattr(self, key) <= timedelta(0):
                found.append((key, "must be positive"))
        if self.max_escalations < 0:
            found.append(("max_escalations", "must not be negative"))
        return found


@dataclass(frozen=True, kw_only=True)
class SlackSettings:
    channel: str
    api_url: str = "https://slack.com/api/"
    token_env: str = "SLACK_BOT_TOKEN"
    upload_charts: bool = True
    # Mentioned in escalation replies: Slack user ids ("U0123") or a user group ("S0123").
    oncall: list[str] = field(default_factory=list)
    # Who may press the incident buttons: user ids and/or one user group. Empty: everyone.
    allowed_users: list[str] = field(default_factory=list)
    allowed_group: str | None = None
    # Button clicks arrive over Socket Mode when this variable holds an app token ("xapp-"),
    # and over POST /slack/actions (signed with the signing secret) when that one is set.
    app_token_env: str = "SLACK_APP_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not self.channel.strip():
            found.append(("channel", "must not be empty"))
        if problem := url_problem(self.api_url):
            found.append(("api_url", problem))
        return found


@dataclass(frozen=True, kw_only=True)
class HttpSettings:
    enabled: bool = True
    listen: str = "127.0.0.1:8787"

    def problems(self) -> list[tuple[str, str]]:
        try:
            host, _ = parse_listen(self.listen)
        except ValueError:
            return [("listen", f"expected host:port, port 0 to 65535, got {self.listen!r}")]
        if not _is_ip(host) and not _HOST_NAME.fullmatch(host):
            return [("listen", f"not a host name or IP address: {host!r}")]
        return []


# A host name a server can bind to: dot-separated labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


@dataclass(frozen=True, kw_only=True)
class CampaignSettings:
    """A planned window (a campaign, a launch) during which the topic's alerts page nobody."""

    name: str
    start: datetime
    end: datetime

    def problems(self) -> list[tuple[str, str]]:
        if self.end <= self.start:
            return [("end", "must be after start")]
        return []


@dataclass(frozen=True, kw_only=True)
class TopicSettings:
    name: str
    terms: list[str]
    languages: list[str] = field(default_factory=list)
    timezone: str | None = None
    # Slack channel for this topic's alerts; the [slack] channel when unset.
    channel: str | None = None
    # How many false pages this topic may raise ("fewer", "balanced", "more"); the
    # [detection] sensitivity when unset.
    sensitivity: str | None = None
    sources: tuple[SourceSettings, ...] = ()
    campaigns: tuple[CampaignSettings, ...] = ()

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            found.append(("name", "use letters, digits, '.', '-' and '_' only"))
        if not self.terms:
            found.append(("terms", "name at least one search term"))
        if self.timezone is not None and _zone(self.timezone) is None:
            found.append(("timezone", f"unknown time zone {self.timezone!r}"))
        if self.sensitivity is not None and self.sensitivity not in SENSITIVITIES:
            choices = ", ".join(SENSITIVITIES)
            found.append(("sensitivity", f"unknown sensitivity {self.sensitivity!r}; "
                                         f"choose one of: {choices}"))  # fmt: skip
        return found


@dataclass(frozen=True)
class Settings:
    path: Path
    monitor: MonitorSettings
    sentiment: SentimentSettings
    detection: DetectionSettings
    alerts: AlertSettings
    http: HttpSettings
    slack: SlackSettings | None
    topics: tuple[TopicSettings, ...]

    def topic(self, name: str) -> TopicSettings:
        for topic in self.topics:
            if topic.name == name:
                return topic
        raise KeyError(name)

    def detection_for(self, topic: TopicSettings) -> DetectionSettings:
        """The ``[detection]`` settings with the topic's own sensitivity, if it has one."""
        if topic.sensitivity is None:
            return self.detection
        return dataclasses.replace(self.detection, sensitivity=topic.sensitivity)

    def zone(self, topic: TopicSettings) -> tzinfo:
        return _zone(topic.timezone or self.monitor.timezone) or ZoneInfo("UTC")


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate ``path``; :class:`ConfigError` lists every problem found."""
    env = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None
    return parse_settings(raw, path, env)


def parse_settings(raw: Mapping[str, Any], path: Path, environ: Mapping[str, str]) -> Settings:
    errors: list[str] = []
    known = {"monitor", "sentiment", "detection", "alerts", "http", "slack", "topics"}
    for key in raw:
        if key not in known:
            errors.append(f"{key}: unknown section (known: {', '.join(sorted(known))})")

    def section(name: str) -> Mapping[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, Mapping):
            errors.append(f"{name}: must be a table ([{name}])")
            return {}
        return value

    monitor = build(MonitorSettings, section("monitor"), "monitor", errors)
    sentiment = build(SentimentSettings, section("sentiment"), "sentiment", errors)
    detection = build(DetectionSettings, section("detection"), "detection", errors)
    alerts = build(AlertSettings, section("alerts"), "alerts", errors)
    http = build(HttpSettings, section("http"), "http", errors)
    slack = build(SlackSettings, section("slack"), "slack", errors) if "slack" in raw else None
    topics = _topics(raw.get("topics"), errors)
    if errors:
        raise ConfigError(errors)
    assert monitor and sentiment and detection and alerts and http is not None
    base = path.resolve().parent
    database = Path(environ.get("SHITSTORM_DATABASE") or monitor.database)
    monitor = dataclasses.replace(monitor, database=_resolve(database, base))
    if sentiment.model_path is not None:
        sentiment = dataclasses.replace(sentiment, model_path=_resolve(sentiment.model_path, base))
    return Settings(path, monitor, sentiment, detection, alerts, http, slack, tuple(topics))


def _topics(value: Any, errors: list[str]) -> list[TopicSettings]:
    if value is None:
        errors.append("topics: configure at least one [[topics]] table")
        return []
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        errors.append("topics: must be an array of tables ([[topics]])")
        return []
    topics: list[TopicSettings] = []
    for i, table in enumerate(value):
        where = f"topics[{i}]"
        sources = _sources(table.get("sources", []), where, errors)
        campaigns = _campaigns(table.get("campaigns", []), where, errors)
        rest = {k: v for k, v in table.items() if k not in ("sources", "campaigns")}
        topic = build(TopicSettings, rest, where, errors, skip={"sources", "campaigns"})
        if topic is None:
            continue
        if topic.name in {t.name for t in topics}:
            errors.append(f"{where}.name: topic {topic.name!r} is configured twice")
        topics.append(
            dataclasses.replace(topic, sources=tuple(sources), campaigns=tuple(campaigns))
        )
    return topics


def _campaigns(value: Any, where: str, errors: list[str]) -> list[CampaignSettings]:
    if not isinstance(value, list) or not all(isinstance(c, Mapping) for c in value):
        errors.append(f"{where}.campaigns: must be an array of tables ([[topics.campaigns]])")
        return []
    found = [
        build(CampaignSettings, c, f"{where}.campaigns[{j}]", errors) for j, c in enumerate(value)
    ]
    return [c for c in found if c is not None]


def _sources(value: Any, where: str, errors: list[str]) -> list[SourceSettings]:
    if not isinstance(value, list) or not all(isinstance(s, Mapping) for s in value):
        errors.append(f"{where}.sources: must be an array of tables ([[topics.sources]])")
        return []
    sources: list[SourceSettings] = []
    for j, table in enumerate(value):
        at = f"{where}.sources[{j}]"
        kind = table.get("type")
        if not isinstance(kind, str):
            errors.append(f"{at}.type: required, one of: {', '.join(sorted(SOURCE_TYPES))}")
            continue
        if kind not in SOURCE_TYPES:
            errors.append(
                f"{at}.type: unknown source type {kind!r} "
                f"(known: {', '.join(sorted(SOURCE_TYPES))})"
            )
            continue
        settings_class = source_class(kind).settings_class
        source = build(settings_class, table, at, errors)
        if source is None:
            continue
        common = [f"{at}.{key}: {message}" for key, message in source.common_problems()]
        if common:
            errors.extend(common)
            continue
        if source.source_name in {s.source_name for s in sources}:
            errors.append(
                f"{at}.name: another source of this topic is already named "
                f"{source.source_name!r}; give each a distinct `name`"
            )
        sources.append(source)
    return sources


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _resolve(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base / path

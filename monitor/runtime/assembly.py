"""What the daemon is built from, for one version of the settings and the environment it runs in.

Which alerters exist (decided once, from the injected environment, and passed down to the
pipeline), each topic's sources and their HTTP clients, and the scorers and detectors the jobs
share (:class:`Runtime`). ``monitor/runtime/service.py`` builds a new :class:`Runtime` at start
and on each reload; the offline tools and commands build alerters and sources the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import httpx

from alerts.base import Alerter
from alerts.console import ConsoleAlerter
from monitor.pipeline.context import Context
from monitor.pipeline.detector_state import Detectors
from monitor.secrets import read_secret
from monitor.sentiment import Scorer, build_scorer
from monitor.settings import Settings, TopicSettings
from monitor.sources import source_class
from monitor.sources.base import USER_AGENT, Source, SourceSettings, TopicTerms
from monitor.sources.limits import source_client
from monitor.store import Store


def alerter_names(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Where notifications go: Slack when configured with a token, the console as asked.

    Decided from the environment the command runs in (``environ``, else the process's own),
    once per version of the settings; the pipeline writes notifications for exactly these.
    """
    names = []
    slack = settings.slack is not None and read_secret(settings.slack.token_env, environ)
    if settings.alerts.console == "on" or (settings.alerts.console == "auto" and not slack):
        names.append("console")
    if slack:
        names.append("slack")
    return names


def build_alerters(
    settings: Settings, stdout: TextIO, environ: Mapping[str, str] | None = None
) -> dict[str, Alerter]:
    """The alerters :func:`alerter_names` chooses, ready to send."""
    alerters: dict[str, Alerter] = {}
    names = alerter_names(settings, environ)
    if "console" in names:
        alerters["console"] = ConsoleAlerter(stdout)
    if "slack" in names and settings.slack is not None:
        from slack_sdk import WebClient

        from alerts.slack import SlackAlerter

        token = read_secret(settings.slack.token_env, environ)
        client = WebClient(token=token, base_url=settings.slack.api_url, timeout=10)
        alerters["slack"] = SlackAlerter(
            client, settings.slack.channel, upload_charts=settings.slack.upload_charts
        )
    return alerters


def topic_terms(topic: TopicSettings) -> TopicTerms:
    return TopicTerms(topic.name, tuple(topic.terms), tuple(topic.languages))


def build_source(topic: TopicSettings, settings: SourceSettings) -> Source:
    return source_class(settings.type)(settings, topic_terms(topic))


def http_client(settings: SourceSettings) -> httpx.Client:
    """The source's client: its per-read timeout, whole-answer deadline and size cap."""
    return source_client(settings.timeout, settings.limits, headers={"User-Agent": USER_AGENT})


@dataclass
class Runtime:
    """Everything the jobs share, built from one version of the settings."""

    settings: Settings
    alerters: dict[str, Alerter]
    scorers: dict[tuple[str, ...], Scorer] = field(default_factory=dict)
    detectors: Detectors | None = None

    def scorer(self, topic: TopicSettings) -> Scorer:
        key = (*topic.languages, "|", *topic.terms)
        if key not in self.scorers:
            self.scorers[key] = build_scorer(self.settings.sentiment, topic.languages, topic.terms)
        return self.scorers[key]

    def __post_init__(self) -> None:
        if self.detectors is None:
            self.detectors = Detectors(self.settings)

    def context(self, store: Store) -> Context:
        """What the pipeline steps need: notifications go to the alerters that exist."""
        return Context(store, self.settings, tuple(self.alerters))

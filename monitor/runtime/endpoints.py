"""The daemon's HTTP routes: health, metrics, Slack interactions and webhook ingest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

from alerts.interactions import Action, parse_action, payload_from_form, verify_signature
from alerts.socket_mode import answer_ephemerally
from monitor import metrics
from monitor.http_messages import Request, Response
from monitor.models import Mention
from monitor.pipeline.ingest import screen
from monitor.runtime.http import HttpServer
from monitor.secrets import read_secret
from monitor.sentiment import Scorer
from monitor.settings import Settings, TopicSettings
from monitor.sources import PUSH_TYPES
from monitor.sources.webhook import WebhookSettings, make_ingest_handler
from monitor.store import Store

log = logging.getLogger("monitor.runtime.endpoints")


class Scorers(Protocol):
    def scorer(self, topic: TopicSettings) -> Scorer: ...


class Daemon(Protocol):
    """What the routes use of the running daemon (:class:`monitor.runtime.service.Daemon`).

    A protocol rather than an import: the daemon builds this server, so importing the daemon
    here would close an import cycle.
    """

    @property
    def settings(self) -> Settings: ...
    @property
    def environ(self) -> Mapping[str, str]: ...
    @property
    def last_tick_at(self) -> datetime | None: ...
    @property
    def runtime(self) -> Scorers: ...
    def clock(self) -> datetime: ...
    def store(self) -> Store: ...
    def on_action(self, action: Action) -> str | None: ...


def health_problems(
    store: Store, settings: Settings, now: datetime, last_tick_at: datetime | None
) -> list[str]:
    """Why the monitor is not healthy: a stalled scheduler or a source without recent success."""
    problems = []
    tick = timedelta(seconds=min(max(settings.monitor.bucket.total_seconds() / 5, 1.0), 30.0))
    if last_tick_at is None or now - last_tick_at > 4 * tick + timedelta(seconds=5):
        problems.append("scheduler: no evaluation ran recently")
    slack = store.check("slack") if settings.slack is not None else None
    if slack is not None and not slack.ok:
        since = slack.failing_since or slack.checked_at
        problems.append(f"slack: {slack.detail} (failing since {since:%Y-%m-%d %H:%M} UTC)")
    for topic in settings.topics:
        for source in topic.sources:
            if source.type in PUSH_TYPES:
                continue
            name = source.source_name
            state = store.source_state(topic.name, name)
            # Allow a few missed polls before calling a source unhealthy.
            limit = max(3 * source.interval, timedelta(minutes=5))
            if state is None or state.last_success_at is None:
                first = store.first_poll_at(topic.name, name)
                if first is not None and now - first > limit:
                    error = state.last_error if state else "never succeeded"
                    problems.append(f"{topic.name}/{name}: no successful poll yet ({error})")
            elif now - state.last_success_at > limit:
                problems.append(
                    f"{topic.name}/{name}: last success {state.last_success_at:%Y-%m-%d %H:%M}"
                    f" UTC ({state.last_error or 'not polled'})"
                )
    return problems


def build_http_server(daemon: Daemon) -> HttpServer:
    server = HttpServer(daemon.settings.http.listen)

    def healthz(request: Request, params: dict[str, str]) -> Response:
        now = daemon.clock()
        problems = health_problems(daemon.store(), daemon.settings, now, daemon.last_tick_at)
        if problems:
            return Response.text(503, "unhealthy\n" + "\n".join(problems))
        return Response.text(200, "ok")

    def metrics_route(request: Request, params: dict[str, str]) -> Response:
        body, content_type = metrics.render(request.headers.get("accept"))
        return Response(200, body, content_type)

    server.route("GET", "/healthz", healthz)
    server.route("GET", "/metrics", metrics_route)
    server.route("POST", "/slack/actions", lambda r, p: slack_actions(daemon, r))
    server.route(
        "POST",
        "/ingest/{topic}",
        make_ingest_handler(
            lambda topic: webhook_secret(daemon.settings, topic, daemon.environ),
            lambda topic, mentions: store_pushed(daemon, topic, mentions),
        ),
    )
    return server


def slack_actions(daemon: Daemon, request: Request) -> Response:
    """``POST /slack/actions``: a button click, signed by Slack with the signing secret."""
    slack = daemon.settings.slack
    secret = read_secret(slack.signing_secret_env, daemon.environ) if slack else None
    if secret is None:
        return Response.text(404, "Slack interactivity over HTTP is not configured")
    now = daemon.clock()
    if not verify_signature(
        secret,
        request.headers.get("x-slack-request-timestamp", ""),
        request.body,
        request.headers.get("x-slack-signature", ""),
        now,
    ):
        log.warning("rejected a Slack action from %s: bad or stale signature", request.client)
        return Response.text(401, "invalid or stale Slack signature")
    try:
        payload = payload_from_form(request.body)
        action = parse_action(payload, now)
    except ValueError as exc:
        # Signed by Slack but not one of our buttons: acknowledge so Slack shows no error.
        log.info("ignoring a Slack interaction: %s", exc)
        return Response.text(200, "")
    problem = daemon.on_action(action)
    if problem:
        answer_ephemerally(payload, problem)
    return Response.text(200, "")


def webhook_secret(settings: Settings, topic: str, environ: Mapping[str, str]) -> str | None:
    """The secret of the topic's webhook source; None when the topic takes no pushes."""
    try:
        configured = settings.topic(topic)
    except KeyError:
        return None
    for source in configured.sources:
        if isinstance(source, WebhookSettings):
            return read_secret(source.secret_env, environ)
    return None


def store_pushed(daemon: Daemon, topic: str, mentions: list[Mention]) -> int:
    settings = daemon.settings
    configured = settings.topic(topic)
    scorer = daemon.runtime.scorer(configured)
    # The same screening as polled mentions: believable times only, texts capped.
    mentions, misdated = screen(mentions, daemon.clock())
    if misdated:
        log.warning("%s/webhook: skipped %d items dated beyond belief", topic, misdated)
    scored = [(m, scorer.score(m.text, m.lang)) for m in mentions]
    new = daemon.store().save_mentions(topic, scored, daemon.clock())
    metrics.MENTIONS_INGESTED.labels(topic, "webhook").inc(new)
    return new

"""The daemon's HTTP routes: health, metrics, Slack interactions and webhook ingest."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor import metrics
from monitor.http import HttpServer, Request, Response
from monitor.settings import Settings
from monitor.sources import PUSH_TYPES
from monitor.store import Store

if TYPE_CHECKING:
    from monitor.service import Daemon

log = logging.getLogger("monitor.endpoints")


def health_problems(
    store: Store, settings: Settings, now: datetime, last_tick_at: datetime | None
) -> list[str]:
    """Why the monitor is not healthy: a stalled scheduler or a source without recent success."""
    problems = []
    tick = timedelta(seconds=min(max(settings.monitor.bucket.total_seconds() / 5, 1.0), 30.0))
    if last_tick_at is None or now - last_tick_at > 4 * tick + timedelta(seconds=5):
        problems.append("scheduler: no evaluation ran recently")
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
    return server


def json_response(status: int, body: object) -> Response:
    return Response(status, json.dumps(body).encode(), "application/json")

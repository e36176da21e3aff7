"""The daemon: scheduler wiring, signals, HTTP endpoint; the only place that reads the clock.

Three kinds of job run on one APScheduler: one ingest job per source of each topic, one
evaluate job that closes due buckets, and one deliver job that empties the outbox. Streaming
sources (Jetstream) are no jobs: each shared connection reads on a thread of its own
(``monitor/runtime/streaming.py``). Each thread opens its own SQLite connection. SIGTERM/SIGINT let
the job in flight finish and commit, and streams store their last batch; SIGHUP re-reads
settings.toml and keeps the old settings when the new file is broken. What the jobs share is
built from the settings in ``monitor/runtime/assembly.py``.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from alerts.interactions import Action
from alerts.slack_members import SlackGroupMembers
from monitor.credentials import load_checked_settings
from monitor.pipeline.buckets import evaluate
from monitor.pipeline.context import Context
from monitor.pipeline.ingest import Feed, ingest
from monitor.pipeline.notify import escalate
from monitor.pipeline.outbox import deliver
from monitor.pipeline.prune import prune
from monitor.runtime import sdnotify, streaming
from monitor.runtime.actions import apply_action
from monitor.runtime.assembly import Runtime, build_alerters, build_source, http_client
from monitor.runtime.endpoints import build_http_server
from monitor.secrets import read_secret
from monitor.settings import ConfigError, Settings
from monitor.sources import PUSH_TYPES, STREAM_TYPES
from monitor.store import Store

log = logging.getLogger("monitor.runtime.service")

# How long a stop waits for the job in flight before it gives up on it. Its transaction is
# then rolled back by SQLite, so nothing half-written remains. With the ~3 s that closing
# Socket Mode takes, the daemon still exits within the 10 s systemd and users expect.
STOP_GRACE = 6.0


def now_utc() -> datetime:
    return datetime.now(UTC)


def prepare_database(path: Path) -> None:
    """Open and migrate the database at ``path``; ConfigError when it cannot be used."""
    try:
        store = Store(path)
        try:
            migrated = store.migrate()
        finally:
            store.close()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError([f"monitor.database: cannot use {path}: {exc}"]) from None
    if migrated:
        log.info("database %s: schema migrated (%d steps)", path, migrated)


class Daemon:
    """``shitstorm run``: schedules the pipeline until a signal says stop."""

    def __init__(
        self,
        settings: Settings,
        *,
        stdout: TextIO = sys.stdout,
        clock: Callable[[], datetime] = now_utc,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.stdout = stdout
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        self.runtime = Runtime(settings, build_alerters(settings, stdout, self.environ))
        self._local = threading.local()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._lock = threading.Lock()  # guards the runtime swap on reload
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=UTC,
        )
        self.last_tick_at: datetime | None = None
        self.http: Any = None
        self.socket_mode: Any = None
        self.group_members: SlackGroupMembers | None = None
        self._slack_announce = False
        self.streams = streaming.StreamThreads()

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def store(self) -> Store:
        """This thread's connection (SQLite connections must not cross threads)."""
        store: Store | None = getattr(self._local, "store", None)
        path = self.settings.monitor.database
        if store is None or store.path != path:
            store = Store(path)
            self._local.store = store
        return store

    def context(self) -> Context:
        """This thread's store with the current settings and alerters, for a pipeline step."""
        return self.runtime.context(self.store())

    # -- jobs ----------------------------------------------------------------------------------

    def _schedule(self) -> None:
        settings = self.settings
        start = self.clock()
        for topic in settings.topics:
            for source_settings in topic.sources:
                if source_settings.type in PUSH_TYPES | STREAM_TYPES:
                    continue
                feed = Feed(
                    topic,
                    source_settings,
                    build_source(topic, source_settings),
                    http_client(source_settings),
                )
                self.scheduler.add_job(
                    self._ingest,
                    "interval",
                    args=(feed,),
                    seconds=source_settings.interval.total_seconds(),
                    next_run_time=start,
                    id=f"ingest:{topic.name}:{source_settings.source_name}",
                    name=f"ingest {topic.name}/{source_settings.source_name}",
                )
        tick = min(max(settings.monitor.bucket.total_seconds() / 5, 1.0), 30.0)
        self.scheduler.add_job(self._evaluate, "interval", seconds=tick, id="evaluate")
        self.scheduler.add_job(
            self._deliver, "interval", seconds=min(tick, 5.0), id="deliver", next_run_time=start
        )
        self.scheduler.add_job(
            self._maintain,
            "interval",
            hours=1,
            id="maintain",
            next_run_time=start + timedelta(minutes=1),
        )
        if settings.slack is not None:
            self._slack_announce = True  # at start and after each reload
            self.scheduler.add_job(
                self._check_slack, "interval", seconds=30, id="slack-check", next_run_time=start
            )
        interval = sdnotify.watchdog_interval(self.environ)
        if interval is not None:
            # Fed from the scheduler itself: a hung scheduler stops feeding and gets restarted.
            self.scheduler.add_job(
                self._watchdog,
                "interval",
                seconds=max(interval.total_seconds() / 2, 1.0),
                id="watchdog",
                next_run_time=start,
            )

    def _ingest(self, feed: Feed) -> None:
        runtime = self.runtime
        ingest(runtime.context(self.store()), feed, runtime.scorer(feed.topic), self.clock())

    def _evaluate(self) -> None:
        runtime = self.runtime
        context = runtime.context(self.store())
        assert runtime.detectors is not None
        for topic in runtime.settings.topics:
            try:
                evaluate(context, topic, runtime.detectors, self.clock())
                escalate(context, topic, self.clock())
            except Exception:
                log.exception("%s: evaluation failed", topic.name)
        self.last_tick_at = self.clock()

    def _deliver(self) -> None:
        runtime = self.runtime
        deliver(runtime.context(self.store()), runtime.alerters, self.clock())

    def _maintain(self) -> None:
        removed = prune(self.context(), self.clock())
        if removed:
            log.info("retention: removed %d old rows", removed)

    def _check_slack(self) -> None:
        """Slack's ``auth.test``: at start, on reload, every minute while it fails, hourly else."""
        from alerts import slack_check

        slack, store, now = self.settings.slack, self.store(), self.clock()
        if slack is None or not (
            self._slack_announce or slack_check.token_check_due(store.check("slack"), now)
        ):
            return
        if "slack" in store.rate_limits(now):
            return  # Slack asked for quiet (Retry-After): the check waits like every call

        announce, self._slack_announce = self._slack_announce, False
        slack_check.record_token_check(store, slack, self.environ, now, announce=announce)

    def _watchdog(self) -> None:
        sdnotify.watchdog(self.environ)

    # -- lifecycle -----------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s; finishing the job in flight", signal.Signals(signum).name)
        self._stop.set()

    def on_action(self, action: Action) -> str | None:
        """A Slack button click (Socket Mode or HTTP): change the incident, never Slack."""
        slack = self.settings.slack

        def members(group: str) -> Collection[str] | None:
            if self.group_members is None:
                return None
            return self.group_members.members(group, self.clock())

        return apply_action(self.context(), action, members if slack else None)

    def _start_slack_interactivity(self) -> None:
        slack = self.settings.slack
        if slack is None:
            return
        from slack_sdk import WebClient

        token = read_secret(slack.token_env, self.environ)
        client = WebClient(token=token, base_url=slack.api_url, timeout=10)
        if slack.allowed_group:
            self.group_members = SlackGroupMembers(client)
        app_token = read_secret(slack.app_token_env, self.environ)
        if not app_token:
            return
        from alerts.socket_mode import SocketModeListener

        self.socket_mode = SocketModeListener(
            app_token, self.on_action, clock=self.clock, web_client=client
        )
        try:
            self.socket_mode.connect()
        except ConnectionError as exc:
            # Buttons are a convenience; alerts must flow even when Socket Mode cannot connect.
            log.error("%s; buttons only work over HTTP /slack/actions until it can", exc)
            self.socket_mode = None
            return
        log.info("Slack Socket Mode connected: incident buttons are live")

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload.set()

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        store = self.store()
        migrated = store.migrate()
        if migrated:
            log.info("database %s: schema now at version %d", store.path, store.schema_version)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self._start_http()
        self._start_slack_interactivity()
        self._schedule()
        self.scheduler.start()
        self._start_streams()
        sdnotify.ready(self.environ)
        log.info(
            "monitoring %d topic(s): %s; alerts to %s",
            len(self.settings.topics),
            ", ".join(t.name for t in self.settings.topics),
            ", ".join(self.runtime.alerters) or "nowhere (no alerter enabled)",
        )
        while not self._stop.wait(0.5):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
        sdnotify.stopping(self.environ)
        return self._shutdown()

    def reload(self) -> bool:
        """Re-read settings.toml; on errors keep running on the old settings.

        What is applied is exactly what ``check-config`` accepts, plus a database that can be
        used: a changed ``[monitor] database`` is migrated before any job touches it, or the
        reload is refused.
        """
        sdnotify.reloading(time.monotonic_ns() // 1000, self.environ)
        try:
            settings = load_checked_settings(self.settings.path, self.environ)
            if settings.monitor.database != self.settings.monitor.database:
                prepare_database(settings.monitor.database)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload rejected: %s", problem)
            log.error("reload rejected; still running on the previous settings")
            sdnotify.ready(self.environ)
            return False
        self._stop_streams(time.monotonic() + STOP_GRACE)
        with self._lock:
            self.scheduler.remove_all_jobs()
            self.runtime = Runtime(settings, build_alerters(settings, self.stdout, self.environ))
            self._schedule()
        self._start_streams()
        log.info("settings reloaded from %s", settings.path)
        sdnotify.ready(self.environ)
        return True

    def _start_http(self) -> None:
        if not self.settings.http.enabled:
            return
        try:
            self.http = build_http_server(self)
            self.http.start()
        except OSError as exc:
            log.error("HTTP endpoint on %s unavailable: %s", self.settings.http.listen, exc)
            self.http = None
            return
        log.info("HTTP endpoint on %s", self.http.url)

    # -- streams (long-lived connections, monitor/runtime/streaming.py) ------------------------

    def _start_streams(self) -> None:
        """One thread per shared connection; each resumes from its topics' stored cursors."""
        store = self.store()
        streams = streaming.build_streams(self.settings.topics, self.clock, store.cursor)
        self.streams = streaming.StreamThreads()
        self.streams.start(
            [
                (
                    stream,
                    streaming.StoreSink(
                        stream.name,
                        subscriptions,
                        self.context,
                        lambda topic: self.runtime.scorer(topic),
                        self.clock,
                    ),
                )
                for stream, subscriptions in streams
            ]
        )

    def _stop_streams(self, deadline: float) -> bool:
        """Store each stream's last batch and close its connection, by ``deadline``."""
        self.streams.signal_stop()
        return self.streams.join(deadline)

    def _shutdown(self) -> int:
        deadline = time.monotonic() + STOP_GRACE
        self.streams.signal_stop()
        done = threading.Event()

        def stop_scheduler() -> None:
            self.scheduler.shutdown(wait=True)
            done.set()

        threading.Thread(target=stop_scheduler, daemon=True).start()
        if self.http is not None:
            # Meanwhile the job in flight finishes; a slow client is cut off, never waited for.
            self.http.stop()
        finished = done.wait(max(deadline - time.monotonic(), 0.0))
        finished = self._stop_streams(deadline) and finished
        if self.socket_mode is not None:
            self.socket_mode.close()
        if not finished:
            log.warning("a job was still running after %.0fs; exiting without it", STOP_GRACE)
            logging.shutdown()
            os._exit(0)
        log.info("stopped")
        return 0

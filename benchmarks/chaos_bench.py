"""Chaos: the daemon killed again and again while a storm comes in, Slack fails and the source
answers garbage. Does it lose, double or forget anything?

Run from the repository root: ``python benchmarks/chaos_bench.py`` (``make chaos``; also part of
``make bench``). Seeded (``--seed``) and bounded: about three minutes on two cores.

What runs, all on 127.0.0.1:

* ``shitstorm run`` as a subprocess, with 5-second buckets so storms open incidents in
  seconds, polling a Hacker News–shaped search API every second and posting to Slack;
* that API, publishing a seeded stream of English and German posts about "Acme" as their
  ``created_at`` comes due, with two storms of negative posts in it; in two windows half its
  answers are garbage (HTML, truncated or non-UTF-8 JSON, 5xx, 429, resets, missing fields),
  elsewhere one in fifty;
* the fake Slack Web API of the tests (``tests/fake_slack.py``), taken down right after it took
  the first incident's post: every method answers 500 for 12 s, then 429 with
  ``Retry-After: 3`` for 10 s.

The daemon gets ``kill -9`` at seeded random moments, and some more right after Slack accepted
a post or an upload (before the daemon can record it), and is restarted at once each time.
Then it runs undisturbed until it has caught up, gets a SIGTERM, and the figures are read from
its database and from what the fake Slack received.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import MIB, machine  # noqa: E402
from benchmarks.load_bench import hacker_news_hit, storm_text  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

# The timeline, in seconds after the daemon first starts.
FEED_SECONDS = 165  # posts are published during this span
# Negative posts pile up in these spans; the calm between is long enough for an incident to
# resolve, so each storm is an incident of its own.
STORMS = ((45, 58), (95, 108), (145, 158))
# Half the source's answers are garbage in these spans (between storms: a bucket with a failed
# poll is incomplete and judges nothing, and the detector must have warmed up by the first).
GARBAGE_WINDOWS = ((68, 80), (120, 130))
GARBAGE_ELSEWHERE = 0.02
# Slack goes down right after it took the first incident's post: every call answers 500 for a
# while, then 429 for a while.
OUTAGE_500_SECONDS, OUTAGE_429_SECONDS, RETRY_AFTER = 12, 10, 3
CATCH_UP_SECONDS = 90  # the undisturbed end: ingest and the outbox must have caught up by then
CALM_PER_SECOND = (2, 3, 3, 4)
STORM_PER_SECOND = 10

SETTINGS = """
[monitor]
database = "chaos.db"
bucket = "5s"
lateness = "3s"

[detection]
detector = "level"
warmup = "30s"
min_negative = 8
accumulate = "15s"
level_half_life = "60s"
profile_half_life = "5m"
share_half_life = "60s"
relearn_after = "5m"

[alerts]
console = "off"
resolve_after = "12s"
reopen_within = "5s"
escalate_after = "1h"
retry_initial = "1s"
retry_max = "4s"
blind_after = "1h"

[http]
enabled = false

[slack]
channel = "#social-alerts"
api_url = "{slack_url}"

[[topics]]
name = "acme"
terms = ["Acme"]
languages = ["en", "de"]

[[topics.sources]]
type = "hackernews"
base_url = "{source_url}"
interval = "1s"
timeout = "5s"
overlap = "5s"
lookback = "10m"
"""


# -- the source ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    created_at_i: int
    hit: dict[str, Any]


def storm_feed(start_i: int, rng: random.Random) -> list[Post]:
    """The seeded stream: calm chatter every second, storms of negative posts in between."""
    posts: list[Post] = []
    for second in range(FEED_SECONDS):
        stamp = start_i + second
        storm = any(begin <= second < end for begin, end in STORMS)
        for index in range(rng.choice(CALM_PER_SECOND) + (STORM_PER_SECOND if storm else 0)):
            hit = hacker_news_hit(rng, len(posts), stamp)
            if storm and index >= 2:
                text = storm_text(rng, "Acme")
                hit["comment_text"] = f"<p>{text}</p>"
                hit.pop("title", None)
            posts.append(Post(stamp, hit))
    return posts


GARBAGE_KINDS = (
    "html",
    "truncated",
    "not utf-8",
    "500",
    "503",
    "429",
    "reset",
    "no hits",
    "bad hit",
)


@dataclass
class FakeHackerNews:
    """Algolia's ``search_by_date`` over the feed: what is due by now, newest first, paged."""

    posts: list[Post]
    rng: random.Random
    started_at: float = 0.0
    served: set[str] = field(default_factory=set)
    garbage: Counter[str] = field(default_factory=Counter)
    answers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def garbage_share(self, elapsed: float) -> float:
        if any(begin <= elapsed < end for begin, end in GARBAGE_WINDOWS):
            return 0.5
        return GARBAGE_ELSEWHERE

    def answer(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes] | None:
        """Status, headers and body for one request; None to reset the connection."""
        now = time.time()
        with self.lock:
            self.answers += 1
            if self.rng.random() < self.garbage_share(time.monotonic() - self.started_at):
                kind = self.rng.choice(GARBAGE_KINDS)
                self.garbage[kind] += 1
            else:
                kind = None
        if kind is not None and kind != "bad hit":
            return _garbage(kind)
        since, until = _window(query.get("numericFilters", [""])[0])
        per_page = int(query.get("hitsPerPage", ["20"])[0])
        page = int(query.get("page", ["0"])[0])
        due = [p for p in self.posts if since < p.created_at_i <= min(until, int(now))]
        due.sort(key=lambda p: -p.created_at_i)
        hits = [p.hit for p in due[page * per_page : (page + 1) * per_page]]
        if kind == "bad hit":  # one broken item in a good page: skipped, the rest stored
            hits = [*hits, {"objectID": None, "created_at_i": "soon", "comment_text": 7}]
        pages = max(1, -(-len(due) // per_page))
        body = {"hits": hits, "nbPages": pages, "page": page, "hitsPerPage": per_page}
        with self.lock:
            self.served.update(str(h["objectID"]) for h in hits if h.get("objectID"))
        return 200, {"content-type": "application/json"}, json.dumps(body).encode()

    @contextmanager
    def serve(self) -> Iterator[str]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                answer = (
                    api.answer(parse_qs(url.query))
                    if url.path.endswith("/search_by_date")
                    else (404, {"content-type": "application/json"}, b'{"message": "no"}')
                )
                if answer is None:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _QuietServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/"
        finally:
            server.shutdown()
            server.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the daemon was killed mid-request: that is the point of this benchmark


def _window(filters: str) -> tuple[int, int]:
    since, until = -1, 2**62
    for part in filters.split(","):
        if part.startswith("created_at_i>"):
            since = int(part.split(">", 1)[1])
        elif part.startswith("created_at_i<="):
            until = int(part.split("<=", 1)[1])
    return since, until


def _garbage(kind: str) -> tuple[int, dict[str, str], bytes] | None:
    json_type = {"content-type": "application/json"}
    answers: dict[str, tuple[int, dict[str, str], bytes] | None] = {
        "html": (200, {"content-type": "text/html"}, b"<html><body>Maintenance</body></html>"),
        "truncated": (200, json_type, b'{"hits": [{"objectID": "1", "crea'),
        "not utf-8": (200, json_type, b'{"hits": ["\xff\xfe"], "nbPages": 1}'),
        "500": (500, json_type, b'{"message": "internal"}'),
        "503": (503, {"content-type": "text/plain"}, b"upstream unavailable"),
        "429": (429, {"retry-after": "1", **json_type}, b'{"message": "slow down"}'),
        "reset": None,
        "no hits": (200, json_type, b'{"message": "ok", "nbPages": 1}'),
    }
    return answers[kind]


# -- the daemon ----------------------------------------------------------------------------------


class Monitor:
    """``shitstorm run`` as a subprocess that is killed and restarted; stderr goes to a file.

    (The tests read the daemon's stderr through a pipe; over minutes of INFO lines a pipe that
    is only read now and then would fill and block the daemon, so this one writes a file.)
    """

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log_path = config, log
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self.starts = 0
        self.lock = threading.Lock()

    def start(self) -> None:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(self.config)],
                cwd=self.config.parent,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
            )
        self.starts += 1

    def kill(self) -> bool:
        """``kill -9``; False when the process was gone already."""
        with self.lock:
            process = self.process
            if process is None or process.poll() is not None:
                return False
            self._note_rss(process.pid)
            process.kill()
            process.wait()
            return True

    def restart_if_dead(self) -> None:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.start()

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.process is not None
        self._note_rss(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def _note_rss(self, pid: int) -> None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):  # the peak resident set of this process
                    self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Chaos:
    kills: int = 0
    kills_after_slack_answered: int = 0
    outage: bool = False


def run(seed: int, kills: int, answered_kills: int, folder: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    start_i = int(time.time()) + 2
    feed = FakeHackerNews(storm_feed(start_i, random.Random(seed + 1)), random.Random(seed + 2))
    chaos = Chaos()
    with FakeSlack() as slack, feed.serve() as source_url:
        config = folder / "settings.toml"
        config.write_text(SETTINGS.format(slack_url=slack.base_url, source_url=source_url))
        monitor = Monitor(config, folder / "daemon.log")
        kill_after = {
            "chat.postMessage": answered_kills - answered_kills // 3,
            "files.completeUploadExternal": answered_kills // 3,
        }

        def after_answer(call: Any) -> None:
            if not chaos.outage and call.status == 200 and call.method == "chat.postMessage":
                chaos.outage = True
                slack.outage(status=500, seconds=OUTAGE_500_SECONDS)
                slack.outage(
                    status=429,
                    seconds=OUTAGE_429_SECONDS,
                    after=OUTAGE_500_SECONDS,
                    retry_after=RETRY_AFTER,
                )
            # Slack has accepted it; the daemon has not recorded it yet. Kill it now, sometimes.
            if call.status != 200 or kill_after.get(call.method, 0) <= 0 or rng.random() > 0.7:
                return
            if monitor.kill():
                kill_after[call.method] -= 1
                chaos.kills += 1
                chaos.kills_after_slack_answered += 1

        slack.after_answer = after_answer
        while time.time() < start_i:
            time.sleep(0.05)
        started = time.monotonic()
        feed.started_at = started
        monitor.start()
        try:
            moments = sorted(rng.uniform(3, FEED_SECONDS + 10) for _ in range(kills))
            while time.monotonic() - started < FEED_SECONDS + 10 or moments:
                if moments and time.monotonic() - started >= moments[0]:
                    moments.pop(0)
                    if monitor.kill():
                        chaos.kills += 1
                monitor.restart_if_dead()
                time.sleep(0.05)
            slack.after_answer = None
            monitor.restart_if_dead()
            caught_up = wait_until_caught_up(folder / "chaos.db", feed, CATCH_UP_SECONDS)
            stop_status = monitor.terminate()
        finally:
            monitor.kill()  # whatever went wrong, leave no daemon behind
        duration = time.monotonic() - started
        return report(folder, feed, slack, monitor, chaos, caught_up, stop_status, duration)


def wait_until_caught_up(database: Path, feed: FakeHackerNews, seconds: float) -> bool:
    """Wait until every published post is stored, the outbox is empty and no incident is open."""
    published = {str(p.hit["objectID"]) for p in feed.posts}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(database, timeout=5) as db:
                stored = db.execute("SELECT count(*) FROM mentions").fetchone()[0]
                pending = db.execute(
                    "SELECT count(*) FROM notifications WHERE status = 'pending'"
                ).fetchone()[0]
                open_incidents = db.execute(
                    "SELECT count(*) FROM incidents WHERE status != 'resolved'"
                ).fetchone()[0]
            if stored >= len(published) and not pending and not open_incidents:
                return True
        except sqlite3.Error:
            pass  # not created yet, or mid-migration
        time.sleep(0.5)
    return False


def report(
    folder: Path,
    feed: FakeHackerNews,
    slack: FakeSlack,
    monitor: Monitor,
    chaos: Chaos,
    caught_up: bool,
    stop_status: int,
    duration: float,
) -> dict[str, Any]:
    db = sqlite3.connect(folder / "chaos.db")
    published = {str(p.hit["objectID"]) for p in feed.posts}
    rows = [r[0] for r in db.execute("SELECT id FROM mentions")]
    stored = set(rows)
    statuses = Counter(r[0] for r in db.execute("SELECT status FROM notifications"))
    incidents = [r[0] for r in db.execute("SELECT id FROM incidents")]
    chart_notifications = {
        (r[0], r[1])
        for r in db.execute(
            "SELECT incident_id, id FROM notifications WHERE status = 'sent' "
            "AND kind IN ('opened', 'reopened', 'severity_up')"
        )
    }
    reply_notifications = {
        r[0]
        for r in db.execute(
            "SELECT id FROM notifications WHERE status = 'sent' "
            "AND kind IN ('severity_up', 'escalated', 'acknowledged', 'resolved', 'reopened')"
        )
    }
    polls = Counter(bool(r[0]) for r in db.execute("SELECT ok FROM polls"))
    buckets = Counter(bool(r[0]) for r in db.execute("SELECT complete FROM buckets"))
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()

    posts: Counter[int] = Counter()
    replies: Counter[int] = Counter()
    charts: Counter[str] = Counter()
    for message in slack.all_messages():
        event = (message.metadata or {}).get("event_payload") or {}
        if (message.metadata or {}).get("event_type") == "shitstorm_incident":
            posts[int(event["incident_id"])] += 1
        for reply in message.replies:
            reply_event = (reply.metadata or {}).get("event_payload") or {}
            if "notification_id" in reply_event:
                replies[int(reply_event["notification_id"])] += 1
        charts.update(str(f.get("name")) for f in message.files)
    expected_charts = {f"incident-{i}-{n}.png" for i, n in chart_notifications}
    log_text = (folder / "daemon.log").read_text(errors="replace")
    early = slack.calls_inside_retry_after()
    return {
        "kills": chaos.kills,
        "kills_after_slack_answered": chaos.kills_after_slack_answered,
        "starts": monitor.starts,
        "published": len(published),
        "served": len(feed.served & published),
        "stored": len(stored),
        "lost": len(published - stored),
        "doubled": len(rows) - len(stored),
        "phantom": len(stored - published),
        "source_answers": feed.answers,
        "garbage": dict(sorted(feed.garbage.items())),
        "polls_ok": polls[True],
        "polls_failed": polls[False],
        "buckets": buckets[True] + buckets[False],
        "incomplete_buckets": buckets[False],
        "incidents": len(incidents),
        "posts_per_incident": sorted(Counter(posts[i] for i in incidents).items()),
        "notifications": dict(sorted(statuses.items())),
        "replies_missing": len(reply_notifications - set(replies)),
        "replies_doubled": sum(1 for n in replies.values() if n > 1),
        "charts_missing": len(expected_charts - set(charts)),
        "charts_doubled": sum(1 for name, n in charts.items() if n > 1),
        "slack_calls": len(slack.calls),
        "slack_failures": dict(
            sorted(Counter(c.status for c in slack.calls if c.status >= 400).items())
        ),
        "calls_inside_retry_after": len(early),
        "early_calls": [
            f"{c.method} {c.at - limit.at:.2f} s after a 429 of {limit.method}"
            for c, limit in early
        ],
        "integrity_check": integrity,
        "peak_rss": monitor.peak_rss,
        "tracebacks": log_text.count("Traceback"),
        "caught_up": caught_up,
        "stop_status": stop_status,
        "seconds": duration,
    }


def print_report(seed: int, figures: dict[str, Any]) -> None:
    posts = ", ".join(f"{n} post(s): {count}" for n, count in figures["posts_per_incident"])
    print(
        f"seed {seed}: {figures['kills']} × kill -9 ({figures['kills_after_slack_answered']} "
        f"right after Slack answered), {figures['starts']} starts, "
        f"{figures['seconds']:.0f} s"
    )
    print(
        f"  mentions   published {figures['published']}, served {figures['served']}, "
        f"stored {figures['stored']}: lost {figures['lost']}, doubled {figures['doubled']}, "
        f"phantom {figures['phantom']}"
    )
    garbage = ", ".join(f"{kind} {n}" for kind, n in figures["garbage"].items())
    print(
        f"  source     {figures['source_answers']} answers, garbage: {garbage}; "
        f"polls ok {figures['polls_ok']}, failed {figures['polls_failed']}"
    )
    print(
        f"  incidents  {figures['incidents']} from {len(STORMS)} storms ({figures['buckets']} "
        f"buckets, {figures['incomplete_buckets']} incomplete); top-level posts per incident: "
        f"{posts or 'none'}"
    )
    print(
        f"  outbox     {figures['notifications']}; thread replies missing "
        f"{figures['replies_missing']}, doubled {figures['replies_doubled']}; charts missing "
        f"{figures['charts_missing']}, doubled {figures['charts_doubled']}"
    )
    failures = ", ".join(f"{n} × {status}" for status, n in figures["slack_failures"].items())
    print(
        f"  slack      {figures['slack_calls']} calls ({failures or 'none'} during the outage), "
        f"{figures['calls_inside_retry_after']} inside another's Retry-After"
    )
    for early in figures["early_calls"]:
        print(f"    too early: {early}")
    print(
        f"  database   integrity_check {figures['integrity_check']}; daemon peak RSS "
        f"{figures['peak_rss'] / MIB:.1f} MiB; tracebacks in its log {figures['tracebacks']}; "
        f"caught up {figures['caught_up']}; SIGTERM exit status {figures['stop_status']}"
    )


def verdict(figures: dict[str, Any]) -> list[str]:
    """What did not hold; empty when the run met every target."""
    problems = []
    for key in (
        "lost",
        "doubled",
        "phantom",
        "replies_missing",
        "replies_doubled",
        "charts_missing",
        "charts_doubled",
        "calls_inside_retry_after",
        "tracebacks",
        "stop_status",
    ):
        if figures[key]:
            problems.append(f"{key} = {figures[key]}")
    if figures["posts_per_incident"] != [(1, figures["incidents"])] or not figures["incidents"]:
        problems.append(f"posts per incident {figures['posts_per_incident']}")
    for status in ("pending", "failed"):
        if figures["notifications"].get(status):
            problems.append(f"{figures['notifications'][status]} notification(s) {status}")
    if figures["integrity_check"] != "ok":
        problems.append(f"integrity_check {figures['integrity_check']}")
    if not figures["caught_up"]:
        problems.append("did not catch up in time")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--runs", type=int, default=1, help="seeds SEED, SEED+1, ...")
    parser.add_argument("--kills", type=int, default=22, help="kill -9 at random moments")
    parser.add_argument(
        "--answered-kills",
        type=int,
        default=6,
        help="more kill -9 right after Slack accepted a post or an upload",
    )
    parser.add_argument("--keep", type=Path, help="keep each run's database and log here")
    args = parser.parse_args(argv)
    # A SIGTERM to the benchmark unwinds it, so the daemon it runs is killed too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    print(f"machine: {machine()}")
    failed = 0
    runs = []
    for seed in range(args.seed, args.seed + args.runs):
        with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
            folder = Path(scratch) if args.keep is None else args.keep / f"seed-{seed}"
            folder.mkdir(parents=True, exist_ok=True)
            figures = run(seed, args.kills, args.answered_kills, folder)
            print_report(seed, figures)
            problems = verdict(figures)
            if problems:
                failed += 1
                print("  NOT MET: " + "; ".join(problems))
                print("  daemon log (last lines):")
                print("\n".join((folder / "daemon.log").read_text().splitlines()[-30:]))
        runs.append(figures)
    if len(runs) > 1:
        print_summary(runs)
    if failed:
        print(f"{failed} of {len(runs)} run(s) missed the target")
        return 1
    print(
        f"target met in {len(runs)} of {len(runs)} run(s): 0 lost, 0 doubled, 1 post per "
        "incident, every notification delivered once"
    )
    return 0


def print_summary(runs: list[dict[str, Any]]) -> None:
    """Totals and ranges over the runs: the spread, not the best one."""

    def total(key: str) -> int:
        return sum(int(r[key]) for r in runs)

    def spread(key: str, scale: float = 1.0, unit: str = "") -> str:
        values = [r[key] / scale for r in runs]
        return f"{min(values):.0f}–{max(values):.0f}{unit}"

    one_post = all(r["posts_per_incident"] == [(1, r["incidents"])] for r in runs)
    print(
        f"all {len(runs)} runs: {total('kills')} × kill -9 "
        f"({total('kills_after_slack_answered')} right after Slack answered); mentions "
        f"published {total('published')}, lost {total('lost')}, doubled {total('doubled')}; "
        f"incidents {total('incidents')}, each with one top-level post: {one_post}; calls "
        f"inside Retry-After {total('calls_inside_retry_after')}; peak RSS "
        f"{spread('peak_rss', MIB, ' MiB')}; {spread('seconds', unit=' s')} per run"
    )


if __name__ == "__main__":
    sys.exit(main())

"""Jetstream figures: events matched and stored per second, memory over a long run, and lag.

Run from the repository root: ``python benchmarks/jetstream_bench.py`` (``make bench``).
Targets (README): at least 2,000 events/s on one core with 100 topics of 5 terms each, flat
memory, and less than 2 s of lag at 500 events/s.

A loopback Jetstream stand-in runs in a child process (its CPU is not ours) and serves frames
shaped like Jetstream's posts-only stream: post creates with ``langs``, ``createdAt``, replies
and facets, about 8 % deletes and a few identity and account events. Texts are the labelled
dev sets' real posts from ``../shared/data`` mixed with generated English and German posts
(generated only, when the data is absent); about 1 % of the posts name one of the topics' terms
(a brand word, its hashtag, handle, cashtag or a two-word phrase). The daemon's own code reads
them: :class:`monitor.sources.jetstream.JetstreamStream` over a real WebSocket, the shared
:class:`~monitor.sources.matching.TermMatcher`, and :class:`monitor.runtime.streaming.StoreSink`
scoring the matches and storing mentions, cursors, deletes and progress into a SQLite file.

* **Throughput**: the server sends ``--events`` frames as fast as the client takes them; the
  figure is events per CPU-second of this (pinned, one-core) process, and per wall second.
* **Memory**: the same, ``--long`` events, resident memory sampled every 10 % of the run.
* **Lag**: the server sends 500 events/s stamped with the send time for ``--lag-seconds``; the
  lag of a batch is how old its oldest event was when the batch was stored.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    MIB,
    SHARED_DATA,
    current_rss_bytes,
    machine,
    pin_to_one_core,
)
from benchmarks.load_bench import social_text  # noqa: E402
from monitor.pipeline.context import Context  # noqa: E402
from monitor.runtime.streaming import StoreSink, build_streams  # noqa: E402
from monitor.sentiment import Scorer, build_scorer  # noqa: E402
from monitor.settings import Settings, TopicSettings, parse_settings  # noqa: E402
from monitor.sources.base import StreamBatch  # noqa: E402
from monitor.store import Store  # noqa: E402

SYLLABLES = ["vel", "mor", "qui", "tex", "lan", "dra", "zo", "pix", "nor", "cal", "bri", "sto"]
DELETE_SHARE = 0.08
ACCOUNT_SHARE = 0.02
REPLY_SHARE = 0.3


def brand_names(count: int, rng: random.Random) -> list[str]:
    """Distinct made-up brand words ("Velmora", "Quitex"), none a word of everyday text."""
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize())
    return sorted(names)


def topic_terms(brand: str) -> list[str]:
    """Five terms of each kind a topic would configure."""
    return [brand, f"#{brand.lower()}", f"@{brand.lower()}", f"{brand} Cloud", f"${brand[:4]}"]


def settings_for(folder: Path, brands: list[str], url: str) -> Settings:
    topics = [
        {
            "name": f"t{i:03}",
            "terms": topic_terms(brand),
            "languages": ["de", "en"],
            "sources": [{"type": "jetstream", "url": url, "idle_timeout": "60s"}],
        }
        for i, brand in enumerate(brands)
    ]
    raw = {"monitor": {"database": str(folder / "jetstream.db")}, "topics": topics}
    return parse_settings(raw, folder / "settings.toml", {})


def dev_texts() -> list[str]:
    """Real posts from the labelled dev sets, when ``../shared/data`` is there."""
    texts: list[str] = []
    for path in sorted((SHARED_DATA / "sentiment-dev").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 3 and parts[-1].strip():
                texts.append(parts[-1].strip().strip('"'))
    return texts


def render_frames(
    count: int, brands: list[str], seed: int, start_us: int, step_us: int, match_share: float
) -> Iterator[str]:
    """``count`` Jetstream frames, one JSON text each, ``step_us`` apart from ``start_us``."""
    rng = random.Random(seed)
    real = dev_texts()
    fillers = brand_names(len(brands) + 40, random.Random(seed + 1))
    fillers = [name for name in fillers if name not in brands][:40]
    recent: list[tuple[str, str]] = []
    for n in range(count):
        time_us = start_us + n * step_us
        did = f"did:plc:{rng.getrandbits(100):025x}"
        roll = rng.random()
        if roll < ACCOUNT_SHARE:
            kind = "identity" if roll < ACCOUNT_SHARE / 2 else "account"
            body = {"did": did, "seq": n, "time": "2026-03-02T12:00:00.000Z"}
            yield json.dumps({"did": did, "time_us": time_us, "kind": kind, kind: body})
            continue
        if roll < ACCOUNT_SHARE + DELETE_SHARE and recent:
            did, rkey = recent[rng.randrange(len(recent))]
            commit: dict[str, Any] = {"rev": f"3l{n:x}", "operation": "delete", "rkey": rkey}
            commit["collection"] = "app.bsky.feed.post"
            yield json.dumps({"did": did, "time_us": time_us, "kind": "commit", "commit": commit})
            continue
        rkey = f"3l{n:011x}"
        recent = [*recent, (did, rkey)][-500:]
        if rng.random() < match_share:
            brand = rng.choice(brands)
            text = rng.choice(topic_terms(brand)) + " " + social_text(rng, brand=brand)[0]
            lang = "en"
        elif real and rng.random() < 0.5:
            text, lang = rng.choice(real), rng.choice(["en", "de"])
        else:
            text, lang = social_text(rng, brand=rng.choice(fillers))
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "createdAt": datetime.fromtimestamp(time_us / 1e6, tz=UTC).isoformat(),
            "langs": [lang],
            "text": text,
        }
        if rng.random() < REPLY_SHARE:
            parent = {"cid": "bafyreib2rxk3rh6kzwq", "uri": f"at://{did}/app.bsky.feed.post/3k"}
            record["reply"] = {"parent": parent, "root": parent}
        if "#" in text or "@" in text:
            record["facets"] = [
                {
                    "index": {"byteStart": 0, "byteEnd": 5},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}],
                }
            ]
        commit = {
            "rev": f"3l{n:x}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": f"bafyreih{n:020x}",
        }
        yield json.dumps({"did": did, "time_us": time_us, "kind": "commit", "commit": commit})


# -- the stand-in server (child process) ----------------------------------------------------------


def serve(frames_path: Path, rate: float) -> None:
    """Serve the frames to each connection: as fast as possible, or ``rate`` per second."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.server import serve as ws_serve

    if hasattr(os, "sched_setaffinity"):  # off the client's core, where there is another one
        cores = set(range(os.cpu_count() or 1))
        os.sched_setaffinity(0, (cores - {min(os.sched_getaffinity(0))}) or cores)
    frames = frames_path.read_text(encoding="utf-8").splitlines()

    def session(websocket: Any) -> None:
        try:
            send_frames(websocket)
            websocket.recv()  # hold the connection until the client closes it
        except ConnectionClosed:
            pass  # the client closed it: that is how a session ends

    def send_frames(websocket: Any) -> None:
        if rate <= 0:
            for frame in frames:
                websocket.send(frame)
            return
        started = time.monotonic()
        for n, frame in enumerate(frames):
            wait = started + n / rate - time.monotonic()
            if wait > 0:  # read the clock once: a second read may already be past due
                time.sleep(wait)
            event = json.loads(frame)
            event["time_us"] = int(time.time() * 1_000_000)  # stamped when sent, as live
            websocket.send(json.dumps(event))

    with ws_serve(session, "127.0.0.1", 0, max_size=None) as server:
        print(server.socket.getsockname()[1], flush=True)
        server.serve_forever()


def start_server(frames_path: Path, rate: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(frames_path), "--rate", str(rate)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    return process, f"ws://127.0.0.1:{port}/subscribe"


# -- the client (this process) --------------------------------------------------------------------


class CountingSink(StoreSink):
    """The daemon's sink, noting events, lag and memory as batches are stored."""

    def __init__(self, *args: Any, total: int, done: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.total = total
        self.done = done
        self.events = 0
        # Per batch: how old its oldest event was when stored (the one that waited longest),
        # taken as the previous batch's last event.
        self.lags: list[float] = []
        self._previous_at: datetime | None = None
        self.rss: list[tuple[int, int]] = []
        self._next_sample = 0

    def save(self, batch: StreamBatch) -> None:
        super().save(batch)
        self.events += batch.events
        oldest = self._previous_at or batch.position_at
        self.lags.append((datetime.now(UTC) - oldest).total_seconds())
        self._previous_at = batch.position_at
        if self.events >= self._next_sample:
            self.rss.append((self.events, current_rss_bytes() or 0))
            self._next_sample += max(self.total // 10, 1)
        if self.events >= self.total:
            self.done.set()


def run_client(settings: Settings, total: int, timeout: float) -> tuple[CountingSink, float, float]:
    """Read until ``total`` events are stored; answer the sink, wall and CPU seconds."""
    local = threading.local()
    scorers: dict[tuple[str, ...], Scorer] = {}

    def context() -> Context:  # the benchmark delivers nothing: no alerters
        if getattr(local, "store", None) is None:
            local.store = Store(settings.monitor.database)
            local.store.migrate()
        return Context(local.store, settings, ())

    def scorer(topic: TopicSettings) -> Scorer:
        key = tuple(topic.languages)
        if key not in scorers:
            scorers[key] = build_scorer(settings.sentiment, topic.languages)
        return scorers[key]

    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
    ((stream, subscriptions),) = build_streams(settings.topics, clock, resume=False)
    done, stop = threading.Event(), threading.Event()
    sink = CountingSink(stream.name, subscriptions, context, scorer, clock, total=total, done=done)
    wall, cpu = time.perf_counter(), time.process_time()
    reader = threading.Thread(target=stream.run, args=(sink, stop), daemon=True)
    reader.start()
    if not done.wait(timeout):
        print(f"!! only {sink.events:,} of {total:,} events in {timeout:.0f}s", flush=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.set()
    reader.join(10)
    return sink, wall, cpu


def measure(folder: Path, brands: list[str], events: int, rate: float, seed: int) -> Any:
    frames_path = folder / f"frames-{seed}.jsonl"
    start_us = int(time.time() * 1_000_000) - events * 1000
    with frames_path.open("w", encoding="utf-8") as out:
        for frame in render_frames(events, brands, seed, start_us, 1000, match_share=0.01):
            out.write(frame + "\n")
    server, url = start_server(frames_path, rate)
    try:
        settings = settings_for(folder, brands, url)
        settings.monitor.database.unlink(missing_ok=True)
        timeout = events / rate * 2 + 60 if rate > 0 else 3600
        sink, wall, cpu = run_client(settings, events, timeout)
    finally:
        server.kill()
        server.wait()
    store = Store(settings.monitor.database)
    stored = store.mention_count()
    deleted = store.mention_count(deleted_only=True)
    return sink, wall, cpu, stored, deleted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="throughput run size")
    parser.add_argument("--long", type=int, default=1_000_000, help="memory run size")
    parser.add_argument("--lag-seconds", type=int, default=60, help="lag run length")
    parser.add_argument("--runs", type=int, default=3, help="throughput repetitions")
    parser.add_argument("--only", choices=["throughput", "memory", "lag"])
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.rate)
        return 0
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {machine()}", flush=True)
    print(f"dev-set texts: {len(dev_texts()) or 'absent (generated posts only)'}", flush=True)
    print(f"client {pin_to_one_core()}; the server runs in its own process", flush=True)
    brands = brand_names(100, random.Random(7))
    with tempfile.TemporaryDirectory(prefix="shitstorm-jetstream-") as name:
        folder = Path(name)
        if args.only in (None, "throughput"):
            print(f"\n== throughput: 100 topics × 5 terms, {args.events:,} events per run")
            per_cpu = []
            for run in range(args.runs):
                sink, wall, cpu, stored, deleted = measure(folder, brands, args.events, 0, run)
                per_cpu.append(sink.events / cpu)
                print(
                    f"run {run + 1}: {sink.events / cpu:,.0f} events per CPU-second, "
                    f"{sink.events / wall:,.0f} per wall second; {stored:,} mentions stored, "
                    f"{deleted:,} marked deleted",
                    flush=True,
                )
            print(
                f"throughput: {min(per_cpu):,.0f}–{max(per_cpu):,.0f} events per CPU-second "
                f"(median {statistics.median(per_cpu):,.0f}; target ≥ 2,000)"
            )
        if args.only in (None, "memory"):
            print(f"\n== memory: {args.long:,} events in one run")
            sink, wall, cpu, stored, _ = measure(folder, brands, args.long, 0, 100)
            samples = ", ".join(f"{n / 1000:,.0f}k: {rss / MIB:.1f}" for n, rss in sink.rss)
            print(f"resident MiB after N events — {samples}")
            tenth = sink.rss[1][1] if len(sink.rss) > 1 else sink.rss[0][1]
            print(
                f"memory: {tenth / MIB:.1f} MiB at 10 % → {sink.rss[-1][1] / MIB:.1f} MiB at the "
                f"end ({(sink.rss[-1][1] - tenth) / MIB:+.1f} MiB); {sink.events / cpu:,.0f} "
                f"events per CPU-second over {wall:.0f}s; {stored:,} mentions"
            )
        if args.only in (None, "lag"):
            events = 500 * args.lag_seconds
            print(f"\n== lag at 500 events/s for {args.lag_seconds}s")
            sink, wall, cpu, _, _ = measure(folder, brands, events, 500, 200)
            lags = sorted(sink.lags[5:])  # the first batches include the connection's start
            p50 = lags[len(lags) // 2]
            p99 = lags[int(len(lags) * 0.99)]
            print(
                f"lag: median {p50:.2f}s, p99 {p99:.2f}s, max {lags[-1]:.2f}s over "
                f"{len(lags)} batches (target < 2 s); CPU {cpu / wall:.0%} of one core"
            )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

"""Every Prometheus metric the monitor exports, named in one place, served at ``GET /metrics``.

The metrics live in the module's own :data:`REGISTRY`, not prometheus-client's global one, so
importing a library that registers its own metrics cannot change what we export, and tests can
read exact values. Callers use the objects directly, for example
``metrics.MENTIONS_INGESTED.labels(topic, source).inc(n)``.

Labels are only ever configured names (topic, source) or language codes, or HTTP statuses, never
values from requests, so the number of series stays bounded.

>>> MENTIONS_INGESTED.labels("doctest", "rss").inc(3)
>>> REGISTRY.get_sample_value(
...     "shitstorm_mentions_ingested_total", {"topic": "doctest", "source": "rss"})
3.0
>>> body, content_type = render()
>>> content_type.startswith("text/plain")
True
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

# Drop the *_created series that double every counter and histogram: nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
# process_* (memory, CPU, open files) and python_info: what ops looks at first.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Sources answer within a second normally; the long tail is paging and slow APIs up to timeout.
_POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# Evaluating a bucket is aggregation plus a few river updates: milliseconds, unless SQLite stalls.
_EVALUATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

# --- ingest -------------------------------------------------------------------------------------
MENTIONS_INGESTED = Counter(
    "shitstorm_mentions_ingested",
    "Mentions stored for the first time (duplicates are not counted), by topic and source.",
    ["topic", "source"],
    registry=REGISTRY,
)
POLL_ERRORS = Counter(
    "shitstorm_poll_errors",
    "Polls that failed with a source error; the buckets they span become incomplete.",
    ["topic", "source"],
    registry=REGISTRY,
)
POLL_DURATION = Histogram(
    "shitstorm_poll_duration_seconds",
    "Wall time of one poll of one source, successful or not, including paging.",
    ["topic", "source"],
    buckets=_POLL_BUCKETS,
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "shitstorm_last_successful_poll_timestamp_seconds",
    "Unix time of the last poll that succeeded; alert when time() minus this grows too large.",
    ["topic", "source"],
    registry=REGISTRY,
)
SENTIMENT_TEXTS = Counter(
    "shitstorm_sentiment_texts",
    "Texts scored for sentiment, by the language the scorer used.",
    ["lang"],
    registry=REGISTRY,
)

# --- streams (long-lived connections such as Jetstream) ----------------------------------------
# Labelled by the stream's configured source name(s). Events per second: rate() of the counter.
STREAM_EVENTS = Counter(
    "shitstorm_stream_events",
    "Frames read from a streaming source and stored with its cursor (matching or not).",
    ["stream"],
    registry=REGISTRY,
)
STREAM_SKIPPED = Counter(
    "shitstorm_stream_skipped",
    "Frames a streaming source skipped as malformed or too large (each is logged).",
    ["stream"],
    registry=REGISTRY,
)
STREAM_LAG = Gauge(
    "shitstorm_stream_lag_seconds",
    "How far the last stored event is behind now; large while catching up after a reconnect.",
    ["stream"],
    registry=REGISTRY,
)
STREAM_RECONNECTS = Counter(
    "shitstorm_stream_reconnects",
    "Connections opened after the first one (drops, stalls, fail-overs).",
    ["stream"],
    registry=REGISTRY,
)
STREAM_CONNECTED = Gauge(
    "shitstorm_stream_connected",
    "1 while the stream's connection is open, 0 while it is reconnecting.",
    ["stream"],
    registry=REGISTRY,
)

# --- evaluate -----------------------------------------------------------------------------------
EVALUATION_SECONDS = Histogram(
    "shitstorm_evaluation_duration_seconds",
    "Wall time of one evaluation of a topic: aggregate closed buckets, detect, move incidents.",
    buckets=_EVALUATION_BUCKETS,
    registry=REGISTRY,
)
ANOMALY_SCORE = Gauge(
    "shitstorm_anomaly_score",
    "The detectors' anomaly score for the topic's last complete bucket.",
    ["topic"],
    registry=REGISTRY,
)
OPEN_INCIDENTS = Gauge(
    "shitstorm_open_incidents",
    "Incidents not yet resolved (open or acknowledged), by topic.",
    ["topic"],
    registry=REGISTRY,
)

# --- deliver ------------------------------------------------------------------------------------
NOTIFICATIONS_PENDING = Gauge(
    "shitstorm_notifications_pending",
    "Notifications in the outbox waiting to be delivered, including those awaiting a retry.",
    registry=REGISTRY,
)
NOTIFICATIONS_FAILED = Gauge(
    "shitstorm_notifications_failed",
    "Notifications the outbox gave up on (a permanent error, or retries exhausted).",
    registry=REGISTRY,
)

# --- webhook ------------------------------------------------------------------------------------
WEBHOOK_REQUESTS = Counter(
    "shitstorm_webhook_requests",
    "Webhook ingest requests by HTTP status; 401 and 404 bursts mean a misconfigured sender.",
    ["status"],
    registry=REGISTRY,
)


def render(accept: str | None = None) -> tuple[bytes, str]:
    """The registry in the exposition format the scraper asked for: ``(body, content_type)``.

    Without an ``Accept`` header this is the Prometheus text format; a scraper that asks for
    OpenMetrics gets that instead.
    """
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type

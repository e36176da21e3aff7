"""Mention sources, one module per platform, chosen by ``type`` in settings.toml.

The registry names each type's class as ``module:Class`` and imports it on first use, so a
platform's code (and its dependencies) load only when a topic configures it.
"""

from __future__ import annotations

from importlib import import_module
from typing import cast

from monitor.sources.base import SourceFactory, StreamFactory

SOURCE_TYPES: dict[str, str] = {
    "hackernews": "monitor.sources.hackernews:HackerNewsSource",
    "rss": "monitor.sources.rss:FeedSource",
    "mastodon": "monitor.sources.mastodon:MastodonSource",
    "bluesky": "monitor.sources.bluesky:BlueskySource",
    "reddit": "monitor.sources.reddit:RedditSource",
    "x": "monitor.sources.x:XSource",
    "youtube": "monitor.sources.youtube:YouTubeSource",
    "facebook": "monitor.sources.meta:FacebookPageSource",
    "instagram": "monitor.sources.meta:InstagramSource",
    # Long-lived connections instead of polls (see STREAM_TYPES).
    "jetstream": "monitor.sources.jetstream:JetstreamStream",
    # Pushed to the HTTP endpoint instead of polled.
    "webhook": "monitor.sources.webhook:WebhookSource",
}

# Types whose mentions arrive by themselves: nothing schedules a poll for them.
PUSH_TYPES = frozenset({"webhook"})
# Types that hold a connection open and read what it sends: nothing schedules a poll for them
# either; the daemon runs one connection per `StreamFactory.connection_key` instead.
STREAM_TYPES = frozenset({"jetstream"})


def source_class(type_name: str) -> SourceFactory:
    """The class registered for ``type_name``; ``KeyError`` when there is none."""
    module_name, _, class_name = SOURCE_TYPES[type_name].partition(":")
    return cast(SourceFactory, getattr(import_module(module_name), class_name))


def stream_class(type_name: str) -> StreamFactory:
    """The streaming class registered for ``type_name`` (one of :data:`STREAM_TYPES`)."""
    if type_name not in STREAM_TYPES:
        raise KeyError(type_name)
    return cast(StreamFactory, source_class(type_name))

"""Mention sources, one module per platform, chosen by ``type`` in settings.toml.

The registry names each type's class as ``module:Class`` and imports it on first use, so a
platform's code (and its dependencies) load only when a topic configures it.
"""

from __future__ import annotations

from importlib import import_module
from typing import cast

from monitor.sources.base import SourceFactory

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
    # Pushed to the HTTP endpoint instead of polled.
    "webhook": "monitor.sources.webhook:WebhookSource",
}

# Types whose mentions arrive by themselves: nothing schedules a poll for them.
PUSH_TYPES = frozenset({"webhook"})


def source_class(type_name: str) -> SourceFactory:
    """The class registered for ``type_name``; ``KeyError`` when there is none."""
    module_name, _, class_name = SOURCE_TYPES[type_name].partition(":")
    return cast(SourceFactory, getattr(import_module(module_name), class_name))

"""The push source: mentions POSTed to ``/ingest/{topic}`` by a listening vendor or a script.

It is configured like any other source (so its mentions have a source name and its secret a
variable), but nothing polls it: the HTTP endpoint in ``monitor/endpoints.py`` receives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import httpx

from monitor.sources.base import PollResult, SourceError, SourceSettings, TopicTerms


@dataclass(frozen=True, kw_only=True)
class WebhookSettings(SourceSettings):
    # Environment variable holding the HMAC secret that signs this topic's requests.
    secret_env: str = "SHITSTORM_WEBHOOK_SECRET"


class WebhookSource:
    settings_class: ClassVar[type[SourceSettings]] = WebhookSettings

    def __init__(self, settings: WebhookSettings, topic: TopicTerms) -> None:
        self.settings = settings
        self.name = settings.source_name

    def poll(self, client: httpx.Client, cursor: str | None, now: datetime) -> PollResult:
        raise SourceError(self.name, "a webhook source is pushed to, not polled")

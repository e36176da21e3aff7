"""Who is in a Slack user group: the allowlist for incident buttons may name a group."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from datetime import datetime, timedelta

log = logging.getLogger(__name__)


class SlackGroupMembers:
    """Members of a Slack user group, fetched with ``usergroups.users.list`` and cached."""

    def __init__(self, client: object, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group: str, now: datetime) -> Collection[str] | None:
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < self.ttl:
                return cached[1]
        try:
            response = self.client.usergroups_users_list(usergroup=group)  # type: ignore[attr-defined]
            users = frozenset(str(u) for u in response.get("users") or [])
        except Exception as exc:  # Slack down: keep the last known members, else fail closed
            log.warning("cannot read members of Slack user group %s: %s", group, exc)
            return cached[1] if cached else None
        with self._lock:
            self._cache[group] = (now, users)
        return users

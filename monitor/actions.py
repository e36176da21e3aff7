"""What a button click or a CLI command does to an incident: a state change and notifications.

Clicks arrive over Socket Mode or the HTTP endpoint, both as :class:`~alerts.interactions.Action`.
They never call Slack: they change the stored incident and write notifications, and the
deliver job updates the message. Each action is idempotent, so double clicks and two people
clicking at once leave one state change behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from alerts.incidents import Transition, acknowledge, give_feedback, resolve
from alerts.interactions import Action, is_allowed
from monitor import pipeline
from monitor.settings import Settings
from monitor.store import Store

log = logging.getLogger("monitor.actions")

GroupMembers = Callable[[str], Collection[str] | None]


def transition_for(action: Action, store: Store) -> Transition:
    incident = store.incident(action.incident_id)
    if action.action == "acknowledge":
        return acknowledge(incident, action.actor, action.at)
    if action.action == "resolve":
        return resolve(incident, action.actor, action.at)
    return give_feedback(incident, action.action, action.actor, action.at)


def apply_action(
    store: Store,
    settings: Settings,
    action: Action,
    group_members: GroupMembers | None = None,
) -> str | None:
    """Apply a click; returns a message for the clicking user when it was refused."""
    slack = settings.slack
    allowed_users = slack.allowed_users if slack else []
    group = slack.allowed_group if slack else None
    members = None
    if group is not None:
        members = group_members(group) if group_members else None
        members = members if members is not None else ()  # unknown membership fails closed
    if not is_allowed(action.user_id, allowed_users, members):
        log.warning("%s may not act on incidents (not on the allowlist)", action.actor)
        return "You are not on the list of people who may act on shitstorm incidents."
    try:
        with store.transaction():
            transition = transition_for(action, store)
            pipeline.apply(store, settings, transition, action.at, action.actor)
    except KeyError:
        return f"Incident #{action.incident_id} does not exist (any more)."
    if transition.events:
        log.info("incident #%d: %s by %s", action.incident_id, action.action, action.actor)
    return None


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

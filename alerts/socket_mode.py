"""Receive button clicks over Slack Socket Mode: an outbound WebSocket, no public endpoint needed.

Wraps slack_sdk's built-in ``SocketModeClient`` (app-level token ``SLACK_APP_TOKEN``, scope
``connections:write``). Every envelope is acknowledged at once — Slack shows the user an error
when no ack arrives within 3 seconds — then interactive payloads are parsed into an
:class:`~alerts.interactions.Action` and handed to ``on_action``, which changes the incident
and writes notifications (it never calls Slack itself). When ``on_action`` returns an error
text, the clicking user sees it as an ephemeral message via the payload's ``response_url``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from alerts.interactions import Action, parse_action, response_url_of

log = logging.getLogger(__name__)

ActionHandler = Callable[[Action], "str | None"]
FAILED_TEXT = "Sorry, that did not work: the monitor could not record your click. Try again."


class SocketModeListener:
    """Connects to Slack over Socket Mode and turns incident button clicks into Actions.

    ``clock`` gives the current time (the service passes its clock; library code never reads
    it). ``web_client`` only serves ``apps.connections.open``; tests point it at a fake.
    """

    def __init__(
        self,
        app_token: str,
        on_action: ActionHandler,
        *,
        clock: Callable[[], datetime],
        web_client: WebClient | None = None,
        ping_interval: float = 10,
    ) -> None:
        self.on_action = on_action
        self.clock = clock
        self.client = SocketModeClient(
            app_token=app_token,
            web_client=web_client or WebClient(),
            ping_interval=ping_interval,
            auto_reconnect_enabled=True,
            logger=log,
        )
        self.client.socket_mode_request_listeners.append(self._on_request)

    def connect(self) -> None:
        """Open the WebSocket (in slack_sdk's background threads) and return."""
        try:
            self.client.connect()
        except SlackClientError as error:
            raise ConnectionError(f"Slack Socket Mode: cannot connect: {error}") from error

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SocketModeListener:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        # Ack first: Slack re-delivers and shows a warning icon when the ack is late, and an
        # Action is idempotent where it is applied, so a click processed after the ack is safe.
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type != "interactive":
            return
        payload: Mapping[str, Any] = request.payload
        try:
            action = parse_action(payload, self.clock())
        except ValueError as error:
            log.info("Slack Socket Mode: ignoring interaction: %s", error)
            return
        try:
            problem = self.on_action(action)
        except Exception:
            log.exception(
                "Slack Socket Mode: handling %s on incident %s failed",
                action.action,
                action.incident_id,
            )
            problem = FAILED_TEXT
        if problem:
            answer_ephemerally(payload, problem)


def answer_ephemerally(payload: Mapping[str, Any], text: str) -> None:
    """Show ``text`` to the user who clicked, and only to them, via the payload's response_url.

    Also what the HTTP endpoint uses: for ``block_actions`` Slack ignores the response body,
    so an answer must go to ``response_url``. Failures are logged, never raised.
    """
    url = response_url_of(payload)
    if url is None:
        log.warning("Slack: no response_url to tell the user: %s", text)
        return
    try:
        response = WebhookClient(url, timeout=10).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        if response.status_code != 200:
            log.warning("Slack: response_url answered HTTP %s", response.status_code)
    except (SlackClientError, OSError) as error:
        log.warning("Slack: could not tell the user %r: %s", text, error)

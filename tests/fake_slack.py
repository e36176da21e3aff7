"""A fake Slack Web API on loopback, strict where real Slack is strict, recording every call.

The real ``slack_sdk.WebClient`` talks to it over HTTP (``base_url=fake.base_url``), so the
tests exercise the same request encoding (JSON for ``chat.*``, form or query for the rest),
the same error handling and the same file-upload dance as production. It checks the bearer
token, the channel, the Block Kit limits and the text fallback, answers like Slack does
(``invalid_auth``, ``channel_not_found``, ``invalid_blocks``, ``msg_too_long``, ``no_text``),
and can be told to fail (HTTP 500, 429 with ``Retry-After``, ``ok: false`` errors) to simulate
outages.

    with FakeSlack() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        ...
        assert slack.messages["C0ALERTS"][0].updates
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Limits Slack documents for Block Kit (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_MESSAGE_TEXT = 40_000
DEFAULT_SCOPES = [
    "chat:write",
    "files:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "usergroups:read",
]
# The scope each method needs (for public channels); without it Slack answers missing_scope.
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
BLOCK_TYPES = {"section", "header", "context", "divider", "actions", "image", "rich_text"}


@dataclass
class Call:
    """One request the fake received: the API method, its merged arguments, its token, when it
    came (``time.monotonic()``) and the HTTP status it was answered with."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    status: int = 0
    retry_after: int | None = None


@dataclass
class FakeMessage:
    """A message as Slack stores it, with its later edits, thread replies and shared files."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    updates: list[dict[str, Any]] = field(default_factory=list)
    replies: list[FakeMessage] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_api(self, *, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "bot_id": "B0FAKEBOT",
        }
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int


class SlackApiRejection(Exception):
    """An ``ok: false`` answer, raised inside a handler and turned into Slack's JSON body."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class FakeSlack:
    """A threaded HTTP server on 127.0.0.1:0 that behaves like the parts of Slack we use."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        channels: Mapping[str, str] | None = None,
        not_in: set[str] | None = None,
        scopes: list[str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        # channel name (without '#') → id; ids are accepted directly too.
        self.channels: dict[str, str] = dict(
            channels if channels is not None else {"social-alerts": "C0ALERTS", "ops": "C0OPS"}
        )
        self.not_in: set[str] = set(not_in or ())
        # What the bot token may do; Slack lists it in every answer's x-oauth-scopes header.
        self.scopes: list[str] = list(scopes if scopes is not None else DEFAULT_SCOPES)
        self.archived: set[str] = set()
        self.deleted: list[FakeMessage] = []
        self.calls: list[Call] = []
        self.messages: dict[str, list[FakeMessage]] = {}
        self.uploads: dict[str, bytes] = {}
        self.responses: list[dict[str, Any]] = []
        self.socket_url: str | None = None
        # Called with each API call once its answer is out (a crash test kills the client here,
        # between Slack accepting a post and the client recording that it did).
        self.after_answer: Callable[[Call], None] | None = None
        self._failures: dict[str, list[_Failure]] = {}
        self._outages: list[tuple[float, float, _Failure]] = []
        self._ts = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._filenames: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeSlack is not started"
        return int(self._server.server_address[1])

    @property
    def response_url(self) -> str:
        """A response_url for interaction payloads; what is posted there lands in ``.responses``."""
        return f"http://127.0.0.1:{self.port}/response/T0FAKE/1/secret"

    @property
    def base_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- programming and inspecting ----------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        error: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``status=429`` answers ``ratelimited`` with a ``Retry-After`` header (default 1 s);
        ``error="channel_not_found"`` (status 200) answers ``ok: false`` with that error;
        any other status answers that HTTP status with a plain body, like an outage would.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(status=status, error=error, retry_after=retry_after, times=times)
            )

    def outage(
        self,
        *,
        status: int = 500,
        seconds: float,
        after: float = 0.0,
        retry_after: int | None = None,
    ) -> None:
        """Slack down: every Web API call from ``after`` seconds from now, for ``seconds``,
        answers ``status`` (429 with ``retry_after``, default 1 s)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        start = time.monotonic() + after
        with self._lock:
            self._outages.append((start, start + seconds, _Failure(status, None, retry_after, 0)))

    def recover(self) -> None:
        """Slack is back: the outages still planned or running end now."""
        with self._lock:
            self._outages.clear()

    def calls_inside_retry_after(self) -> list[tuple[Call, Call]]:
        """Each call that came while an earlier 429's ``Retry-After`` was still running, with
        that 429."""
        with self._lock:
            calls = list(self.calls)
        limits = [c for c in calls if c.status == 429]
        found = []
        for call in calls:
            limit = next((r for r in limits if r.at < call.at < r.at + (r.retry_after or 0)), None)
            if limit is not None:
                found.append((call, limit))
        return found

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def channel_id(self, channel: str) -> str | None:
        name = channel.lstrip("#")
        if name in self.channels:
            return self.channels[name]
        return channel if channel in self.channels.values() else None

    def all_messages(self) -> Iterator[FakeMessage]:
        for msgs in self.messages.values():
            yield from msgs

    # -- HTTP plumbing -----------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        if url.path.startswith("/upload/"):
            # Record before answering: the client completes the upload as soon as it hears OK.
            with self._lock:
                self.uploads[url.path.rsplit("/", 1)[-1]] = body
                self.calls.append(Call("upload", {"bytes": len(body)}, None))
            self._reply(request, 200, b"OK - %d" % len(body), content_type="text/plain")
            return
        if url.path.startswith("/response/"):
            # Stands in for an interaction's response_url (hooks.slack.com/actions/...).
            with self._lock:
                self.responses.append(json.loads(body or b"{}"))
                self.calls.append(Call("response_url", {"path": url.path}, None))
            self._reply(request, 200, b"ok", content_type="text/plain")
            return
        if not url.path.startswith("/api/"):
            self._reply(request, 404, b"not found", content_type="text/plain")
            return
        method = url.path[len("/api/") :]
        args: dict[str, Any] = dict(parse_qsl(url.query))
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            args.update(json.loads(body or b"{}"))
        elif body:
            args.update(parse_qsl(body.decode("utf-8")))
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else args.get("token")

        call = Call(method, args, token)
        with self._lock:
            self.calls.append(call)
            failure = self._take_failure(method)
        if failure is not None:
            call.status, call.retry_after = failure.status, failure.retry_after
            self._answer_failure(request, failure)
            return
        try:
            with self._lock:
                result = self._dispatch(method, args, token)
            status, payload = 200, {"ok": True, **result}
        except SlackApiRejection as rejection:
            status = rejection.status
            payload = {"ok": False, "error": rejection.error, **rejection.extra}
        call.status = status
        headers = {"x-oauth-scopes": ",".join(self.scopes)} if token == self.bot_token else {}
        self._reply(request, status, json.dumps(payload).encode("utf-8"), headers=headers)
        if self.after_answer is not None:
            request.wfile.flush()
            self.after_answer(call)

    def _take_failure(self, method: str) -> _Failure | None:
        now = time.monotonic()
        for start, end, failure in self._outages:
            if start <= now < end and method != "apps.connections.open":
                return failure
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _answer_failure(self, request: BaseHTTPRequestHandler, failure: _Failure) -> None:
        if failure.status == 429:
            body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            headers = {"Retry-After": str(failure.retry_after)}
            self._reply(request, 429, body, headers=headers)
        elif failure.error is not None:
            body = json.dumps({"ok": False, "error": failure.error}).encode()
            self._reply(request, failure.status, body)
        else:
            self._reply(request, failure.status, b"upstream failure", content_type="text/html")

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(body)

    # -- the API methods ---------------------------------------------------------------------

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != self.app_token:
                raise SlackApiRejection("invalid_auth")
            if self.socket_url is None:
                raise SlackApiRejection("fake_has_no_socket_url")
            return {"url": self.socket_url}
        if not token:
            raise SlackApiRejection("not_authed")
        if token != self.bot_token:
            raise SlackApiRejection("invalid_auth")
        handlers = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "conversations.info": self._info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.list": self._list,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        handler = handlers.get(method)
        if handler is None:
            raise SlackApiRejection("unknown_method", status=404)
        scope = METHOD_SCOPES.get(method)
        if scope is not None and scope not in self.scopes:
            raise SlackApiRejection("missing_scope", needed=scope, provided=",".join(self.scopes))
        return handler(args)

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "shitstorm",
            "team_id": "T0FAKE",
            "user_id": "U0BOT",
            "bot_id": "B0FAKEBOT",
        }

    def _channel(self, args: Mapping[str, Any], key: str = "channel") -> str:
        channel = args.get(key)
        if not channel:
            raise SlackApiRejection("channel_not_found")
        channel_id = self.channel_id(str(channel))
        if channel_id is None:
            raise SlackApiRejection("channel_not_found")
        if channel_id in self.not_in:
            raise SlackApiRejection("not_in_channel")
        return channel_id

    def _content(self, args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = args.get("text") or ""
        blocks = args.get("blocks")
        if isinstance(blocks, str):  # form-encoded callers send blocks as a JSON string
            blocks = json.loads(blocks)
        if not text:
            # Slack accepts blocks without text with a warning; we are stricter, because a
            # message without a fallback shows an empty notification on phones.
            raise SlackApiRejection("no_text")
        if len(text) > MAX_MESSAGE_TEXT:
            raise SlackApiRejection("msg_too_long")
        checked = list(blocks or [])
        problem = block_kit_problem(checked)
        if problem is not None:
            raise SlackApiRejection("invalid_blocks", errors=[problem])
        return str(text), checked

    def _metadata(self, args: Mapping[str, Any]) -> dict[str, Any] | None:
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata is None:
            return None
        if not isinstance(metadata, dict) or "event_type" not in metadata:
            raise SlackApiRejection("invalid_metadata_format")
        return metadata

    def _next_ts(self) -> str:
        return f"1764144000.{next(self._ts):06d}"

    def _find(self, channel_id: str, ts: str) -> FakeMessage:
        for msg in self.messages.get(channel_id, []):
            if msg.ts == ts:
                return msg
            for reply in msg.replies:
                if reply.ts == ts:
                    return reply
        raise SlackApiRejection("message_not_found")

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel(args)
        text, blocks = self._content(args)
        msg = FakeMessage(
            channel=channel_id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            metadata=self._metadata(args),
        )
        thread_ts = args.get("thread_ts")
        if thread_ts:
            parent = self._find(channel_id, str(thread_ts))
            msg.thread_ts = parent.ts
            msg.reply_broadcast = _truthy(args.get("reply_broadcast"))
            parent.replies.append(msg)
        else:
            self.messages.setdefault(channel_id, []).append(msg)
        return {"channel": channel_id, "ts": msg.ts, "message": msg.as_api(with_metadata=True)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels.values():
            # chat.update wants the channel id, not its name — a classic mistake to catch.
            raise SlackApiRejection("channel_not_found")
        channel_id = self._channel(args)
        msg = self._find(channel_id, str(args.get("ts") or ""))
        text, blocks = self._content(args)
        msg.updates.append({"text": msg.text, "blocks": msg.blocks})
        msg.text, msg.blocks = text, blocks
        metadata = self._metadata(args)
        if metadata is not None:
            msg.metadata = metadata
        return {"channel": channel_id, "ts": msg.ts, "text": text}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels.values():
            raise SlackApiRejection("channel_not_found")  # chat.delete wants the id too
        channel_id = self._channel(args)
        msg = self._find(channel_id, str(args.get("ts") or ""))
        self.messages[channel_id].remove(msg)
        self.deleted.append(msg)
        return {"channel": channel_id, "ts": msg.ts}

    def _info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels.values():
            raise SlackApiRejection("channel_not_found")  # ids only, like Slack
        name = next(n for n, cid in self.channels.items() if cid == channel)
        return {
            "channel": {
                "id": channel,
                "name": name,
                "is_channel": True,
                "is_private": channel.startswith("G"),
                "is_archived": channel in self.archived,
                "is_member": channel not in self.not_in,
            }
        }

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels.values():
            raise SlackApiRejection("channel_not_found")
        channel_id = self._channel(args)
        limit = int(args.get("limit") or 100)
        with_metadata = _truthy(args.get("include_all_metadata"))
        newest_first = list(reversed(self.messages.get(channel_id, [])))
        cursor = int(args.get("cursor") or 0)
        page = newest_first[cursor : cursor + limit]
        more = cursor + limit < len(newest_first)
        return {
            "messages": [m.as_api(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(cursor + limit) if more else ""},
        }

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel(args)
        parent = self._find(channel_id, str(args.get("ts") or ""))
        with_metadata = _truthy(args.get("include_all_metadata"))
        thread = [m.as_api(with_metadata=with_metadata) for m in (parent, *parent.replies)]
        # A file shared into a thread shows there as a message of its own, as in Slack.
        thread += [
            {
                "type": "message",
                "ts": f["ts"],
                "thread_ts": parent.ts,
                "text": "",
                "files": [{k: f[k] for k in ("id", "name", "title")}],
            }
            for f in parent.files
        ]
        thread.sort(key=lambda message: str(message["ts"]))
        return {"messages": thread, "has_more": False}

    def _list(self, args: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {"id": cid, "name": name, "is_member": cid not in self.not_in}
            for name, cid in self.channels.items()
        ]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            raise SlackApiRejection("invalid_arguments")
        file_id = f"F{next(self._file_ids):08d}"
        self._filenames[file_id] = str(args["filename"])
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(str(args.get("files") or "[]"))
        if not files or any(f.get("id") not in self.uploads for f in files):
            raise SlackApiRejection("file_not_found")
        shared: list[dict[str, Any]] = [
            {
                "id": f["id"],
                "name": self._filenames.get(f["id"]),
                "title": f.get("title"),
                "size": len(self.uploads[f["id"]]),
                "ts": self._next_ts(),
            }
            for f in files
        ]
        if args.get("channel_id"):
            channel_id = self._channel(args, "channel_id")
            thread_ts = args.get("thread_ts")
            if thread_ts:
                self._find(channel_id, str(thread_ts)).files.extend(shared)
            else:
                msg = FakeMessage(
                    channel=channel_id,
                    ts=self._next_ts(),
                    text=str(args.get("initial_comment") or ""),
                    blocks=[],
                    files=list(shared),
                )
                self.messages.setdefault(channel_id, []).append(msg)
        return {"files": shared}


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true"}


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return ""


def block_kit_problem(blocks: list[dict[str, Any]]) -> str | None:
    """Why Slack would reject these blocks with ``invalid_blocks``, or None when it would not."""
    if len(blocks) > MAX_BLOCKS:
        return f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            return f"unsupported type {kind!r} {where}"
        if kind == "header":
            text = block.get("text") or {}
            if text.get("type") != "plain_text":
                return f"header text must be plain_text {where}"
            if not 0 < len(_text_of(text)) <= MAX_HEADER_TEXT:
                return f"header text must be 1..{MAX_HEADER_TEXT} characters {where}"
        elif kind == "section":
            text, fields = block.get("text"), block.get("fields") or []
            if text is None and not fields:
                return f"section needs text or fields {where}"
            if text is not None and not 0 < len(_text_of(text)) <= MAX_SECTION_TEXT:
                return f"section text must be 1..{MAX_SECTION_TEXT} characters {where}"
            if len(fields) > MAX_SECTION_FIELDS:
                return f"no more than {MAX_SECTION_FIELDS} fields {where}"
            if any(not 0 < len(_text_of(f)) <= MAX_FIELD_TEXT for f in fields):
                return f"field text must be 1..{MAX_FIELD_TEXT} characters {where}"
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS:
                return f"context needs 1..{MAX_CONTEXT_ELEMENTS} elements {where}"
            if any(
                e.get("type") in {"mrkdwn", "plain_text"}
                and not 0 < len(_text_of(e)) <= MAX_SECTION_TEXT
                for e in elements
            ):
                return f"context text must be 1..{MAX_SECTION_TEXT} characters {where}"
        elif kind == "actions":
            problem = _actions_problem(block.get("elements") or [])
            if problem:
                return f"{problem} {where}"
        elif kind == "image" and not (
            block.get("alt_text") and (block.get("image_url") or block.get("slack_file"))
        ):
            return f"image needs alt_text and image_url or slack_file {where}"
        if len(str(block.get("block_id", ""))) > 255:
            return f"block_id too long {where}"
    return None


def _actions_problem(elements: list[dict[str, Any]]) -> str | None:
    if not 0 < len(elements) <= MAX_ACTION_ELEMENTS:
        return f"actions need 1..{MAX_ACTION_ELEMENTS} elements"
    seen: set[str] = set()
    for element in elements:
        action_id = str(element.get("action_id", ""))
        if not action_id or len(action_id) > MAX_ACTION_ID or action_id in seen:
            return "action_id must be unique and 1..255 characters"
        seen.add(action_id)
        if element.get("type") == "button":
            if not 0 < len(_text_of(element.get("text"))) <= MAX_BUTTON_TEXT:
                return f"button text must be 1..{MAX_BUTTON_TEXT} characters"
            if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
                return f"button value must be at most {MAX_BUTTON_VALUE} characters"
            if element.get("style") not in (None, "primary", "danger"):
                return "button style must be primary or danger"
    return None


# -- sample notifications, shared by the Slack and console tests and the outbox tests ---------


def sample_payload(**overrides: Any) -> dict[str, Any]:
    """A realistic incident payload snapshot (see brief PAYLOAD.md); ``overrides`` replace keys."""
    end_at = datetime(2026, 11, 26, 8, 5, tzinfo=UTC)
    series = []
    for i in range(24 * 12):  # the last 24 h in 5-minute buckets, the storm in the last 30 min
        storm = i >= 24 * 12 - 6
        series.append(
            {
                "start_at": (end_at - timedelta(minutes=5 * (24 * 12 - i))).isoformat(),
                "volume": 12 + (i % 7) + (50 if storm else 0),
                "negative": 3 + (i % 3) + (40 if storm else 0),
                "expected": 3.5,
                "expected_high": 7.0,
                "anomalous": storm,
                "complete": i != 40,
            }
        )
    payload: dict[str, Any] = {
        "topic": "acme",
        "channel": None,
        "timezone": "Europe/Berlin",
        "incident": {
            "id": 7,
            "status": "open",
            "severity": 4,
            "peak_severity": 4,
            "opened_at": "2026-11-26T07:35:00+00:00",
            "updated_at": "2026-11-26T08:05:00+00:00",
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "resolved_by": None,
            "feedback": None,
            "reopened": False,
            "escalations": 0,
        },
        "opening": {
            "start_at": "2026-11-26T07:35:00+00:00",
            "end_at": "2026-11-26T07:40:00+00:00",
            "reason": "19 negative mentions in the last 5 min vs 3 expected (6.3×); "
            "54% negative vs 18% usual",
            "severity": 2,
        },
        "reason": "42 negative mentions vs 9 expected (4.7×); 61% negative vs 18% usual",
        "current": {
            "start_at": "2026-11-26T08:00:00+00:00",
            "end_at": "2026-11-26T08:05:00+00:00",
            "volume": 69,
            "negative": 42,
            "share": 0.61,
        },
        "recent": {
            "start_at": "2026-11-26T07:50:00+00:00",
            "end_at": "2026-11-26T08:05:00+00:00",
            "negative": 130,
            "volume": 200,
            "expected": 9.6,
            "expected_high": 21.0,
            "share": 0.65,
            "severity": 4,
        },
        "expected": {"negative": 9.0, "negative_high": 15.2, "share": 0.18},
        "trend": "rising",
        "totals": {
            "volume": 310,
            "negative": 190,
            "peak_negative": 60,
            "peak_at": "2026-11-26T07:55:00+00:00",
        },
        "top_posts": [
            {
                "text": "ACME hat mein Geld genommen und liefert nicht. #boykott <script>",
                "author": "@wut@social.example",
                "source": "mastodon",
                "url": "https://social.example/@wut/1",
                "created_at": "2026-11-26T08:01:00+00:00",
                "lang": "de",
                "sentiment": -0.8,
                "engagement": {"likes": 12, "reposts": 3},
            },
            {
                "text": "Anyone else locked out of their ACME account since this morning?",
                "author": "throwaway42",
                "source": "hackernews",
                "url": "https://news.example/item?id=2",
                "created_at": "2026-11-26T07:58:00+00:00",
                "lang": "en",
                "sentiment": -0.6,
                "engagement": {"points": 40},
            },
        ],
        "drivers": [
            {"term": "#boykott", "count": 31, "lift": 12.5},
            {"term": "geld", "count": 18, "lift": 6.0},
        ],
        "split": {"source": {"mastodon": 30, "hackernews": 12}, "lang": {"de": 35, "en": 7}},
        "series": series,
        "escalation": {
            "mention": "<!subteam^S0ONCALL>",
            "count": 0,
            "max": 3,
            "every_s": 900,
            "next_at": "2026-11-26T08:10:00+00:00",
        },
        "auto_resolve": {"after_s": 10800, "at": "2026-11-26T11:05:00+00:00"},
    }
    payload.update(overrides)
    return payload


def incident_update(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``payload`` with some ``incident`` fields changed (a later snapshot of the incident)."""
    return {**payload, "incident": {**payload["incident"], **changes}}


def make_notification(
    kind: str,
    payload: Mapping[str, Any] | None = None,
    *,
    id: int = 1,
    incident_id: int | None = 7,
    alerter: str = "slack",
) -> Any:
    """A ``Notification`` row as the outbox would hand it to an alerter."""
    from monitor.models import Notification, NotificationKind

    payload = sample_payload() if payload is None else payload
    return Notification(
        id=id,
        alerter=alerter,
        kind=NotificationKind(kind),
        topic=str(payload.get("topic")),
        incident_id=incident_id,
        created_at=datetime.fromisoformat("2026-11-26T08:05:00+00:00"),
        payload=payload,
    )


class FakeSocketMode:
    """A local WebSocket server speaking Slack's Socket Mode envelope protocol.

    Set ``fake_slack.socket_url = server.url`` so ``apps.connections.open`` hands it out. On
    connect it says ``hello``; :meth:`push` sends an envelope (``envelope_id``, ``type``,
    ``payload``) and :meth:`wait_ack` waits for the client's ``{"envelope_id": ...}`` ack.
    """

    def __init__(self) -> None:
        import queue

        self.outgoing: queue.Queue[str] = queue.Queue()
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self.sessions = 0
        self._sessions_changed = threading.Condition()
        self._stop = threading.Event()
        self._envelopes = itertools.count(1)
        self._server: Any = None

    def start(self) -> FakeSocketMode:
        from websockets.sync.server import serve

        self._server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket&app_id=A0FAKE"

    def push(self, payload: Mapping[str, Any], *, type: str = "interactive") -> str:
        """Send one envelope to the connected client; returns its envelope id."""
        envelope_id = f"env-{next(self._envelopes)}"
        self.outgoing.put(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": type,
                    "accepts_response_payload": False,
                    "payload": dict(payload),
                }
            )
        )
        return envelope_id

    def wait_ack(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.acks.get(timeout=timeout)

    def disconnect(self) -> None:
        """Ask the client to reconnect, as Slack does every few hours (``refresh_requested``)."""
        self.outgoing.put(
            json.dumps(
                {
                    "type": "disconnect",
                    "reason": "refresh_requested",
                    "debug_info": {"host": "fake-socket-mode"},
                }
            )
        )

    def wait_sessions(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` WebSocket sessions have said hello (reconnects included)."""
        with self._sessions_changed:
            if not self._sessions_changed.wait_for(lambda: self.sessions >= count, timeout):
                raise TimeoutError(f"only {self.sessions} Socket Mode sessions, not {count}")

    def _session(self, connection: Any) -> None:
        import queue

        from websockets.exceptions import ConnectionClosed

        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {
                        "host": "fake-socket-mode",
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": "A0FAKE"},
                }
            )
        )
        with self._sessions_changed:
            self.sessions += 1
            number = self.sessions
            self._sessions_changed.notify_all()
        self.connected.set()
        try:
            while not self._stop.is_set():
                if number != self.sessions:
                    # Like Slack, close the old connection once the client has a new one.
                    connection.close()
                    return
                with contextlib.suppress(queue.Empty):
                    connection.send(self.outgoing.get(timeout=0.01))
                try:
                    message = connection.recv(timeout=0.01)
                except TimeoutError:
                    continue
                self.acks.put(json.loads(message))
        except ConnectionClosed:
            return

"""A Jetstream stand-in on loopback: a real WebSocket server that replays from ``cursor``.

Like the real service it reads ``cursor`` (unix microseconds, inclusive) from the query string,
replays what it holds from there and then sends new events as they are added; without a cursor
it sends only what is added after the connection opened. Unlike the real one it does not filter
by ``wantedCollections``, so the client's own filtering is tested too. Frames are JSON objects
or, for the malformed case, any raw text. ``drop_after(n)`` closes the next connection after
``n`` frames, as a server restart would.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

DID = "did:plc:fakeauthor0000000000000"


def post(
    time_us: int,
    rkey: str,
    text: str,
    *,
    did: str = DID,
    langs: list[str] | None = None,
    created_at: str | None = None,
    reply_to: str | None = None,
    operation: str = "create",
) -> dict[str, Any]:
    """A post commit as Jetstream sends it."""
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": created_at or "2026-01-01T00:00:00.000Z",
        "langs": langs if langs is not None else ["en"],
    }
    if reply_to is not None:
        root = {"uri": reply_to, "cid": "bafyreiparent"}
        record["reply"] = {"root": root, "parent": root}
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"3l{rkey}",
            "operation": operation,
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": f"bafyrei{rkey}",
        },
    }


def delete(time_us: int, rkey: str, *, did: str = DID) -> dict[str, Any]:
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"3ld{rkey}",
            "operation": "delete",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
        },
    }


def like(time_us: int, rkey: str) -> dict[str, Any]:
    """A commit of another collection (a like whose subject says "Acme", which must not match)."""
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"3ll{rkey}",
            "operation": "create",
            "collection": "app.bsky.feed.like",
            "rkey": rkey,
            "record": {"text": "Acme", "subject": {"uri": "at://x/app.bsky.feed.post/acme"}},
        },
    }


def identity(time_us: int) -> dict[str, Any]:
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "identity",
        "identity": {"did": DID, "handle": "acme.example", "seq": 1, "time": "2026-01-01T00:00Z"},
    }


def account(time_us: int) -> dict[str, Any]:
    return {
        "did": DID,
        "time_us": time_us,
        "kind": "account",
        "account": {"active": True, "did": DID, "seq": 2, "time": "2026-01-01T00:00:00Z"},
    }


class FakeJetstream:
    """Serve events at ``url``; :meth:`add` appends (and sends to open connections)."""

    def __init__(self) -> None:
        self._events: list[tuple[int, str]] = []
        self._changed = threading.Condition()
        self._drop_after: int | None = None
        self._server: Any = None
        self.requests: list[Mapping[str, list[str]]] = []
        self.connections = 0
        self._stopping = False

    def add(self, *events: Mapping[str, Any] | str, time_us: int | None = None) -> None:
        """Append events: dicts are sent as JSON, strings as they are (garbage included)."""
        with self._changed:
            for event in events:
                if isinstance(event, str):
                    stamp = time_us if time_us is not None else self._last_time()
                    self._events.append((stamp, event))
                else:
                    self._events.append((int(event["time_us"]), json.dumps(event)))
            self._changed.notify_all()

    def _last_time(self) -> int:
        return self._events[-1][0] if self._events else 0

    def drop_after(self, frames: int) -> None:
        """Close the next connection (or the open one) once it has sent ``frames`` frames."""
        with self._changed:
            self._drop_after = frames
            self._changed.notify_all()

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.connections >= count, timeout):
                raise AssertionError(f"{self.connections} connection(s), expected {count}")

    def _session(self, websocket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        query = parse_qs(urlsplit(websocket.request.path).query)
        with self._changed:
            self.requests.append(query)
            self.connections += 1
            self._changed.notify_all()
            cursor = query.get("cursor")
            if cursor:
                start = int(cursor[0])
                index = next((i for i, (t, _) in enumerate(self._events) if t >= start), None)
                index = len(self._events) if index is None else index
            else:
                index = len(self._events)
        sent = 0

        def due(index: int, sent: int) -> bool:
            dropping = self._drop_after is not None and sent >= self._drop_after
            return self._stopping or index < len(self._events) or dropping

        while True:
            with self._changed:
                self._changed.wait_for(functools.partial(due, index, sent), timeout=0.2)
                if self._stopping:
                    return
                if self._drop_after is not None and sent >= self._drop_after:
                    self._drop_after = None
                    websocket.close(code=1011, reason="restarting")
                    return
                frames = [frame for _, frame in self._events[index:]]
                if self._drop_after is not None:
                    frames = frames[: self._drop_after - sent]
            try:
                for frame in frames:
                    websocket.send(frame)
            except ConnectionClosed:
                return
            index += len(frames)
            sent += len(frames)

    @contextmanager
    def serve(self) -> Iterator[str]:
        from websockets.sync.server import serve

        self._server = serve(self._session, "127.0.0.1", 0)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        port = self._server.socket.getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}/subscribe"
        finally:
            with self._changed:
                self._stopping = True
                self._changed.notify_all()
            self._server.shutdown()
            thread.join(5)

"""What an HTTP handler sees and answers, and where the server listens: the types that routes,
the webhook receiver and the settings share, without the server that carries them
(:mod:`monitor.runtime.http`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

DEFAULT_LISTEN = "127.0.0.1:8787"


class Headers(Mapping[str, str]):
    """Request headers looked up case-insensitively; repeated headers are joined with ", "."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            self._items[key] = f"{self._items[key]}, {value}" if key in self._items else value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        # Names only: values may be signatures or tokens, and reprs end up in logs.
        return f"Headers({sorted(self._items)})"


@dataclass
class Request:
    """One HTTP request as a handler sees it; ``body`` is complete and within ``max_body``."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client: str


@dataclass
class Response:
    """What a handler answers. ``Content-Length`` is added by the server."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, (text + "\n").encode("utf-8"))


Handler = Callable[[Request, dict[str, str]], Response]


def parse_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[ipv6]:port"`` as ``(host, port)``; ValueError names the value."""
    problem = f"[http] listen: expected 'host:port' or '[ipv6]:port', got {listen!r}"
    if listen.startswith("["):
        host, sep, port_text = listen[1:].partition("]:")
        if not sep or not host:
            raise ValueError(problem)
    else:
        host, sep, port_text = listen.rpartition(":")
        if not sep or not host or ":" in host:
            raise ValueError(problem)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{problem}: the port must be a number from 0 to 65535")
    return host, int(port_text)

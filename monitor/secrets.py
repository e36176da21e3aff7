"""Secrets come from the environment, a ``*_FILE`` path, or systemd credentials; never from TOML."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def read_secret(var: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret named ``var``, or None when it is not set anywhere.

    Looked up in order: the variable itself, a file named by ``{var}_FILE``, and the systemd
    credential ``$CREDENTIALS_DIRECTORY/{var.lower()}`` (what ``LoadCredential=`` provides).
    """
    env = os.environ if environ is None else environ
    value = env.get(var)
    if value:
        return value.strip()
    file_name = env.get(f"{var}_FILE")
    if file_name:
        return _read(Path(file_name))
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials:
        for name in (var.lower(), var):
            candidate = Path(credentials) / name
            if candidate.is_file():
                return _read(candidate)
    return None


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None

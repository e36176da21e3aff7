"""Secrets come from the environment, a ``*_FILE`` path, or systemd credentials; never from TOML."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SecretLookup:
    """A secret, where it was found (``origin``), or why it was not (``problem``)."""

    value: str | None
    origin: str | None = None
    problem: str | None = None


def read_secret(var: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret named ``var``, or None when it is not set anywhere.

    Looked up in order: the variable itself, a file named by ``{var}_FILE``, and the systemd
    credential ``$CREDENTIALS_DIRECTORY/{var.lower()}`` (what ``LoadCredential=`` provides).
    """
    return find_secret(var, environ).value


def find_secret(var: str, environ: Mapping[str, str] | None = None) -> SecretLookup:
    """:func:`read_secret` with its reasons: which of the three places held it, or what failed."""
    env = os.environ if environ is None else environ
    value = env.get(var)
    if value and value.strip():
        return SecretLookup(value.strip(), origin="environment")
    file_name = env.get(f"{var}_FILE")
    if file_name:
        text, problem = _read(Path(file_name))
        if text is None:
            return SecretLookup(None, problem=f"{var}_FILE={file_name}: {problem}")
        return SecretLookup(text, origin=f"file {file_name}")
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials:
        for name in (var.lower(), var):
            candidate = Path(credentials) / name
            if candidate.is_file():
                text, problem = _read(candidate)
                if text is None:
                    return SecretLookup(None, problem=f"systemd credential {candidate}: {problem}")
                return SecretLookup(text, origin=f"systemd credential {name}")
    return SecretLookup(None)


def _read(path: Path) -> tuple[str | None, str]:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, "no such file"
    except OSError as exc:
        return None, f"cannot read ({exc.strerror})"
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    return (text, "") if text else (None, "the file is empty")

"""The per-machine key behind credential fingerprints: random, 0600, in the state directory.

A fingerprint is an HMAC of the credential under this key, so what ``credentials show``
prints and what rotation state and records keep says nothing about the credential to
anyone without the key (issue 15, finding 4). The price: fingerprints compare only on the
machine (and the ``XDG_STATE_HOME``) that made them.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path

_LOG = logging.getLogger("cio_sec")

FILE_NAME = "fingerprint.key"
KEY_BYTES = 32

_lock = threading.Lock()
_keys: dict[Path, bytes] = {}


def machine_key(environ: Mapping[str, str] | None = None) -> bytes:
    """Return this machine's fingerprint key, creating it on first use.

    When the key cannot be read or written (a read-only or full disk, a damaged file),
    a key for this process alone is used and a warning says that its fingerprints cannot
    be compared with those of other runs; nothing fails because of it.
    """
    from cio_sec.settings.paths import default_state_dir  # the settings package: on use

    path = default_state_dir(os.environ if environ is None else environ) / FILE_NAME
    with _lock:
        if path not in _keys:
            _keys[path] = _load_or_create(path)
        return _keys[path]


def _load_or_create(path: Path) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        return _for_this_process(path, _reason(exc))
    try:
        return _create(path)
    except (OSError, ValueError) as exc:
        return _for_this_process(path, _reason(exc))


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"it holds {len(key)} bytes, not {KEY_BYTES}")
    return key


def _create(path: Path) -> bytes:
    """Write a new key; if another process won the race, use the key it wrote."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(fd, "wb") as handle:  # a buffered write retries short writes itself
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # NOTE: link, not rename: it fails when the file exists, so two processes starting
        # at once never each keep a different key.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _for_this_process(path: Path, reason: str) -> bytes:
    _LOG.warning(
        "cannot use the fingerprint key %s (%s): fingerprints in this run cannot be "
        "compared with those of other runs",
        path,
        reason,
    )
    return secrets.token_bytes(KEY_BYTES)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)

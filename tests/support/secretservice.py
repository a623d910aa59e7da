"""A private D-Bus session bus running gnome-keyring-daemon, for real SecretService tests.

`running_secret_service(root, password=...)` starts ``dbus-daemon`` and
``gnome-keyring-daemon --unlock --components=secrets`` with ``HOME`` and the XDG
directories under ``root``, so the login keyring they create never touches a real one.
Both processes run in the foreground as children of the test process (no ``--fork``):
they can be stopped and reaped by pid, and none is left behind.

The password is written to the daemon's stdin the way ``printf %s`` would, with no
trailing newline (a newline would become part of the password). With ``password=None``
the daemon starts without ``--unlock``: on a fresh HOME there is then no login collection,
and creating one needs a prompt that nobody can answer.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

REQUIRED_PROGRAMS = ("dbus-daemon", "gnome-keyring-daemon")
DEBIAN_PACKAGES = "gnome-keyring dbus dbus-x11"
STARTUP_TIMEOUT = 15.0
SECRETS_BUS_NAME = "org.freedesktop.secrets"

#: Runs in a subprocess (this process's sockets may be guarded by pytest-socket): exits 0
#: once the Secret Service name has an owner on the bus, 1 on timeout. NameHasOwner does
#: not start a service, unlike a method call, which would D-Bus-activate a second,
#: locked daemon if ours were not up yet.
_PROBE = """
import sys, time
from jeepney import message_bus
from jeepney.io.blocking import open_dbus_connection
address, name, deadline = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    try:
        with open_dbus_connection(address) as connection:
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(name))
            if reply.body[0]:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
"""


def require_programs() -> None:
    """Skip the calling test when the daemons are not installed, or fail it under CI.

    Raises:
        pytest.skip.Exception: a program is missing and ``CI`` is not set.
        pytest.fail.Exception: a program is missing and ``CI`` is set: CI must run these.
    """
    missing = [program for program in REQUIRED_PROGRAMS if shutil.which(program) is None]
    if not missing:
        return
    message = (
        f"real SecretService tests need {' and '.join(missing)} "
        f"(Debian packages: {DEBIAN_PACKAGES})"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so they must run", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class SecretServiceDaemon:
    """A running private session bus with a gnome-keyring Secret Service on it."""

    address: str
    """The ``DBUS_SESSION_BUS_ADDRESS`` of the private bus."""
    home: Path
    """The ``HOME`` of the daemons; the login keyring lives under it."""
    log: Path
    """Where the daemons' stdout and stderr go."""


@contextmanager
def running_secret_service(root: Path, *, password: str | None) -> Iterator[SecretServiceDaemon]:
    """Start a private bus and gnome-keyring-daemon under ``root``; stop both on exit.

    Starting twice on the same ``root`` reuses its HOME, and so its login keyring.

    Raises:
        RuntimeError: a daemon did not start, or the Secret Service did not appear on
            the bus within `STARTUP_TIMEOUT` seconds (the message includes the log).
    """
    home = root / "home"
    runtime = root / "run"
    home.mkdir(exist_ok=True)
    runtime.mkdir(mode=0o700, exist_ok=True)
    log_path = root / "daemons.log"
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(runtime),
        "LANG": "C.UTF-8",
    }
    with ExitStack() as stack:
        log = stack.enter_context(log_path.open("ab"))
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        stack.callback(_stop, bus)
        assert bus.stdout is not None
        address = _read_line(bus.stdout, STARTUP_TIMEOUT)
        if not address:
            raise RuntimeError(f"dbus-daemon printed no address\n{_tail(log_path)}")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        command = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        if password is not None:
            command.append("--unlock")
        daemon = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=log, stderr=log)
        stack.callback(_stop, daemon)
        assert daemon.stdin is not None
        if password is not None:
            daemon.stdin.write(password.encode("utf-8"))
        daemon.stdin.close()
        _wait_for_secret_service(address, env, daemon, log_path)
        yield SecretServiceDaemon(address=address, home=home, log=log_path)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _read_line(stream: IO[bytes], timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return ""
    return stream.readline().decode("utf-8").strip()


def _wait_for_secret_service(
    address: str, env: dict[str, str], daemon: subprocess.Popen[bytes], log_path: Path
) -> None:
    started = time.monotonic()
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, address, SECRETS_BUS_NAME, str(STARTUP_TIMEOUT)],
        env=env,
        check=False,
        timeout=STARTUP_TIMEOUT + 10,
    )
    if probe.returncode != 0 or daemon.poll() is not None:
        raise RuntimeError(
            f"gnome-keyring-daemon did not provide {SECRETS_BUS_NAME} within "
            f"{time.monotonic() - started:.1f}s (exit status {daemon.poll()})\n{_tail(log_path)}"
        )


def _tail(log_path: Path, lines: int = 20) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])

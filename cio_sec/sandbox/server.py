"""The `Sandbox` server: its listener, thread and lifecycle, and the in-process Python API."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import secrets
import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final

from cio_sec.errors import ConfigError
from cio_sec.sandbox.connections import Connections
from cio_sec.sandbox.models import (
    ADMIN_PREFIX,
    LOOPBACK,
    REGIONS,
    ClientError,
    Faults,
    KeySet,
    RecordedRequest,
    SandboxInfo,
)
from cio_sec.sandbox.people import Workspace
from cio_sec.sandbox.routes import Router
from cio_sec.sandbox.state import State
from cio_sec.sandbox.wire import MAX_HEAD_BYTES, json_bytes

_BACKLOG: Final = 1024
_STOP_TIMEOUT: Final = 10.0


class Sandbox:
    """A Customer.io API emulator on 127.0.0.1: a US host and an EU host, one state.

    Each host is one port serving Track, App and admin; `region` is the default account's.

    Use it as a context manager (the server runs in a daemon thread with its own event loop)
    or, from the CLI, call `run_until_interrupted` to serve in the foreground.

    A connection that has not delivered its next complete request `idle_timeout` seconds
    after connecting or after its last response is closed, so connections that clients
    abandon (or leave half-sent) do not pile up.

    Raises:
        ValueError: a host other than 127.0.0.1, an unknown region, or a bad port, limit or
            idle timeout.
    """

    # NOTE: the real Customer.io lists workspace ids as integers in its schema but as strings
    # in its docs' example; the sandbox answers integers (clients must accept both).

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        eu_port: int = 0,
        region: str = "us",
        workspace_id: int = 1001,
        seed: int | None = None,
        request_log_limit: int = 100_000,
        idle_timeout: float = 60.0,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the sandbox binds {LOOPBACK} only, not {host!r}")
        if region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
        for name, number in (("port", port), ("eu_port", eu_port)):
            if not 0 <= number <= 65535:
                raise ValueError(f"{name} must be 0-65535, not {number}")
        if request_log_limit < 0:
            raise ValueError("request_log_limit must be >= 0")
        if not 0.0 < idle_timeout < math.inf:
            raise ValueError(
                f"idle_timeout must be a positive number of seconds, not {idle_timeout!r}"
            )
        self._host = host
        self._ports = {"us": port, "eu": eu_port}
        self._state = State(
            workspace_id=workspace_id, region=region, seed=seed, log_limit=request_log_limit
        )
        self._default_keys = self._state.add_track_keys(None, None)
        self._default_app_key = self._state.add_app_key(None, None)
        self._webhook_signing_key = secrets.token_hex(32)
        self._router = Router(self._state, self._url, lambda: self.info)
        self._connections = Connections(self._router, idle_timeout=idle_timeout)
        self._bound: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a daemon thread; return once the port is listening.

        Raises:
            RuntimeError: already started.
            ConfigError: the port cannot be bound (in use, or not permitted).
        """
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        ready = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(self._serve(ready.set, handle_signals=False))
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failures.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=serve, name="cio-sec-sandbox", daemon=True)
        self._thread = thread
        thread.start()
        ready.wait()
        if failures:
            thread.join()
            self._thread = None
            raise failures[0]

    def stop(self) -> None:
        """Stop serving and close every connection; a no-op when not running."""
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stop_event.set)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(_STOP_TIMEOUT)

    def run_until_interrupted(self, on_ready: Callable[[SandboxInfo], None]) -> None:
        """Serve in the calling thread until Ctrl-C, SIGTERM or `stop()`; then return.

        `on_ready` is called once, with the info, as soon as the port is listening.

        Raises:
            ConfigError: the port cannot be bound (in use, or not permitted).
        """
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(lambda: on_ready(self.info), handle_signals=True))

    async def _serve(self, on_listening: Callable[[], None], *, handle_signals: bool) -> None:
        loop = asyncio.get_running_loop()
        stop_event = asyncio.Event()
        servers = [await self._listen("us")]
        try:
            servers.append(await self._listen("eu"))
        except ConfigError:
            servers[0].close()
            raise
        self._bound = {
            region: int(server.sockets[0].getsockname()[1])
            for region, server in zip(REGIONS, servers, strict=True)
        }
        self._loop, self._stop_event = loop, stop_event
        signalled = False
        if handle_signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGTERM, stop_event.set)
                signalled = True
        try:
            on_listening()
            await stop_event.wait()
        finally:
            if signalled:
                loop.remove_signal_handler(signal.SIGTERM)
            self._loop = self._stop_event = None
            for server in servers:
                server.close()
            await self._connections.close_all()
            for server in servers:
                await server.wait_closed()

    async def _listen(self, region: str) -> asyncio.Server:
        port = self._ports[region]
        try:
            return await asyncio.start_server(
                functools.partial(self._connections.serve, region=region),
                self._host,
                port,
                backlog=_BACKLOG,
                limit=MAX_HEAD_BYTES,
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self._host}:{port}: {exc.strerror or exc}",
                hint="choose another --port, or --port 0 for a free one",
            ) from exc

    # in-process interface -------------------------------------------------------------

    def _url(self, region: str = "us") -> str:
        return f"http://{self._host}:{self._port_of(region)}"

    def _port_of(self, region: str) -> int:
        if region not in self._bound:
            raise RuntimeError("the sandbox has not been started")
        return self._bound[region]

    @property
    def port(self) -> int:
        """The port of the US host.

        Raises:
            RuntimeError: the sandbox has not been started.
        """
        return self._port_of("us")

    @property
    def eu_port(self) -> int:
        """The port of the EU host.

        Raises:
            RuntimeError: the sandbox has not been started.
        """
        return self._port_of("eu")

    @property
    def info(self) -> SandboxInfo:
        """URLs and default credentials (the default key set exists from construction).

        Raises:
            RuntimeError: the sandbox has not been started, so its URLs are unknown.
        """
        base, eu = self._url("us"), self._url("eu")
        return SandboxInfo(
            track_url=base,
            app_url=base,
            admin_url=base + ADMIN_PREFIX,
            site_id=self._default_keys.site_id,
            track_api_key=self._default_keys.track_api_key,
            app_api_key=self._default_app_key,
            webhook_signing_key=self._webhook_signing_key,
            track_url_eu=eu,
            app_url_eu=eu,
        )

    def add_track_keys(
        self, *, workspace_id: int | None = None, region: str | None = None
    ) -> KeySet:
        """Create a Track key set (the workspace too, when unknown) and return it.

        Raises:
            ValueError: an unknown region, or one that contradicts an existing workspace.
        """
        with self._state.lock:
            return self._state.add_track_keys(workspace_id, region)

    def add_workspace(
        self,
        name: str | None = None,
        *,
        region: str | None = None,
        identifiers: str = "email_or_id",
    ) -> KeySet:
        """Add a workspace to the default account and return a Track key set for it.

        `identifiers` is ``"email_or_id"`` (path identifiers read by shape) or ``"id"``
        (always an id). The default App key lists the new workspace too.

        Raises:
            ValueError: an unknown region or identifier setting.
        """
        with self._state.lock:
            workspace = self._state.add_workspace(name, region, identifiers)
            return self._state.add_track_keys(workspace.id, None)

    def add_person(
        self,
        identifier: str,
        attributes: dict[str, object] | None = None,
        *,
        workspace_id: int | None = None,
    ) -> None:
        """Create or update a person as ``PUT /api/v1/customers/{identifier}`` would.

        Raises:
            ValueError: no such workspace, or attributes the Track API refuses.
        """
        with self._state.lock:
            workspace = self._existing(workspace_id)
            kind, value = workspace.classify(identifier)
            try:
                workspace.identify(kind, value, dict(attributes or {}))
            except ClientError as exc:
                raise ValueError(exc.message) from None

    def revoke_track_keys(self, site_id: str) -> None:
        """Revoke a Track key set: requests signed with it get 401 from now on.

        Raises:
            KeyError: no such site ID.
        """
        with self._state.lock:
            del self._state.track_keys[site_id]

    def add_app_key(self, *, workspace_id: int | None = None, region: str | None = None) -> str:
        """Create an App API key (the workspace too, when unknown) and return it.

        Raises:
            ValueError: an unknown region, or one that contradicts an existing workspace.
        """
        with self._state.lock:
            return self._state.add_app_key(workspace_id, region)

    def revoke_app_key(self, key: str) -> None:
        """Revoke an App API key: requests bearing it get 401 from now on.

        Raises:
            KeyError: no such key.
        """
        with self._state.lock:
            del self._state.app_keys[key]

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults in force (and reseed the fault sequence when `faults.seed` is set)."""
        with self._state.lock:
            self._state.set_faults(faults)

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        with self._state.lock:
            return self._state.faults

    def requests(self) -> list[RecordedRequest]:
        """Return the recorded Track and App requests, oldest first (admin ones are not kept)."""
        with self._state.lock:
            return list(self._state.log)

    def clear_requests(self) -> None:
        """Empty the request log (sequence numbers keep counting)."""
        with self._state.lock:
            self._state.log.clear()

    def people(self, workspace_id: int | None = None) -> dict[str, object]:
        """Return a workspace's people, suppressions, deletions and event count.

        This is the document ``GET /_sandbox/people`` answers.

        Raises:
            ValueError: no such workspace.
        """
        with self._state.lock:
            # A JSON round trip detaches the caller's copy from the live state.
            document = self._existing(workspace_id).document()
            detached: dict[str, object] = json.loads(json_bytes(document))
            return detached

    def _existing(self, workspace_id: int | None) -> Workspace:
        ws_id = self._state.default_workspace_id if workspace_id is None else workspace_id
        workspace = self._state.workspaces.get(ws_id)
        if workspace is None:
            raise ValueError(f"no workspace {ws_id}")
        return workspace

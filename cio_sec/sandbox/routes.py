"""Which handler answers a request, and what happens on the way: faults, auth, the log."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Final
from urllib.parse import unquote_to_bytes

from cio_sec.sandbox.admin import Admin
from cio_sec.sandbox.api import Api
from cio_sec.sandbox.models import ADMIN_PREFIX, ClientError, Faults, SandboxInfo
from cio_sec.sandbox.people import Workspace
from cio_sec.sandbox.state import State
from cio_sec.sandbox.wire import (
    MethodNotAllowedError,
    Request,
    Response,
    allow,
    json_response,
)

_UNAUTHORIZED: Final = {"meta": {"error": "Unauthorized request"}}
_TRACK_ROUTES: Final = {
    "region": ("GET",),
    "customer": ("PUT", "DELETE"),
    "suppress": ("POST",),
    "unsuppress": ("POST",),
    "events": ("POST",),
    "batch": ("POST",),
}
_APP_ROUTES: Final = {
    "workspaces": ("GET",),
    "search": ("GET",),
    "attributes": ("GET",),
}


def _match_api(path: str) -> tuple[str | None, str | None]:
    """Return (route, raw identifier segment) for an API path; route None when unknown."""
    parts = path.split("/")
    count = len(parts)
    if count >= 4 and parts[1] == "api":
        if parts[2] == "v1" and parts[3] == "customers":
            if count == 5:
                return "customer", parts[4]
            if count == 6 and parts[5] in ("suppress", "unsuppress", "events"):
                return parts[5], parts[4]
        elif count == 5 and parts[2:] == ["v1", "accounts", "region"]:
            return "region", None
        elif count == 4 and parts[2:] == ["v2", "batch"]:
            return "batch", None
    elif count >= 3 and parts[1] == "v1":
        if count == 3 and parts[2] in ("workspaces", "customers"):
            return ("workspaces" if parts[2] == "workspaces" else "search"), None
        if count == 5 and parts[2] == "customers" and parts[4] == "attributes":
            return "attributes", parts[3]
    return None, None


class Router:
    """Answers parsed requests: admin ones directly, API ones through faults and auth.

    Every API request is recorded in the state's log, dropped ones included (status 0).
    """

    def __init__(
        self, state: State, base_url: Callable[[], str], info: Callable[[], SandboxInfo]
    ) -> None:
        self.state = state
        self.api = Api(base_url)
        self.admin = Admin(state, info)

    async def respond(self, request: Request) -> Response | None:
        """Return the answer to a request; None when a fault drops the connection instead.

        Per API request: drop, latency, rate limit, throttle, error (the `Faults` order),
        then authentication and the handler; the outcome is recorded either way.
        """
        path = request.path
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            with self.state.lock:
                return _handle(lambda: self.admin.handle(request))
        received = time.time()
        route, raw_identifier = _match_api(path)
        identifier: str | None = None
        bad_identifier = False
        if raw_identifier is not None:
            try:
                identifier = unquote_to_bytes(raw_identifier).decode("utf-8")
            except UnicodeDecodeError:
                bad_identifier = True
        state = self.state
        faults = state.faults
        response: Response | None = None
        if faults.active:
            if faults.drop_rate:
                with state.lock:
                    dropped = state.draw(faults.drop_rate)
                    if dropped:
                        auth = state.authenticate(request.headers.get("authorization"))[0]
                        state.record(
                            request, received=received, status=0, auth=auth, identifier=identifier
                        )
                if dropped:
                    return None
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000.0)
            response = self._fault_response(faults)
        with state.lock:
            auth, scheme, workspace = state.authenticate(request.headers.get("authorization"))
            if response is None:
                response = _handle(
                    lambda: self.route(
                        request, route, identifier, scheme, workspace, bad_identifier=bad_identifier
                    )
                )
            state.record(
                request, received=received, status=response.status, auth=auth, identifier=identifier
            )
        return response

    def _fault_response(self, faults: Faults) -> Response | None:
        state = self.state
        with state.lock:
            wait = None if faults.rate_limit is None else state.take_token(faults.rate_limit)
            throttled = wait is None and state.draw(faults.throttle_rate)
            failed = wait is None and not throttled and state.draw(faults.error_rate)
        if wait is not None:
            extra = f"Retry-After: {max(1, math.ceil(wait))}\r\n"
            return json_response(429, {"meta": {"error": "rate limit exceeded"}}, extra)
        if throttled:
            extra = (
                ""
                if faults.retry_after is None
                else f"Retry-After: {math.ceil(faults.retry_after)}\r\n"
            )
            return json_response(
                429, {"meta": {"error": "too many requests (sandbox fault)"}}, extra
            )
        if failed:
            return json_response(faults.error_status, {"meta": {"error": "injected sandbox fault"}})
        return None

    def route(
        self,
        request: Request,
        route: str | None,
        identifier: str | None,
        scheme: str,
        workspace: Workspace | None,
        *,
        bad_identifier: bool,
    ) -> Response:
        """Answer an API request that no fault intercepted (401 unless the key fits the route).

        Raises:
            ClientError: an unknown route (404) or an invalid request.
            MethodNotAllowedError: a method the route does not serve.
        """
        if route is None:
            raise ClientError(404, "not found", errors_shape=False)
        track = route in _TRACK_ROUTES
        allow(request.method, _TRACK_ROUTES[route] if track else _APP_ROUTES[route])
        if workspace is None or scheme != ("basic" if track else "bearer"):
            return json_response(401, _UNAUTHORIZED)
        if bad_identifier:
            raise ClientError(400, "identifier is not valid UTF-8")
        if track:
            return self.api.track(route, request, workspace, identifier)
        return self.api.app(route, request, workspace, identifier)


def _handle(handler: Callable[[], Response]) -> Response:
    """Run a handler, turning its client errors into responses."""
    try:
        return handler()
    except ClientError as exc:
        return json_response(exc.status, exc.document())
    except MethodNotAllowedError as exc:
        return exc.response()

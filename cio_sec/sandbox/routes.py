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
from cio_sec.sandbox.models import ADMIN_PREFIX, REGIONS, ClientError, Faults, SandboxInfo
from cio_sec.sandbox.people import Workspace
from cio_sec.sandbox.state import State
from cio_sec.sandbox.wire import (
    MethodNotAllowedError,
    Request,
    Response,
    allow,
    json_bytes,
    json_response,
)

_UNAUTHORIZED: Final = {"meta": {"error": "Unauthorized request"}}
_WRONG_DATACENTER: Final = {"errors": [{"detail": "wrong datacenter"}]}
_EDGE_STATUSES: Final = {522: "Connection timed out", 524: "A timeout occurred"}
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
    "search": ("GET", "POST"),
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


def _edge_timeout(status: int) -> Response:
    """Return a CDN edge timeout page (522, 524): HTML, as the edge answers it, never JSON."""
    title = _EDGE_STATUSES[status]
    page = (
        f"<!DOCTYPE html>\n<html><head><title>{title} | Error {status}</title></head>\n"
        f"<body><h1>Error {status}</h1><p>{title}</p></body></html>\n"
    )
    return Response(status, page.encode(), content_type="text/html; charset=UTF-8")


def _redirect(status: int, location: str, body: bytes = b"") -> Response:
    content_type = "application/json" if body else ""
    return Response(status, body, f"Location: {location}\r\n", content_type)


def _other(region: str) -> str:
    return REGIONS[1 - REGIONS.index(region)]


class Router:
    """Answers parsed requests: admin ones directly, API ones through faults and auth.

    `url(region)` is the sandbox's base URL for a region's host (Track and App share it).
    Every API request is recorded in the state's log, dropped ones included (status 0).
    """

    def __init__(
        self, state: State, url: Callable[[str], str], info: Callable[[], SandboxInfo]
    ) -> None:
        self.state = state
        self.url = url
        self.api = Api(state, url)
        self.admin = Admin(state, info)

    async def respond(self, request: Request, host_region: str = "us") -> Response | None:
        """Return the answer to a request; None when a fault drops the connection instead.

        `host_region` is the region of the host (port) the request came in on. Per API
        request: drop, latency, rate limit, App rate limit, throttle, redirect, error (the
        `Faults` order), then authentication, the region check and the handler; the outcome
        is recorded either way.
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
            response = self._fault_response(faults, request, host_region)
        with state.lock:
            auth, scheme, workspace = state.authenticate(request.headers.get("authorization"))
            if response is None:
                response = _handle(
                    lambda: self.route(
                        request,
                        route,
                        identifier,
                        scheme,
                        workspace,
                        bad_identifier=bad_identifier,
                        host_region=host_region,
                    )
                )
            state.record(
                request, received=received, status=response.status, auth=auth, identifier=identifier
            )
        return response

    def _fault_response(
        self, faults: Faults, request: Request, host_region: str
    ) -> Response | None:
        state = self.state
        app = not request.path.startswith("/api/")
        with state.lock:
            wait = None if faults.rate_limit is None else state.take_token(faults.rate_limit)
            app_wait = (
                state.take_token(faults.app_rate_limit, "app")
                if wait is None and app and faults.app_rate_limit is not None
                else None
            )
            passed = wait is None and app_wait is None
            throttled = passed and state.draw(faults.throttle_rate)
            redirected = passed and not throttled and state.draw(faults.redirect_rate)
            permanent = redirected and state.draw(0.5)
            failed = passed and not throttled and not redirected and state.draw(faults.error_rate)
        if wait is not None:
            extra = f"Retry-After: {max(1, math.ceil(wait))}\r\n"
            return json_response(429, {"meta": {"error": "rate limit exceeded"}}, extra)
        if app_wait is not None:
            # The App API's documented 429: an errors list, and Retry-After (at least 1).
            extra = f"Retry-After: {max(1, math.ceil(app_wait))}\r\n"
            limit = f"rate limited to {faults.app_rate_limit:g} requests per 1s"
            return json_response(429, {"errors": [{"detail": limit, "status": "429"}]}, extra)
        if redirected:
            location = self.url(_other(host_region)) + request.target
            return _redirect(301 if permanent else 302, location)
        if throttled:
            extra = (
                ""
                if faults.retry_after is None
                else f"Retry-After: {math.ceil(faults.retry_after)}\r\n"
            )
            return json_response(
                429, {"meta": {"error": "too many requests (sandbox fault)"}}, extra
            )
        if failed and faults.error_status in _EDGE_STATUSES:
            return _edge_timeout(faults.error_status)
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
        host_region: str = "us",
    ) -> Response:
        """Answer an API request that no fault intercepted (401 unless the key fits the route).

        A key of the other region gets what Customer.io answers (reference §0): on Track, an
        EU key on the US host is redirected (301, same path) and a US key on the EU host is
        401; on the App API, 401, or with the ``app_wrong_region: "redirect"`` fault a 301 to
        the other host saying "wrong datacenter". The region lookup answers on either host.

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
        if workspace.region != host_region and route != "region":
            return self._wrong_region(request, workspace.region, track=track)
        if bad_identifier:
            raise ClientError(400, "identifier is not valid UTF-8")
        if track:
            return self.api.track(route, request, workspace, identifier)
        return self.api.app(route, request, workspace, identifier)

    def _wrong_region(self, request: Request, region: str, *, track: bool) -> Response:
        location = self.url(region) + request.target
        if track and region == "eu":
            return _redirect(301, location)
        if not track and self.state.faults.app_wrong_region == "redirect":
            return _redirect(301, location, json_bytes(_WRONG_DATACENTER))
        return json_response(401, _UNAUTHORIZED)


def _handle(handler: Callable[[], Response]) -> Response:
    """Run a handler, turning its client errors into responses."""
    try:
        return handler()
    except ClientError as exc:
        return json_response(exc.status, exc.document())
    except MethodNotAllowedError as exc:
        return exc.response()

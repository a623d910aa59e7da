"""Turning an unsuccessful response (redirect, 4xx, 5xx) into the typed error that explains it."""

from __future__ import annotations

import httpx

from cio_sec.client.urls import APP_URLS, TRACK_URLS, _host
from cio_sec.errors import ApiError, CredentialRejectedError, RedirectError, RemoteUnavailableError

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _status_text(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _redirect_error(response: httpx.Response, *, what: str) -> RedirectError:
    location = response.headers.get("Location")
    target: str | None = None
    if location:
        # NOTE: httpx has already refused a Location it cannot parse (RemoteProtocolError).
        joined = response.request.url.join(location)
        target = _host(joined) if joined.host else None
    if target is None:
        return RedirectError(
            f"Customer.io redirected {what} ({_status_text(response.status_code)}) "
            "without a usable destination",
            hint="check the region and the base URL settings (CIO_SEC_TRACK_URL, CIO_SEC_APP_URL)",
        )
    region = next(
        (
            name
            for name in TRACK_URLS
            if target in (_host(httpx.URL(TRACK_URLS[name])), _host(httpx.URL(APP_URLS[name])))
        ),
        None,
    )
    if region is not None:
        return RedirectError(
            f"Customer.io redirected {what} to {target}: the account is probably in the "
            f'{region.upper()} region; set region = "{region}"',
            target=target,
            hint="cio-sec does not follow redirects, so credentials are only ever sent to "
            "the host you configured",
        )
    return RedirectError(
        f"Customer.io redirected {what} to {target}; cio-sec does not follow redirects",
        target=target,
        hint="check the region and the base URL settings (CIO_SEC_TRACK_URL, CIO_SEC_APP_URL)",
    )


def check_response(
    response: httpx.Response, *, what: str, credential: str = "the credential"
) -> None:
    """Raise the typed error for an unsuccessful response; return for any 2xx (207 too).

    ``what`` names the request in messages ("the region lookup"), ``credential`` the
    credential a 401/403 rejects. Messages name the host and never carry the path, the
    query, headers or the body.

    Raises:
        RedirectError: 301, 302, 303, 307 or 308, usually a region mistake.
        CredentialRejectedError: 401 or 403.
        RemoteUnavailableError: 429 or 5xx (after any retries the caller made).
        ApiError: 404, any other 4xx, or an unexpected status.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    host = _host(response.request.url)
    if status in _REDIRECTS:
        raise _redirect_error(response, what=what)
    if status in (401, 403):
        hint = (
            "check that the key is current and belongs to this workspace and region; "
            "store the current one with `cio-sec credentials set <name>`"
        )
        if status == 403:
            hint += "; a 403 can also mean a missing key scope or the workspace IP allowlist"
        raise CredentialRejectedError(
            f"Customer.io rejected {credential} ({what}: {_status_text(status)} from {host})",
            hint=hint,
        )
    if status == 429 or 500 <= status < 600:
        raise RemoteUnavailableError(
            f"{what} failed: {host} answered {_status_text(status)}",
            hint="Customer.io is rate limiting or unavailable; wait and run the command "
            "again (it is safe to repeat)",
        )
    if status == 404:
        raise ApiError(
            f"{what} failed: {host} answered {_status_text(status)} (not found)",
            status=status,
            hint="check the region and the base URL settings",
        )
    if 400 <= status < 500:
        raise ApiError(f"{what} failed: {host} answered {_status_text(status)}", status=status)
    raise ApiError(
        f"{what} failed: {host} answered with unexpected {_status_text(status)}", status=status
    )


def cursor_repeated(what: str, base_url: httpx.URL) -> ApiError:
    """The error for a paged answer whose cursor points back at a page already read."""
    return ApiError(
        f"{what}: {_host(base_url)} returned a page cursor it had returned before",
        hint="the listing would never end; run with --debug and report it",
    )

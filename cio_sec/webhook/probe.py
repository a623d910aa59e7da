"""``verify-webhook probe``: check that your own endpoint accepts only authentic deliveries.

Sends real requests: one correctly signed delivery, then a tampered one, a stale one and
an unsigned one. A safe endpoint accepts (2xx) the first and rejects the others. A
redirect is never followed: the probe stops and names where it pointed. Of each answer
only the first `ANSWER_BYTES` are read, to show why a delivery was rejected.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cio_sec import __version__
from cio_sec.errors import ExitCode, RedirectError, RemoteUnavailableError
from cio_sec.redact import redact
from cio_sec.webhook.outbound import describe_redirect, is_redirect
from cio_sec.webhook.recipe import Scheme, Secret
from cio_sec.webhook.signing import sign

if TYPE_CHECKING:
    import httpx

DEFAULT_STALE_AGE = 3600
#: How much of an answer is read: enough for an error message, never a whole download.
ANSWER_BYTES = 4096
#: How much of it is shown.
ANSWER_CHARACTERS = 200


@dataclass(frozen=True)
class ProbeAttempt:
    """One probe request and what the endpoint answered."""

    name: str
    description: str
    should_accept: bool
    status: int
    answer: str = ""
    """The start of the answer's body, as text (untrusted: printed through `printable`)."""

    @property
    def accepted(self) -> bool:
        """A 2xx answer means the endpoint took the delivery."""
        return 200 <= self.status < 300

    @property
    def ok(self) -> bool:
        """True when the endpoint did what a safe endpoint does."""
        return self.accepted == self.should_accept

    def to_json(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "name": self.name,
            "description": self.description,
            "should_accept": self.should_accept,
            "status": self.status,
            "accepted": self.accepted,
            "ok": self.ok,
            "answer": self.answer,
        }


@dataclass(frozen=True)
class ProbeReport:
    """The result of ``probe``: each attempt, and whether only the valid one was accepted."""

    url: str
    scheme: Scheme
    secret: str
    attempts: tuple[ProbeAttempt, ...]

    @property
    def ok(self) -> bool:
        """True when the endpoint accepted the valid delivery and nothing else."""
        return all(attempt.ok for attempt in self.attempts)

    @property
    def exit_code(self) -> ExitCode:
        """0 when safe and working, 1 otherwise."""
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

    @property
    def unsafe(self) -> tuple[ProbeAttempt, ...]:
        """Forged deliveries the endpoint accepted."""
        return tuple(a for a in self.attempts if a.accepted and not a.should_accept)

    def summary(self) -> str:
        """One sentence on what the probe found."""
        if self.unsafe:
            names = ", ".join(attempt.name for attempt in self.unsafe)
            return f"UNSAFE: the endpoint accepted forged deliveries ({names})"
        if not self.attempts[0].accepted:
            return (
                "the endpoint rejected a correctly signed delivery: it may verify with "
                "another key or recipe (run `cio-sec verify-webhook` on a capture)"
            )
        return "the endpoint accepts only the correctly signed delivery"

    def to_json(self) -> dict[str, object]:
        """The JSON payload (the key's label, never the key)."""
        return {
            "url": self.url,
            "scheme": self.scheme.value,
            "secret": self.secret,
            "summary": self.summary(),
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


PROBE_URL = "the probe URL"
"""How URL errors name the probe's target (`cio_sec.client.urls.check_http_url`)."""


def probe_body(now: int) -> bytes:
    """A realistic reporting-webhook body, marked as a cio-sec probe."""
    document = {
        "data": {"identifiers": {"id": "cio-sec-probe"}, "customer_id": "cio-sec-probe"},
        "event_id": f"cio-sec-probe-{uuid.uuid4().hex[:12]}",
        "metric": "sent",
        "object_type": "email",
        "timestamp": now,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def probe(
    url: str,
    key: Secret,
    *,
    scheme: Scheme = Scheme.REPORTING,
    stale_age: int = DEFAULT_STALE_AGE,
    timeout: float = 10.0,
    now: Callable[[], float] = time.time,
) -> ProbeReport:
    """Send the probe deliveries to ``url`` (real requests) and report the answers.

    Raises:
        InputError: the URL is not http(s).
        RemoteUnavailableError: the endpoint cannot be reached or times out.
        RedirectError: the endpoint answered with a redirect (never followed).
    """
    import httpx

    from cio_sec.client.urls import check_http_url

    check_http_url(url, PROBE_URL)
    current = int(now())
    body = probe_body(current)
    signed = sign(body, key.value, current, scheme)
    tampered = body.replace(b'"metric":"sent"', b'"metric":"opened"')
    requests: list[tuple[str, str, bool, bytes, dict[str, str]]] = [
        ("valid", "correctly signed, current timestamp", True, body, signed),
        ("tampered", "body changed after signing", False, tampered, signed),
    ]
    if scheme is Scheme.REPORTING:
        old = sign(body, key.value, current - stale_age, scheme)
        requests.append(("stale", f"correctly signed {stale_age} s ago", False, body, old))
    requests.append(("unsigned", "no signature headers", False, body, {}))
    attempts = []
    headers = {"Content-Type": "application/json", "User-Agent": f"cio-sec/{__version__} probe"}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for name, description, should_accept, content, extra in requests:
            request = client.build_request(
                "POST", url, content=content, headers={**headers, **extra}
            )
            status, answer = _send(client, request, url)
            attempts.append(ProbeAttempt(name, description, should_accept, status, answer))
    return ProbeReport(url, scheme, key.label, tuple(attempts))


def _send(client: httpx.Client, request: httpx.Request, url: str) -> tuple[int, str]:
    """Send one probe; return the status and the start of the answer.

    Raises:
        RedirectError: the endpoint answered with a redirect (never followed).
        RemoteUnavailableError: the endpoint cannot be reached or times out.
    """
    import httpx

    try:
        response = client.send(request, stream=True)
        try:
            if is_redirect(response):
                raise RedirectError(
                    f"the endpoint answered {describe_redirect(response)}; "
                    "cio-sec never follows a redirect",
                    hint="probe the URL the endpoint redirects to, if it is yours "
                    "(https:// rather than http://, a trailing slash?)",
                )
            return response.status_code, _answer(response)
        finally:
            response.close()
    except httpx.HTTPError as exc:
        raise RemoteUnavailableError(
            redact(f"cannot reach {url}: {exc}"),
            hint="is the endpoint running, and is the URL right?",
        ) from exc


def _answer(response: httpx.Response) -> str:
    """The first `ANSWER_CHARACTERS` of the answer's text, reading at most `ANSWER_BYTES`."""
    received = b""
    for piece in response.iter_bytes():
        received += piece
        if len(received) >= ANSWER_BYTES:
            break
    text = received[:ANSWER_BYTES].decode("utf-8", "replace").strip()
    return text if len(text) <= ANSWER_CHARACTERS else text[:ANSWER_CHARACTERS] + "…"

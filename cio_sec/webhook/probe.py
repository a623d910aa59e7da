"""``verify-webhook probe``: check that your own endpoint accepts only authentic deliveries.

Sends real requests: one correctly signed delivery, then a tampered one, a stale one and
an unsigned one. A safe endpoint accepts (2xx) the first and rejects the others.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cio_sec import __version__
from cio_sec.errors import ExitCode, RemoteUnavailableError
from cio_sec.redact import redact
from cio_sec.webhook.signing import Scheme, Secret, sign

DEFAULT_STALE_AGE = 3600


@dataclass(frozen=True)
class ProbeAttempt:
    """One probe request and what the endpoint answered."""

    name: str
    description: str
    should_accept: bool
    status: int

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
            try:
                response = client.post(url, content=content, headers={**headers, **extra})
            except httpx.HTTPError as exc:
                raise RemoteUnavailableError(
                    redact(f"cannot reach {url}: {exc}"),
                    hint="is the endpoint running, and is the URL right?",
                ) from exc
            attempts.append(ProbeAttempt(name, description, should_accept, response.status_code))
    return ProbeReport(url, scheme, key.label, tuple(attempts))

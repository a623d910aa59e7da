"""The ``verify-webhook`` command cores: ``verify``, ``sign``, ``serve`` and ``probe``.

Each takes its request, then the settings and the store opener, then (``serve``,
``probe``) what it tells the user. The CLI parses options and calls exactly one of them;
they hold the order of the steps (references checked before anything is read, input read
before keys are looked up). ``cio_sec.webhook.verify`` and ``sign`` are the library API
for applications, so the command cores live here and are called as ``commands.verify``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from cio_sec.settings import Settings
from cio_sec.stores.chain import StoreOpener
from cio_sec.webhook.delivery import (
    DeliveryReport,
    SignedDelivery,
    VerifyOptions,
    check_delivery,
    read_bytes,
    read_delivery,
    sign_delivery,
)
from cio_sec.webhook.keys import SigningKeys, parse_refs, signing_keys
from cio_sec.webhook.limits import ServeLimits
from cio_sec.webhook.probe import PROBE_URL, ProbeReport
from cio_sec.webhook.probe import probe as send_probes
from cio_sec.webhook.receiver import DeliveryLine, Receiver
from cio_sec.webhook.recipe import Scheme


@dataclass(frozen=True)
class KeyChoice:
    """Which keys to use: the configured signing key, its previous value, extra references."""

    secret_refs: Sequence[str] = ()
    current_only: bool = False


@dataclass(frozen=True, kw_only=True)
class VerifyRequest:
    """``verify-webhook``: one delivery, as ``--body`` and headers or a captured ``--request``."""

    body: str | None = None
    raw_request: str | None = None
    """The ``--request`` file: a captured raw HTTP request."""
    timestamp: str | None = None
    signature: str | None = None
    keys: KeyChoice = field(default_factory=KeyChoice)
    options: VerifyOptions = field(default_factory=VerifyOptions)
    explain: bool = False
    stdin: BinaryIO | None = field(default=None, repr=False, compare=False)
    """Read for ``-`` instead of the process's stdin."""


@dataclass(frozen=True, kw_only=True)
class SignRequest:
    """``verify-webhook sign``: a body file to sign, and how."""

    body: str
    keys: KeyChoice = field(default_factory=KeyChoice)
    scheme: Scheme = Scheme.REPORTING
    timestamp: int | None = None
    """None signs with the current time."""
    stdin: BinaryIO | None = field(default=None, repr=False, compare=False)
    """Read for ``-`` instead of the process's stdin."""


@dataclass(frozen=True, kw_only=True)
class ServeRequest:
    """``verify-webhook serve``: where to listen, what to accept, where to forward."""

    host: str
    port: int
    forward_to: str | None = None
    keys: KeyChoice = field(default_factory=KeyChoice)
    options: VerifyOptions = field(default_factory=VerifyOptions)
    limits: ServeLimits = field(default_factory=ServeLimits)


class ServeUi(Protocol):
    """What ``serve`` tells the user while it runs."""

    def ready(self, url: str, labels: tuple[str, ...]) -> None:
        """Listening at ``url``, verifying with the keys so labelled."""

    def delivered(self, line: DeliveryLine) -> None:
        """One delivery was received and answered."""


@dataclass(frozen=True, kw_only=True)
class ProbeRequest:
    """``verify-webhook probe``: the endpoint to test, and how."""

    url: str
    keys: KeyChoice = field(default_factory=KeyChoice)
    scheme: Scheme = Scheme.REPORTING
    stale_age: int
    timeout: float


class ProbeUi(Protocol):
    """What ``probe`` tells the user before it sends anything."""

    def message(self, text: str) -> None:
        """One line for the user (not the result)."""


def verify(request: VerifyRequest, settings: Settings, opener: StoreOpener) -> DeliveryReport:
    """Read one delivery, verify it with every active key and diagnose a rejection.

    Raises:
        InputError: bad references or unreadable input (exit 2).
        ConfigError: a named reference is empty or unreadable (exit 3).
    """
    refs = parse_refs(request.keys.secret_refs)
    delivery = read_delivery(
        body=request.body,
        request=request.raw_request,
        timestamp=request.timestamp,
        signature=request.signature,
        scheme=request.options.scheme,
        stdin=_stdin(request.stdin),
    )
    active = signing_keys(settings, opener, refs, current_only=request.keys.current_only)
    return check_delivery(delivery, active, request.options, explain=request.explain)


def sign(request: SignRequest, settings: Settings, opener: StoreOpener) -> SignedDelivery:
    """Sign a body file with the first active key (a ``--secret-ref`` comes first).

    Raises:
        InputError: bad references or an unreadable body (exit 2).
        ConfigError: no key is available (exit 3).
    """
    refs = parse_refs(request.keys.secret_refs)
    data = read_bytes(request.body, _stdin(request.stdin))
    found = signing_keys(settings, opener, refs, current_only=True)
    named = {str(ref) for ref in refs}
    # A key named with --secret-ref is the one asked for; it signs ahead of the default.
    ordered = sorted(found.active, key=lambda key: key.label not in named)
    return sign_delivery(data, SigningKeys(tuple(ordered)), request.scheme, request.timestamp)


def serve(request: ServeRequest, settings: Settings, opener: StoreOpener, ui: ServeUi) -> None:
    """Run the verifying receiver until interrupted.

    ``ui.ready`` gets the URL and the labels of the active keys once listening; the
    request's limits bound what each client can hold.

    Raises:
        InputError: a bad reference or ``--forward-to`` URL (exit 2).
        ConfigError: no key is available, or the port cannot be bound (exit 3).
    """
    refs = parse_refs(request.keys.secret_refs)
    if request.forward_to is not None:
        from cio_sec.client.urls import check_http_url  # httpx only when forwarding

        check_http_url(request.forward_to, "--forward-to")
    found = signing_keys(settings, opener, refs, current_only=request.keys.current_only)
    found.require()
    receiver = Receiver(
        found,
        request.options,
        ui.delivered,
        host=request.host,
        port=request.port,
        forward_to=request.forward_to,
        limits=request.limits,
    )
    receiver.run_until_interrupted(lambda url: ui.ready(url, found.labels))


def probe(
    request: ProbeRequest, settings: Settings, opener: StoreOpener, ui: ProbeUi
) -> ProbeReport:
    """Probe an endpoint with signed, tampered, stale and unsigned deliveries.

    ``ui`` is told, before anything is sent, that real requests are about to go out.

    Raises:
        InputError: the URL is not http(s), or a bad reference (exit 2).
        ConfigError: no key is available (exit 3).
        RemoteUnavailableError: the endpoint cannot be reached (exit 4).
        RedirectError: the endpoint answered with a redirect, never followed (exit 4).
    """
    from cio_sec.client.urls import check_http_url

    check_http_url(request.url, PROBE_URL)
    refs = parse_refs(request.keys.secret_refs)
    key = signing_keys(settings, opener, refs, current_only=True).require()
    count = 4 if request.scheme is Scheme.REPORTING else 3
    ui.message(f"probe: sending {count} real POST requests to {request.url}")
    return send_probes(
        request.url,
        key,
        scheme=request.scheme,
        stale_age=request.stale_age,
        timeout=request.timeout,
    )


def _stdin(stdin: BinaryIO | None) -> BinaryIO:
    return stdin if stdin is not None else sys.stdin.buffer

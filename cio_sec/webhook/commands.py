"""One function per ``verify-webhook`` command: gather keys and input, then do the work.

The CLI parses options and calls exactly one of these; they hold the order of the steps
(references checked before anything is read, input read before keys are looked up).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from cio_sec.credentials import StoreOpener
from cio_sec.settings import Settings
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
from cio_sec.webhook.probe import PROBE_URL, ProbeReport, probe
from cio_sec.webhook.receiver import DeliveryLine, Receiver
from cio_sec.webhook.recipe import Scheme


@dataclass(frozen=True)
class KeyChoice:
    """Which keys to use: the configured signing key, its previous value, extra references."""

    secret_refs: Sequence[str] = ()
    current_only: bool = False


@dataclass(frozen=True)
class VerifyInput:
    """The ``verify-webhook`` input options as given."""

    body: str | None = None
    request: str | None = None
    timestamp: str | None = None
    signature: str | None = None
    stdin: BinaryIO | None = field(default=None, repr=False)


def verify_command(
    settings: Settings,
    opener: StoreOpener,
    given: VerifyInput,
    keys: KeyChoice,
    options: VerifyOptions,
    *,
    explain: bool = False,
) -> DeliveryReport:
    """Read one delivery, verify it with every active key and diagnose a rejection.

    Raises:
        InputError: bad references or unreadable input (exit 2).
        ConfigError: a named reference is empty or unreadable (exit 3).
    """
    refs = parse_refs(keys.secret_refs)
    delivery = read_delivery(
        body=given.body,
        request=given.request,
        timestamp=given.timestamp,
        signature=given.signature,
        scheme=options.scheme,
        stdin=_stdin(given.stdin),
    )
    active = signing_keys(settings, opener, refs, current_only=keys.current_only)
    return check_delivery(delivery, active, options, explain=explain)


def sign_command(
    settings: Settings,
    opener: StoreOpener,
    body: str,
    keys: KeyChoice,
    *,
    scheme: Scheme,
    timestamp: int | None,
    stdin: BinaryIO | None = None,
) -> SignedDelivery:
    """Sign a body file with the first active key (a ``--secret-ref`` comes first).

    Raises:
        InputError: bad references or an unreadable body (exit 2).
        ConfigError: no key is available (exit 3).
    """
    refs = parse_refs(keys.secret_refs)
    data = read_bytes(body, _stdin(stdin))
    found = signing_keys(settings, opener, refs, current_only=True)
    named = {str(ref) for ref in refs}
    # A key named with --secret-ref is the one asked for; it signs ahead of the default.
    ordered = sorted(found.active, key=lambda key: key.label not in named)
    return sign_delivery(data, SigningKeys(tuple(ordered)), scheme, timestamp)


def serve_command(
    settings: Settings,
    opener: StoreOpener,
    keys: KeyChoice,
    options: VerifyOptions,
    *,
    host: str,
    port: int,
    forward_to: str | None,
    limits: ServeLimits,
    on_ready: Callable[[str, tuple[str, ...]], None],
    on_delivery: Callable[[DeliveryLine], None],
) -> None:
    """Run the verifying receiver until interrupted.

    ``on_ready`` gets the URL and the labels of the active keys once listening; ``limits``
    bound what each client can hold.

    Raises:
        InputError: a bad reference or ``--forward-to`` URL (exit 2).
        ConfigError: no key is available, or the port cannot be bound (exit 3).
    """
    refs = parse_refs(keys.secret_refs)
    if forward_to is not None:
        from cio_sec.client.urls import check_http_url  # httpx only when forwarding

        check_http_url(forward_to, "--forward-to")
    found = signing_keys(settings, opener, refs, current_only=keys.current_only)
    found.require()
    receiver = Receiver(
        found, options, on_delivery, host=host, port=port, forward_to=forward_to, limits=limits
    )
    receiver.run_until_interrupted(lambda url: on_ready(url, found.labels))


def probe_command(
    settings: Settings,
    opener: StoreOpener,
    url: str,
    keys: KeyChoice,
    *,
    scheme: Scheme,
    stale_age: int,
    timeout: float,
    announce: Callable[[str], None],
) -> ProbeReport:
    """Probe an endpoint with signed, tampered, stale and unsigned deliveries.

    ``announce`` is told, before anything is sent, that real requests are about to go out.

    Raises:
        InputError: the URL is not http(s), or a bad reference (exit 2).
        ConfigError: no key is available (exit 3).
        RemoteUnavailableError: the endpoint cannot be reached (exit 4).
        RedirectError: the endpoint answered with a redirect, never followed (exit 4).
    """
    from cio_sec.client.urls import check_http_url

    check_http_url(url, PROBE_URL)
    refs = parse_refs(keys.secret_refs)
    key = signing_keys(settings, opener, refs, current_only=True).require()
    count = 4 if scheme is Scheme.REPORTING else 3
    announce(f"probe: sending {count} real POST requests to {url}")
    return probe(url, key, scheme=scheme, stale_age=stale_age, timeout=timeout)


def _stdin(stdin: BinaryIO | None) -> BinaryIO:
    return stdin if stdin is not None else sys.stdin.buffer

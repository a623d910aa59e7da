"""The results the API wrappers return: small frozen dataclasses in Customer.io's terms."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountRegion:
    """The answer of ``GET /api/v1/accounts/region`` for a Track credential.

    Customer.io's schema marks no field as required, so each one may be missing (None);
    `TrackApi.region` refuses an answer without the fields its caller says it needs.
    """

    region: str | None = None
    """``us`` or ``eu`` (lowercased)."""
    url: str | None = None
    """The Track API base URL of that region."""
    environment_id: str | None = None
    """The workspace the credential belongs to (an integer or a string on the wire)."""


@dataclass(frozen=True)
class BatchItemError:
    """One rejected operation of a ``/api/v2/batch`` request (HTTP 207)."""

    batch_index: int
    """Position of the operation in the request."""
    reason: str
    field: str
    message: str


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a batch: 200 means every operation was accepted."""

    status: int
    errors: tuple[BatchItemError, ...] = ()


@dataclass(frozen=True)
class Workspace:
    """A workspace an App API key can see."""

    id: str
    """The workspace id: the API types it as an integer, its docs show a string."""
    name: str
    region: str | None = None
    """``us`` or ``eu`` when the listing says (the sandbox does); None otherwise."""


@dataclass(frozen=True)
class CustomerRef:
    """The identifiers of one person found by an App API lookup."""

    id: str | None
    email: str | None
    cio_id: str | None


@dataclass(frozen=True)
class SearchPage:
    """One page of ``POST /v1/customers`` (a search by filter)."""

    people: tuple[CustomerRef, ...]
    next: str | None
    """The cursor of the next page (``start``); None on the last page."""

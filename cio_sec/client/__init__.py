"""HTTP access to Customer.io: client construction, retries, status mapping, API wrappers.

This package is the only place that builds httpx clients and the only one that translates
`httpx.HTTPError` into cio-sec errors. Nothing in it logs or raises with a URL path, a query
string, a header or a body: paths carry identifiers (PII), headers carry credentials.

One module per concern: `urls` (regions, identifiers), `retry` (the policy and the send
loops), `responses` (status codes to typed errors), `transport` (building clients),
`results` (what the wrappers return), `calls` (each endpoint's request and parser),
`api` (the wrappers) and `regions` (a wrong region told apart from a wrong key). Import
from the package; the split is an implementation detail.
"""

from __future__ import annotations

from cio_sec.client.api import AppApi, AsyncAppApi, AsyncTrackApi, TrackApi
from cio_sec.client.calls import (
    MAX_SEARCH_LIMIT,
    Call,
    batch_call,
    delete_call,
    person_attributes_call,
    person_present_call,
    search_call,
    suppress_call,
    unset_attributes_call,
)
from cio_sec.client.regions import RegionSetting, find_account, find_workspaces
from cio_sec.client.responses import check_response
from cio_sec.client.results import (
    AccountRegion,
    BatchItemError,
    BatchResult,
    CustomerRef,
    SearchPage,
    Workspace,
)
from cio_sec.client.retry import (
    DEFAULT_RETRY_POLICY,
    RateLimiterHook,
    RetryEvent,
    RetryPolicy,
    Sent,
    TransportFailedError,
    asend_counted,
    asend_with_retry,
    send_with_retry,
)
from cio_sec.client.transport import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    build_app_client,
    build_async_app_client,
    build_async_track_client,
    build_track_client,
)
from cio_sec.client.urls import APP_URLS, TRACK_URLS, app_base_url, quote_identifier, track_base_url

__all__ = [
    "APP_URLS",
    "CONNECT_TIMEOUT",
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUT",
    "MAX_SEARCH_LIMIT",
    "TRACK_URLS",
    "USER_AGENT",
    "AccountRegion",
    "AppApi",
    "AsyncAppApi",
    "AsyncTrackApi",
    "BatchItemError",
    "BatchResult",
    "Call",
    "CustomerRef",
    "RateLimiterHook",
    "RegionSetting",
    "RetryEvent",
    "RetryPolicy",
    "SearchPage",
    "Sent",
    "TrackApi",
    "TransportFailedError",
    "Workspace",
    "app_base_url",
    "asend_counted",
    "asend_with_retry",
    "batch_call",
    "build_app_client",
    "build_async_app_client",
    "build_async_track_client",
    "build_track_client",
    "check_response",
    "delete_call",
    "find_account",
    "find_workspaces",
    "person_attributes_call",
    "person_present_call",
    "quote_identifier",
    "search_call",
    "send_with_retry",
    "suppress_call",
    "track_base_url",
    "unset_attributes_call",
]

"""A local Customer.io API emulator on 127.0.0.1: Track v1/v2, App API, admin, faults.

The sandbox is a small asyncio HTTP/1.1 server built on the standard library only, so that
it can sustain the request rates the erasure engine is benchmarked at (``http.server``
cannot: see the engineering notes in the design document). It answers as the documented
API does (reference §0), kindness removed: deleting or suppressing nobody is a silent 200,
a key of the other region is redirected or refused, App keys list their whole account.

Two ports share one state: the US host and the EU host. Each serves Track, App and admin.
State (accounts, workspaces, people, keys, faults, the request log) is guarded by one lock:
the server's event loop touches it in short synchronous sections, and the in-process
methods of `Sandbox` may be called from any thread. A connection that sends no complete
request for ``idle_timeout`` seconds (60 by default) is closed.

HTTP surface (per host; ``{id}`` is one raw path segment, percent-decoded exactly once):

- Track (HTTP Basic ``site_id:track_api_key``): ``GET /api/v1/accounts/region``;
  ``PUT|DELETE /api/v1/customers/{id}``; ``POST /api/v1/customers/{id}/suppress``,
  ``.../unsuppress``, ``.../events``; ``POST /api/v2/batch`` (207 with per-item errors).
- App (``Bearer <app key>``): ``GET /v1/workspaces`` (the key's account),
  ``GET /v1/customers?email=``, ``GET /v1/customers/{id}/attributes?id_type=id|email|cio_id``,
  ``POST /v1/customers?limit=&start=`` (search by filter); people routes answer for the
  key's own workspace.
- Admin (no auth, never faulted or logged), under ``/_sandbox``: ``POST /workspaces``,
  ``POST /track-keys``, ``DELETE /track-keys/{site_id}``, ``POST /app-keys``,
  ``DELETE /app-keys/{key}`` (key POST bodies optionally ``{"workspace_id": int, "region":
  "us"|"eu"}``), ``GET /people[?workspace_id=N]``, ``GET|PUT /faults``,
  ``GET /requests[?since=SEQ]`` (entries with a greater ``seq``), ``DELETE /requests``,
  ``GET /info``.

Errors are JSON: ``{"meta": {"errors": [...]}}`` for invalid Track input (as Customer.io
answers 400s), ``{"meta": {"error": "..."}}`` otherwise, except where the App API
documents its own shape (429, wrong datacenter) and CDN edge timeouts (HTML).

One module per concern: `models` (public value types, limits), `people` (one workspace's
profiles), `search` (App API filters), `state` (accounts, workspaces, keys, faults, the
request log), `wire` (HTTP/1.1 parsing and rendering), `api` (Track and App handlers),
`admin` (the ``/_sandbox`` handlers), `routes` (dispatch, faults, auth, regions, logging),
`connections` (keep-alive, idle close) and `server` (`Sandbox`). Import from the package;
the split is an implementation detail.
"""

from __future__ import annotations

from cio_sec.sandbox.models import (
    ADMIN_PREFIX,
    LOOPBACK,
    MAX_BATCH_BYTES,
    MAX_BATCH_ITEM_BYTES,
    MAX_EVENT_NAME_BYTES,
    MAX_IDENTIFIER_BYTES,
    REGIONS,
    Faults,
    KeySet,
    RecordedRequest,
    SandboxInfo,
)
from cio_sec.sandbox.server import Sandbox

__all__ = [
    "ADMIN_PREFIX",
    "LOOPBACK",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ITEM_BYTES",
    "MAX_EVENT_NAME_BYTES",
    "MAX_IDENTIFIER_BYTES",
    "REGIONS",
    "Faults",
    "KeySet",
    "RecordedRequest",
    "Sandbox",
    "SandboxInfo",
]

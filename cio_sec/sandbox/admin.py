"""The admin interface under ``/_sandbox``: keys, people, faults, the request log, info.

It plays the operator's actions in the Customer.io UI. It needs no credentials and is never
faulted or logged; every error it answers has the ``{"meta": {"error": "..."}}`` shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast
from urllib.parse import unquote_to_bytes

from cio_sec.sandbox.models import ADMIN_PREFIX, ClientError, Faults, SandboxInfo
from cio_sec.sandbox.state import State
from cio_sec.sandbox.wire import (
    NO_CONTENT,
    Request,
    Response,
    allow,
    json_object,
    json_response,
    query_int,
)


class Admin:
    """The ``/_sandbox`` handlers over one `State`; they run with the state lock held."""

    def __init__(self, state: State, info: Callable[[], SandboxInfo]) -> None:
        self.state = state
        self.info = info

    def handle(self, request: Request) -> Response:
        """Answer an admin request.

        Raises:
            ClientError: a bad body or query, or an unknown resource, key or workspace.
            MethodNotAllowedError: a method the resource does not serve.
        """
        try:
            return self._handle(request)
        except ClientError as exc:
            exc.errors_shape = False  # admin errors are all {"meta": {"error": "..."}}
            raise

    def _handle(self, request: Request) -> Response:
        parts = request.path[len(ADMIN_PREFIX) :].split("/")
        resource = parts[1] if len(parts) > 1 else ""
        method = request.method
        if len(parts) == 3 and resource in ("track-keys", "app-keys") and parts[2]:
            allow(method, ("DELETE",))
            key = unquote_to_bytes(parts[2]).decode("utf-8", errors="replace")
            removed = (
                self.state.track_keys.pop(key, None)
                if resource == "track-keys"
                else self.state.app_keys.pop(key, None)
            )
            if removed is None:
                raise ClientError(404, f"no such {resource[:-1]}")
            return NO_CONTENT
        if len(parts) != 2:
            raise ClientError(404, "not found")
        if resource in ("track-keys", "app-keys"):
            allow(method, ("POST",))
            doc = json_object(request.body, what="request body")
            workspace_id, region = _workspace_arguments(doc)
            try:
                if resource == "track-keys":
                    return json_response(
                        200, self.state.add_track_keys(workspace_id, region).to_json()
                    )
                key = self.state.add_app_key(workspace_id, region)
            except ValueError as exc:
                raise ClientError(400, str(exc)) from None
            return json_response(
                200, {"app_api_key": key, "workspace_id": self.state.app_keys[key]}
            )
        if resource == "workspaces":
            allow(method, ("POST",))
            name, region, identifiers = _new_workspace(
                json_object(request.body, what="request body")
            )
            try:
                created = self.state.add_workspace(name, region, identifiers)
            except ValueError as exc:
                raise ClientError(400, str(exc)) from None
            keys = self.state.add_track_keys(created.id, None)
            return json_response(
                200,
                {
                    "workspace_id": created.id,
                    "site_id": keys.site_id,
                    "track_api_key": keys.track_api_key,
                },
            )
        if resource == "people":
            allow(method, ("GET",))
            workspace_id = query_int(request, "workspace_id")
            workspace = self.state.workspaces.get(
                self.state.default_workspace_id if workspace_id is None else workspace_id
            )
            if workspace is None:
                raise ClientError(404, f"no workspace {workspace_id}")
            return json_response(200, workspace.document())
        if resource == "faults":
            allow(method, ("GET", "PUT"))
            if method == "PUT":
                try:
                    self.state.set_faults(
                        Faults.from_json(json_object(request.body, what="faults"))
                    )
                except ValueError as exc:
                    raise ClientError(400, str(exc)) from None
            return json_response(200, self.state.faults.to_json())
        if resource == "requests":
            allow(method, ("GET", "DELETE"))
            if method == "DELETE":
                self.state.log.clear()
                return NO_CONTENT
            since = query_int(request, "since") or 0
            recorded = [entry.to_json() for entry in self.state.log if entry.seq > since]
            return json_response(200, {"requests": recorded})
        if resource == "info":
            allow(method, ("GET",))
            return json_response(200, self.info().to_json())
        raise ClientError(404, "not found")


def _workspace_arguments(doc: dict[str, object]) -> tuple[int | None, str | None]:
    unknown = set(doc) - {"workspace_id", "region"}
    if unknown:
        raise ClientError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    workspace_id = doc.get("workspace_id")
    if workspace_id is not None and (
        isinstance(workspace_id, bool) or not isinstance(workspace_id, int)
    ):
        raise ClientError(400, "workspace_id must be an integer")
    region = doc.get("region")
    if region is not None and not isinstance(region, str):
        raise ClientError(400, "region must be a string")
    return workspace_id, region


def _new_workspace(doc: dict[str, object]) -> tuple[str | None, str | None, str]:
    unknown = set(doc) - {"name", "region", "identifiers"}
    if unknown:
        raise ClientError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    values = [doc.get(field) for field in ("name", "region", "identifiers")]
    for field, value in zip(("name", "region", "identifiers"), values, strict=True):
        if value is not None and not isinstance(value, str):
            raise ClientError(400, f"{field} must be a string")
    name, region, identifiers = (cast("str | None", value) for value in values)
    return name, region, identifiers or "email_or_id"

"""The Track (v1 people, v2 batch) and App API handlers, over one workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from cio_sec.sandbox.models import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ITEM_BYTES,
    MAX_EVENT_NAME_BYTES,
    MAX_IDENTIFIER_BYTES,
    ClientError,
)
from cio_sec.sandbox.people import IDENTIFIER_KINDS, Person, Workspace
from cio_sec.sandbox.search import search
from cio_sec.sandbox.state import State
from cio_sec.sandbox.wire import (
    EMPTY_OK,
    Request,
    Response,
    json_bytes,
    json_object,
    json_response,
    parse_query,
)

_BATCH_ACTIONS: Final = ("identify", "delete", "suppress", "unsuppress")


def _identifier_bytes(value: str) -> int:
    return len(value.encode("utf-8"))


def _check_identifier(identifier: str) -> str:
    """Return the identifier when acceptable.

    Raises:
        ClientError: empty, or over the 150-byte limit.
    """
    if not identifier:
        raise ClientError(400, "identifier must not be empty")
    if _identifier_bytes(identifier) > MAX_IDENTIFIER_BYTES:
        raise ClientError(400, f"identifier is longer than {MAX_IDENTIFIER_BYTES} bytes")
    return identifier


def _batch_error(index: int, reason: str, field_name: str, message: str) -> dict[str, object]:
    return {"batch_index": index, "reason": reason, "field": field_name, "message": message}


def _batch_operation(
    index: int, item: object, setting: str
) -> tuple[tuple[str, str, str, dict[str, object]] | None, dict[str, object] | None]:
    """Validate one batch item: ((action, kind, value, attributes), None) or (None, error)."""
    if not isinstance(item, dict):
        return None, _batch_error(index, "invalid", "item", "item must be an object")
    if len(json_bytes(item)) > MAX_BATCH_ITEM_BYTES:
        return None, _batch_error(index, "too_large", "item", "item is larger than 32 KB")
    if item.get("type") != "person":
        return None, _batch_error(index, "unsupported", "type", "type must be person")
    action = item.get("action")
    if action not in _BATCH_ACTIONS:
        message = f"action must be one of {', '.join(_BATCH_ACTIONS)}"
        return None, _batch_error(index, "unsupported", "action", message)
    identifiers = item.get("identifiers")
    if not isinstance(identifiers, dict) or not identifiers:
        return None, _batch_error(index, "required", "identifiers", "identifiers are required")
    if len(identifiers) != 1 or not set(identifiers) <= set(IDENTIFIER_KINDS):
        message = "identifiers must hold exactly one of id, email, cio_id"
        return None, _batch_error(index, "invalid", "identifiers", message)
    ((kind, value),) = identifiers.items()
    if kind == "email" and setting == "id":
        message = "email is not an identifier in this workspace (identifiers: id)"
        return None, _batch_error(index, "invalid", "identifiers.email", message)
    if isinstance(value, int) and not isinstance(value, bool) and kind != "email":
        value = str(value)
    if not isinstance(value, str) or not value:
        message = f"identifiers.{kind} must be a non-empty string"
        return None, _batch_error(index, "invalid", f"identifiers.{kind}", message)
    if _identifier_bytes(value) > MAX_IDENTIFIER_BYTES:
        message = f"identifiers.{kind} is longer than {MAX_IDENTIFIER_BYTES} bytes"
        return None, _batch_error(index, "too_long", f"identifiers.{kind}", message)
    attributes = item.get("attributes", {})
    if not isinstance(attributes, dict):
        return None, _batch_error(index, "invalid", "attributes", "attributes must be an object")
    return (str(action), kind, value, attributes), None


class Api:
    """Track and App handlers; all run with the state lock held, after authentication.

    `track_url(region)` is the sandbox's Track base URL for a region.
    """

    def __init__(self, state: State, track_url: Callable[[str], str]) -> None:
        self.state = state
        self.track_url = track_url

    def _erase(self, action: str, workspace: Workspace, kind: str, value: str) -> None:
        """Delete or suppress, unless the `ignore_delete_rate` fault loses the request."""
        faults = self.state.faults
        if self.state.draw(faults.ignore_delete_rate):
            return
        erase = workspace.delete if action == "delete" else workspace.suppress
        erase(kind, value, lag=faults.delete_lag_ms / 1000.0, now=time.monotonic())

    # Track -------------------------------------------------------------------------

    def track(
        self, route: str, request: Request, workspace: Workspace, identifier: str | None
    ) -> Response:
        """Answer a Track v1 route (or the v2 batch) for the workspace the keys open.

        Raises:
            ClientError: invalid identifiers, bodies or attributes.
        """
        if route == "region":
            doc = {
                "url": self.track_url(workspace.region),
                "region": workspace.region,
                "environment_id": workspace.id,
            }
            return json_response(200, doc)
        if route == "batch":
            return self.batch(request, workspace)
        kind, value = workspace.classify(_check_identifier(identifier or ""))
        if route == "customer":
            if request.method == "DELETE":
                self._erase("delete", workspace, kind, value)
            else:
                attributes = json_object(request.body, what="request body")
                if not self.state.draw(self.state.faults.ignore_update_rate):
                    workspace.identify(kind, value, attributes)
        elif route == "suppress":
            self._erase("suppress", workspace, kind, value)
        elif route == "unsuppress":
            workspace.unsuppress(kind, value)
        else:
            name = json_object(request.body, what="request body").get("name")
            if not isinstance(name, str) or not name:
                raise ClientError(400, "name is required")
            if _identifier_bytes(name) > MAX_EVENT_NAME_BYTES:
                raise ClientError(400, f"name is longer than {MAX_EVENT_NAME_BYTES} bytes")
            workspace.track_event(kind, value)
        return EMPTY_OK

    def batch(self, request: Request, workspace: Workspace) -> Response:
        """Apply the valid items of a v2 batch; 207 lists the invalid ones.

        Raises:
            ClientError: a batch over 500 KB, or a body that is not ``{"batch": [...]}``.
        """
        if len(request.body) > MAX_BATCH_BYTES:
            raise ClientError(413, "batch is larger than 500 KB")
        items = json_object(request.body, what="batch request").get("batch")
        if not isinstance(items, list):
            raise ClientError(400, "batch must be a list")
        errors: list[dict[str, object]] = []
        for index, item in enumerate(items):
            operation, error = _batch_operation(index, item, workspace.identifiers)
            if operation is not None:
                action, kind, value, attributes = operation
                if action == "identify":
                    try:
                        workspace.identify(kind, value, attributes)
                    except ClientError as exc:
                        error = _batch_error(index, "invalid", "attributes", exc.message)
                elif action in ("delete", "suppress"):
                    self._erase(action, workspace, kind, value)
                else:
                    workspace.unsuppress(kind, value)
            if error is not None:
                errors.append(error)
        return json_response(207, {"errors": errors}) if errors else EMPTY_OK

    # App ---------------------------------------------------------------------------

    def app(
        self, route: str, request: Request, workspace: Workspace, identifier: str | None
    ) -> Response:
        """Answer an App API route for the workspace the key opens.

        The key belongs to that workspace's account: ``/v1/workspaces`` lists all of the
        account's workspaces; people routes answer for the key's own workspace, since App
        keys are workspace-scoped (the App API spec says so of its bearer keys).

        Raises:
            ClientError: a bad query, body or identifier, or an unknown person (404).
        """
        if route == "workspaces":
            listed = [ws.summary() for ws in self.state.account_workspaces(workspace)]
            return json_response(200, {"workspaces": listed})
        query = parse_query(request)
        now = time.monotonic()
        if route == "search" and request.method == "POST":
            return json_response(200, search(workspace, request.body, query, now))
        if route == "search":
            email = (query.get("email") or [""])[-1]
            if not email:
                raise ClientError(400, "email is required", errors_shape=False)
            person = workspace.visible("email", email, now)
            results = [] if person is None else [person.identifiers()]
            return json_response(200, {"results": results})
        return json_response(
            200, {"customer": _customer(self._read_back(workspace, query, identifier, now))}
        )

    def _read_back(
        self,
        workspace: Workspace,
        query: dict[str, list[str]],
        identifier: str | None,
        now: float,
    ) -> Person:
        id_type = (query.get("id_type") or ["id"])[-1]
        enabled = ("id", "cio_id") if workspace.identifiers == "id" else IDENTIFIER_KINDS
        if id_type not in enabled:
            raise ClientError(
                400, f"id_type {id_type} is not enabled in this workspace", errors_shape=False
            )
        value = _check_identifier(identifier or "")
        if id_type == "cio_id" and value.startswith("cio_"):
            value = value[4:]
        person = workspace.visible(id_type, value, now)
        if person is None:
            raise ClientError(404, "person not found", errors_shape=False)
        return person


def _customer(person: Person) -> dict[str, object]:
    """Return a person as ``GET /v1/customers/{id}/attributes`` answers (``customer``)."""
    identifiers = person.identifiers()
    present = {name: value for name, value in identifiers.items() if value is not None}
    attributes = {**person.attributes, **present}
    return {"id": person.id, "identifiers": identifiers, "attributes": attributes}

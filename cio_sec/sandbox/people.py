"""One workspace's people: identify, delete, suppress, unsuppress and events, by identifier."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

from cio_sec.sandbox.models import ClientError

IDENTIFIER_KINDS: Final = ("id", "email", "cio_id")
_CONTROL_ATTRIBUTES: Final = ("_update", "_timestamp")
"""Request controls the Track API reads, never stored as attributes."""
IDENTIFIER_SETTINGS: Final = ("email_or_id", "id")
"""A workspace reads a path identifier by shape (``email_or_id``) or always as an id."""


@dataclass
class Person:
    """One profile; `cio_id` is assigned by the sandbox, `id` and `email` by the caller."""

    cio_id: str
    id: str | None = None
    email: str | None = None
    attributes: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """Return the person as ``GET /_sandbox/people`` lists them."""
        return {
            "id": self.id,
            "email": self.email,
            "cio_id": self.cio_id,
            "attributes": dict(self.attributes),
        }

    def identifiers(self) -> dict[str, object]:
        """Return the person's identifiers as the App API answers them."""
        return {"email": self.email, "id": self.id, "cio_id": self.cio_id}


def _path_form(kind: str, value: str) -> str:
    """Return an identifier as it would appear in a Track path (``cio_`` prefixed cio_id)."""
    return f"cio_{value}" if kind == "cio_id" else value


def _suppression_key(kind: str, value: str) -> str:
    return value.lower() if kind == "email" else _path_form(kind, value)


def classify(identifier: str, setting: str = "email_or_id") -> tuple[str, str]:
    """Return (kind, value) of a path identifier, as a workspace with `setting` reads it.

    By shape in ``email_or_id`` workspaces, as Customer.io does; in ``id`` workspaces an
    ``@`` means nothing, so ``a@b.c`` is an id. ``cio_`` always names a cio_id.
    """
    if identifier.startswith("cio_"):
        return "cio_id", identifier[4:]
    if "@" in identifier and setting == "email_or_id":
        return "email", identifier
    return "id", identifier


class Workspace:
    """People, suppressions, deletions and event counts of one workspace.

    A person deleted while a lag is set stays visible to `visible` (the App API's view)
    until the lag has passed, as Customer.io's deletions take a while to show.
    """

    def __init__(
        self,
        workspace_id: int,
        region: str,
        next_cio_id: Callable[[], str],
        *,
        account_id: int = 0,
        name: str | None = None,
        identifiers: str = "email_or_id",
    ) -> None:
        self.id = workspace_id
        self.region = region
        self.account_id = account_id
        self.name = name or f"Sandbox workspace {workspace_id}"
        self.identifiers = identifiers
        self._next_cio_id = next_cio_id
        self.people: dict[str, Person] = {}
        self.by_id: dict[str, Person] = {}
        self.by_email: dict[str, Person] = {}
        self.suppressed: set[str] = set()
        self.deleted: list[str] = []
        self.events = 0
        self._lagging: deque[tuple[float, Person]] = deque()

    def classify(self, identifier: str) -> tuple[str, str]:
        """Return (kind, value) of a path identifier under this workspace's setting."""
        return classify(identifier, self.identifiers)

    def visible(self, kind: str, value: str, now: float) -> Person | None:
        """Return the person the App API finds at monotonic time `now` (lagging ones too)."""
        person = self.find(kind, value)
        if person is not None:
            return person
        for until, ghost in reversed(self._lagging):
            if until > now and _matches(ghost, kind, value):
                return ghost
        return None

    def everyone_visible(self, now: float) -> Iterator[Person]:
        """Yield the people the App API lists at `now`: live ones and lagging deleted ones."""
        yield from self.people.values()
        for until, ghost in self._lagging:
            if until > now and ghost.cio_id not in self.people:
                yield ghost

    def find(self, kind: str, value: str) -> Person | None:
        """Return the person an identifier of `kind` names (emails match case-blind)."""
        if kind == "email":
            return self.by_email.get(value.lower())
        if kind == "cio_id":
            return self.people.get(value)
        return self.by_id.get(value)

    def identify(self, kind: str, value: str, attributes: dict[str, object]) -> None:
        """Create or update a person; silently ignore suppressed identifiers.

        Raises:
            ClientError: an ``id``/``email`` attribute of the wrong type or taken by another
                person.
        """
        new_id = attributes.get("id")
        if isinstance(new_id, int) and not isinstance(new_id, bool):
            new_id = str(new_id)
        if new_id is not None and not isinstance(new_id, str):
            raise ClientError(400, "attribute id must be a string")
        new_email = attributes.get("email")
        if new_email is not None and not isinstance(new_email, str):
            raise ClientError(400, "attribute email must be a string")
        keys = {_suppression_key(kind, value)}
        if new_id:
            keys.add(new_id)
        if new_email:
            keys.add(new_email.lower())
        if keys & self.suppressed:
            return
        person = self.find(kind, value)
        if person is None and attributes.get("_update") is True:
            return  # `_update: true` updates an existing person only; it never creates one
        for index, new in ((self.by_id, new_id), (self.by_email, new_email)):
            owner = index.get(new.lower() if index is self.by_email else new) if new else None
            if owner is not None and owner is not person:
                raise ClientError(400, "id or email already belongs to another person")
        if person is None:
            if kind == "cio_id":
                return
            person = Person(cio_id=self._next_cio_id())
            self.people[person.cio_id] = person
            self._set_identifier(person, kind, value)
        if "id" in attributes:
            self._set_identifier(person, "id", new_id)
        if "email" in attributes:
            self._set_identifier(person, "email", new_email)
        for name, attribute in attributes.items():
            if name in IDENTIFIER_KINDS or name in _CONTROL_ATTRIBUTES:
                continue
            if attribute is None or attribute == "":
                # An empty value removes the attribute (the Track API's documented way,
                # see docs/runbooks/pii-sent-by-mistake.md); null is accepted too.
                person.attributes.pop(name, None)
            else:
                person.attributes[name] = attribute

    def _set_identifier(self, person: Person, kind: str, value: str | None) -> None:
        if kind == "id":
            if person.id is not None:
                self.by_id.pop(person.id, None)
            person.id = value or None
            if person.id is not None:
                self.by_id[person.id] = person
        else:
            if person.email is not None:
                self.by_email.pop(person.email.lower(), None)
            person.email = value or None
            if person.email is not None:
                self.by_email[person.email.lower()] = person

    def _remove(self, person: Person, *, lag: float, now: float) -> None:
        del self.people[person.cio_id]
        if person.id is not None:
            del self.by_id[person.id]
        if person.email is not None:
            del self.by_email[person.email.lower()]
        lagging = self._lagging
        while lagging and lagging[0][0] <= now:
            lagging.popleft()
        if lag > 0:
            lagging.append((now + lag, person))

    def delete(self, kind: str, value: str, *, lag: float = 0.0, now: float = 0.0) -> None:
        """Delete a person if they exist; record the request either way.

        `lag` seconds from `now` (monotonic) the person stays visible to the App API.
        """
        person = self.find(kind, value)
        if person is not None:
            self._remove(person, lag=lag, now=now)
        self.deleted.append(_path_form(kind, value))

    def suppress(self, kind: str, value: str, *, lag: float = 0.0, now: float = 0.0) -> None:
        """Delete a person and block their identifiers; an unknown identifier changes nothing.

        `lag` seconds from `now` (monotonic) the person stays visible to the App API.
        """
        person = self.find(kind, value)
        # The Track spec describes suppress as "Delete a customer profile and prevent the
        # person's identifier(s) from being re-added": it acts on a profile and blocks that
        # profile's identifiers. With no profile there is nothing to delete and no person
        # whose identifiers could be blocked, and the docs say nothing more (reference §1,
        # open item 4). So the sandbox answers 200 and changes nothing: a 2xx here must
        # never be read as proof that someone was erased or will stay blocked.
        if person is None:
            return
        self._remove(person, lag=lag, now=now)
        if person.id is not None:
            self.suppressed.add(person.id)
        if person.email is not None:
            self.suppressed.add(person.email.lower())
        self.suppressed.add(_suppression_key(kind, value))

    def unsuppress(self, kind: str, value: str) -> None:
        """Free the identifier; the deleted profile stays deleted."""
        self.suppressed.discard(_suppression_key(kind, value))

    def track_event(self, kind: str, value: str) -> None:
        """Count an event unless the identifier is suppressed."""
        if _suppression_key(kind, value) not in self.suppressed:
            self.events += 1

    def document(self) -> dict[str, object]:
        """Return the workspace as ``GET /_sandbox/people`` answers it."""
        return {
            "workspace_id": self.id,
            "people": [person.to_json() for person in self.people.values()],
            "suppressed": sorted(self.suppressed),
            "deleted": list(self.deleted),
            "events": self.events,
        }

    def summary(self) -> dict[str, object]:
        """Return the workspace as ``GET /v1/workspaces`` lists it (no region, as documented)."""
        return {
            "id": self.id,
            "name": self.name,
            "people": len(self.people),
            "messages_sent": 0,
        }


def _matches(person: Person, kind: str, value: str) -> bool:
    if kind == "email":
        return person.email is not None and person.email.lower() == value.lower()
    if kind == "cio_id":
        return person.cio_id == value
    return person.id == value

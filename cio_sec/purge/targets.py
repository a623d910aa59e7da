"""Who a purge sends requests for: the App API search's holders, matched to the input."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.erase.inputs import IdType, iter_rows
from cio_sec.purge.find import holders
from cio_sec.purge.journal import Target
from cio_sec.purge.plan import PurgeRequest

if TYPE_CHECKING:
    from cio_sec.client import AsyncAppApi, CustomerRef
    from cio_sec.pseudonym import PseudonymKey


async def find_targets(
    request: PurgeRequest, app: AsyncAppApi, key: PseudonymKey
) -> tuple[list[Target], int]:
    """The people to purge with the attributes each holds, and how many of the input hold none.

    With ``--all-matching`` everyone the search finds; with a file, only its people that
    the search finds holding one of the attributes.
    """
    held: dict[CustomerRef, list[str]] = {}
    for name in request.attributes:
        for person in await holders(app, [name]):
            held.setdefault(person, []).append(name)
    if request.spec is None:
        return [_from_search(person, names, key) for person, names in held.items()], 0
    index: dict[tuple[str, str], tuple[CustomerRef, list[str]]] = {}
    for person, names in held.items():
        for kind, value in _keys(person):
            index[(kind, value)] = (person, names)
    targets: list[Target] = []
    holding_none = 0
    for row in iter_rows(request.spec):
        match = index.get(_key(row.id_type, row.value))
        if match is None:
            holding_none += 1
            continue
        person, names = match
        targets.append(
            Target(
                id_type="cio_id" if person.cio_id else row.id_type.value,
                identifier=person.cio_id or row.value,
                subject_type=row.id_type.value,
                subject=key.pseudonym(row.value, row.id_type.pseudonym_kind),
                attributes=tuple(names),
            )
        )
    return targets, holding_none


def _keys(person: CustomerRef) -> list[tuple[str, str]]:
    pairs = [("id", person.id), ("email", person.email), ("cio_id", person.cio_id)]
    return [_key(IdType(kind), value) for kind, value in pairs if value]


def _key(kind: IdType, value: str) -> tuple[str, str]:
    normalised = kind.normalise(value)
    return (kind.value, normalised.lower() if kind is IdType.EMAIL else normalised)


def _from_search(person: CustomerRef, names: list[str], key: PseudonymKey) -> Target:
    """A search hit as a target: requests by cio_id, the subject from the best identifier."""
    kind, value = next(
        (IdType(k), v)
        for k, v in (("id", person.id), ("email", person.email), ("cio_id", person.cio_id))
        if v
    )
    return Target(
        id_type="cio_id" if person.cio_id else kind.value,
        identifier=person.cio_id or value,
        subject_type=kind.value,
        subject=key.pseudonym(value, kind.pseudonym_kind),
        attributes=tuple(names),
    )

"""App API search: ``POST /v1/customers`` with filters, limits and paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_sec.sandbox import Sandbox

pytestmark = pytest.mark.timeout(60)

PLANS = ["free", "pro", None]


def _seed(sandbox: Sandbox, count: int = 9) -> None:
    for n in range(count):
        attributes: dict[str, object] = {"n": n}
        plan = PLANS[n % 3]
        if plan is not None:
            attributes["plan"] = plan
        if n % 2 == 0:
            attributes["email"] = f"p{n}@example.com"
        sandbox.add_person(f"p{n}", attributes)


def _ids(app: httpx.Client, flt: object) -> list[str]:
    response = app.post("/v1/customers", params={"limit": 1000}, json={"filter": flt})
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return sorted(item["id"] for item in doc["identifiers"])


def _eq(field: str, value: object) -> dict[str, object]:
    return {"attribute": {"field": field, "operator": "eq", "value": value}}


def _exists(field: str) -> dict[str, object]:
    return {"attribute": {"field": field, "operator": "exists"}}


def test_filters_select_the_documented_people(sandbox: Sandbox, app: httpx.Client) -> None:
    _seed(sandbox)
    assert _ids(app, _eq("plan", "pro")) == ["p1", "p4", "p7"]
    assert _ids(app, _exists("email")) == ["p0", "p2", "p4", "p6", "p8"]
    assert _ids(app, {"and": [_eq("plan", "pro"), _exists("email")]}) == ["p4"]
    assert _ids(app, {"or": [_eq("id", "p3"), _eq("n", 5.0)]}) == ["p3", "p5"]
    assert _ids(app, {"not": _exists("plan")}) == ["p2", "p5", "p8"]
    assert _ids(app, _eq("cio_id", "a3000001")) == ["p0"]
    assert _ids(app, _eq("n", True)) == []  # true is not 1
    response = app.post("/v1/customers", json={"filter": _eq("id", "p0")})
    assert response.json() == {
        "identifiers": [{"email": "p0@example.com", "id": "p0", "cio_id": "a3000001"}],
        "ids": ["p0"],
        "next": "",
    }


def test_people_without_an_id_are_listed_by_their_other_identifiers(
    sandbox: Sandbox, app: httpx.Client
) -> None:
    sandbox.add_person("only@example.com")
    doc = app.post("/v1/customers", json={"filter": _exists("email")}).json()
    assert doc["identifiers"] == [{"email": "only@example.com", "id": None, "cio_id": "a3000001"}]
    assert doc["ids"] == []


def test_pages_follow_next_until_it_is_empty(sandbox: Sandbox, app: httpx.Client) -> None:
    _seed(sandbox, 7)
    seen: list[str] = []
    start = ""
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"start": start} if start else {})}
        doc = app.post("/v1/customers", params=params, json={"filter": _exists("n")}).json()
        assert len(doc["identifiers"]) <= 3
        seen += [item["id"] for item in doc["identifiers"]]
        pages += 1
        start = doc["next"]
        if not start:
            break
    assert pages == 3
    assert seen == [f"p{n}" for n in range(7)]
    # Exactly one full page: no next page announced.
    doc = app.post("/v1/customers", params={"limit": 7}, json={"filter": _exists("n")}).json()
    assert doc["next"] == ""


@pytest.mark.parametrize(
    ("query", "body", "message"),
    [
        ("limit=1001", {"filter": _exists("n")}, "limit must be"),
        ("limit=0", {"filter": _exists("n")}, "limit must be"),
        ("limit=ten", {"filter": _exists("n")}, "limit must be"),
        ("limit=" + "9" * 5000, {"filter": _exists("n")}, "limit must be"),
        ("", {}, "filter is required"),
        ("", [], "must be a JSON object"),
        ("", {"filter": []}, "exactly one of"),
        ("", {"filter": {"and": []}}, "non-empty list"),
        ("", {"filter": {"or": {"x": 1}}}, "non-empty list"),
        ("", {"filter": {"segment": {"id": 1}}}, "segment filters"),
        ("", {"filter": {"nor": [1]}}, "unknown filter"),
        ("", {"filter": {"attribute": []}}, "takes an object"),
        ("", {"filter": {"attribute": {"field": "a", "operator": "eq", "x": 1}}}, "unknown"),
        ("", {"filter": {"attribute": {"field": "", "operator": "exists"}}}, "field must"),
        ("", {"filter": {"attribute": {"field": "a", "operator": "lt"}}}, "operator must"),
        ("", {"filter": {"attribute": {"field": "a", "operator": "eq"}}}, "value is required"),
    ],
)
def test_bad_searches_are_400(app: httpx.Client, query: str, body: object, message: str) -> None:
    response = app.post(f"/v1/customers?{query}", json=body)
    assert response.status_code == 400
    assert message in response.json()["meta"]["error"]


def test_bad_json_and_deep_filters_are_400(app: httpx.Client) -> None:
    assert app.post("/v1/customers", content=b"{nope").status_code == 400
    deep: dict[str, object] = _exists("n")
    for _ in range(40):
        deep = {"not": deep}
    response = app.post("/v1/customers", json={"filter": deep})
    assert response.status_code == 400
    assert "nest at most 32" in response.json()["meta"]["error"]
    assert app.post("/v1/customers", content=b"").status_code == 400


def _filters() -> st.SearchStrategy[dict[str, object]]:
    leaves = st.one_of(
        st.sampled_from(["plan", "email", "n", "id"]).map(_exists),
        st.tuples(st.sampled_from(["plan", "n"]), st.sampled_from(["pro", "free", 1, 2])).map(
            lambda pair: _eq(*pair)
        ),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            children.map(lambda child: {"not": child}),
            st.lists(children, min_size=1, max_size=3).map(lambda items: {"and": items}),
            st.lists(children, min_size=1, max_size=3).map(lambda items: {"or": items}),
        ),
        max_leaves=6,
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(left=_filters(), right=_filters(), limit=st.integers(min_value=1, max_value=4))
def test_filters_obey_boolean_laws_and_paging_loses_no_one(
    sandbox: Sandbox,
    app: httpx.Client,
    left: dict[str, object],
    right: dict[str, object],
    limit: int,
) -> None:
    if not sandbox.people()["people"]:
        _seed(sandbox)
    everyone = set(_ids(app, _exists("id")))
    a, b = set(_ids(app, left)), set(_ids(app, right))
    assert set(_ids(app, {"not": left})) == everyone - a
    assert set(_ids(app, {"and": [left, right]})) == a & b
    assert set(_ids(app, {"or": [left, right]})) == a | b
    assert set(_ids(app, {"not": {"and": [left, right]}})) == set(
        _ids(app, {"or": [{"not": left}, {"not": right}]})
    )
    paged: list[str] = []
    start = ""
    while True:
        params: dict[str, str | int] = {"limit": limit, **({"start": start} if start else {})}
        doc = app.post("/v1/customers", params=params, json={"filter": left}).json()
        paged += [item["id"] for item in doc["identifiers"]]
        start = doc["next"]
        if not start:
            break
    assert sorted(paged) == sorted(a)
    assert len(paged) == len(set(paged))

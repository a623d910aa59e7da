"""Two regions, one sandbox: the EU host and what each host answers a key of the other region."""

from __future__ import annotations

import httpx
import pytest

from cio_sec.errors import ConfigError
from cio_sec.sandbox import Faults, Sandbox, SandboxInfo
from tests.sandbox.helpers import http, people

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def eu_keys(sandbox: Sandbox) -> tuple[str, str]:
    keys = sandbox.add_track_keys(workspace_id=2002, region="eu")
    return keys.site_id, keys.track_api_key


def test_the_eu_host_serves_the_same_state(
    sandbox: Sandbox, info: SandboxInfo, eu_keys: tuple[str, str]
) -> None:
    with http(info.track_url_eu, auth=eu_keys) as eu:
        assert eu.put("/api/v1/customers/eu-1", json={}).status_code == 200
    with http(info.admin_url) as admin:
        assert [p["id"] for p in people(admin, 2002)["people"]] == ["eu-1"]
    with http(info.track_url_eu + "/_sandbox") as eu_admin:
        assert people(eu_admin, 2002)["people"][0]["id"] == "eu-1"
    assert sandbox.requests()[-1].status == 200


def test_an_eu_key_on_the_us_track_host_is_redirected_to_the_eu_host(
    sandbox: Sandbox, info: SandboxInfo, eu_keys: tuple[str, str]
) -> None:
    with http(info.track_url, auth=eu_keys) as us:
        response = us.delete("/api/v1/customers/a%2Fb", params={"q": "1"})
    assert response.status_code == 301
    assert response.headers["location"] == f"{info.track_url_eu}/api/v1/customers/a%2Fb?q=1"
    assert response.content == b""
    assert sandbox.people(2002)["deleted"] == []


def test_a_us_key_on_the_eu_track_host_is_401(info: SandboxInfo, track: httpx.Client) -> None:
    with http(info.track_url_eu, auth=(info.site_id, info.track_api_key)) as eu:
        response = eu.put("/api/v1/customers/1", json={})
    assert response.status_code == 401
    assert response.json() == {"meta": {"error": "Unauthorized request"}}


def test_the_region_lookup_answers_on_either_host(
    info: SandboxInfo, eu_keys: tuple[str, str]
) -> None:
    for base in (info.track_url, info.track_url_eu):
        with http(base, auth=eu_keys) as client:
            assert client.get("/api/v1/accounts/region").json() == {
                "url": info.track_url_eu,
                "region": "eu",
                "environment_id": 2002,
            }
        with http(base, auth=(info.site_id, info.track_api_key)) as client:
            assert client.get("/api/v1/accounts/region").json()["url"] == info.track_url


def test_the_app_api_answers_a_key_of_the_other_region_401_or_a_redirect(
    sandbox: Sandbox, info: SandboxInfo
) -> None:
    eu_key = sandbox.add_app_key(workspace_id=2002, region="eu")
    cases = [(info.app_url, eu_key, info.app_url_eu), (info.app_url_eu, info.app_api_key, "")]
    for base, key, _ in cases:
        with http(base, headers={"Authorization": f"Bearer {key}"}) as client:
            response = client.get("/v1/workspaces")
        assert response.status_code == 401
    sandbox.set_faults(Faults(app_wrong_region="redirect"))
    cases[1] = (info.app_url_eu, info.app_api_key, info.app_url)
    for base, key, target in cases:
        with http(base, headers={"Authorization": f"Bearer {key}"}) as client:
            response = client.get("/v1/customers/1/attributes", params={"id_type": "id"})
        assert response.status_code == 301
        assert response.headers["location"] == f"{target}/v1/customers/1/attributes?id_type=id"
        assert response.json() == {"errors": [{"detail": "wrong datacenter"}]}
    # The right host still answers.
    with http(info.app_url_eu, headers={"Authorization": f"Bearer {eu_key}"}) as client:
        assert client.get("/v1/workspaces").status_code == 200


def test_both_ports_can_be_chosen_and_a_taken_eu_port_is_a_config_error(
    sandbox: Sandbox,
) -> None:
    clash = Sandbox(eu_port=sandbox.eu_port)
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{sandbox.eu_port}"):
        clash.start()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = clash.eu_port
    with pytest.raises(ValueError, match="eu_port"):
        Sandbox(eu_port=70000)

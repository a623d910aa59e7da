"""vault: specifics against a real OpenBao dev server: check-and-set, fields, failures."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
import requests

from cio_sec.errors import (
    ConfigError,
    ExitCode,
    RemoteUnavailableError,
    SecretStoreUnavailableError,
)
from cio_sec.redact import redact
from cio_sec.stores import SecretRef, SecretStore, check_reference, open_store
from cio_sec.stores.vault import VaultStore
from tests.support.servers import VaultServer, free_port, running_vault

pytestmark = [pytest.mark.usefixtures("vault"), pytest.mark.slow]


@pytest.fixture
def path() -> str:
    """A secret path no other test uses (the server lives for the whole session)."""
    return f"customerio/{uuid.uuid4().hex[:12]}"


def _open(ref: str) -> SecretStore:
    return open_store(ref, environ=dict(os.environ), cwd=Path.cwd())


def _root(server: VaultServer) -> Any:
    return hvac.Client(url=server.url, token=server.root_token)


def test_other_fields_are_kept_and_each_field_has_its_own_previous_value(
    vault: VaultServer, path: str
) -> None:
    track = _open(f"vault:secret/{path}#track_api_key")
    app = _open(f"vault:secret/{path}#app_api_key")
    track.put("track_key_value_01")
    track.put("track_key_value_02")
    app.put("app_key_value_0001")  # version 3: the track key is unchanged in it
    data = _root(vault).secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )
    assert data["data"]["data"] == {
        "track_api_key": "track_key_value_02",
        "app_api_key": "app_key_value_0001",
    }
    previous = track.get_previous()
    assert previous is not None
    assert (previous.value, previous.version) == ("track_key_value_01", "1")
    assert app.get_previous() is None
    restored = track.rollback()
    assert (restored.value, restored.version) == ("track_key_value_01", "4")
    app_now = app.get()
    assert app_now is not None
    assert app_now.value == "app_key_value_0001"  # the rollback left the app key alone


def test_deleting_a_field_keeps_the_other_fields(vault: VaultServer, path: str) -> None:
    track = _open(f"vault:secret/{path}#track_api_key")
    app = _open(f"vault:secret/{path}#app_api_key")
    track.put("track_key_value_01")
    app.put("app_key_value_0001")
    track.delete()
    assert track.get() is None
    assert track.get_previous() is None
    app_now = app.get()
    assert app_now is not None
    assert (app_now.value, app_now.version) == ("app_key_value_0001", "3")
    track.delete()  # already gone: nothing is written
    assert app.get() == app_now


def test_a_concurrent_write_is_detected_by_check_and_set(
    vault: VaultServer, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer slips in between our read and our write: nothing is overwritten."""
    ref = SecretRef("vault", f"secret/{path}#track_api_key")
    store = VaultStore.from_ref(ref, environ=dict(os.environ), cwd=Path.cwd())
    store.put("track_key_value_01")
    read = store._read

    def read_then_race(version: int | None = None) -> Any:
        seen = read(version)
        _root(vault).secrets.kv.v2.create_or_update_secret(
            path=path, secret={"track_api_key": "written_by_another"}, mount_point="secret"
        )
        return seen

    monkeypatch.setattr(store, "_read", read_then_race)
    with pytest.raises(ConfigError, match="another writer changed the secret") as caught:
        store.put("track_key_value_02")
    assert caught.value.exit_code is ExitCode.CONFIG
    monkeypatch.undo()
    current = store.get()
    assert current is not None
    assert current.value == "written_by_another"  # the other writer's value survived


def test_a_token_without_rights_is_refused_with_the_capability_it_needs(
    vault: VaultServer, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _open(f"vault:secret/{path}#track_api_key")
    store.put("track_key_value_01")
    root = _root(vault)
    policy = f'path "secret/data/{path}" {{ capabilities = ["read"] }}'
    root.sys.create_or_update_policy(name=f"read-{path.replace('/', '-')}", policy=policy)
    limited = root.auth.token.create(policies=[f"read-{path.replace('/', '-')}"], ttl="5m")
    monkeypatch.setenv("VAULT_TOKEN", limited["auth"]["client_token"])
    reader = _open(f"vault:secret/{path}#track_api_key")
    current = reader.get()
    assert current is not None
    assert current.value == "track_key_value_01"
    with pytest.raises(SecretStoreUnavailableError, match="permission denied") as denied:
        reader.put("track_key_value_02")
    assert denied.value.hint is not None
    assert '"update"' in denied.value.hint
    with pytest.raises(SecretStoreUnavailableError, match=r"permission denied \(read\)"):
        _open(f"vault:secret/{path}-other#track_api_key").get()


def test_the_namespace_comes_from_vault_namespace(
    vault: VaultServer, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = f"team{uuid.uuid4().hex[:8]}"
    _root(vault).sys.create_namespace(path=namespace)
    inside = hvac.Client(url=vault.url, token=vault.root_token, namespace=namespace)
    inside.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    monkeypatch.setenv("VAULT_NAMESPACE", namespace)
    _open(f"vault:kv/{path}#key").put("track_key_value_01")
    data = inside.secrets.kv.v2.read_secret_version(
        path=path, mount_point="kv", raise_on_deleted_version=True
    )
    assert data["data"]["data"] == {"key": "track_key_value_01"}
    monkeypatch.delenv("VAULT_NAMESPACE")
    with pytest.raises(ConfigError, match="no KV v2 secrets engine at kv/"):
        _open(f"vault:kv/{path}#key").get()  # the root namespace has no such mount


def test_a_bad_token_is_refused(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "not-a-real-token")
    with pytest.raises(SecretStoreUnavailableError, match="permission denied"):
        _open(f"vault:secret/{path}#key").get()


@pytest.mark.parametrize("source", ["VAULT_TOKEN", "~/.vault-token"])
def test_the_token_is_masked_in_everything_cio_sec_prints(
    monkeypatch: pytest.MonkeyPatch, path: str, source: str
) -> None:
    token = "hvs.canaryVaultToken0123456789"
    monkeypatch.delenv("VAULT_TOKEN")
    if source == "VAULT_TOKEN":
        monkeypatch.setenv("VAULT_TOKEN", token)
    else:
        (Path(os.environ["HOME"]) / ".vault-token").write_text(token + "\n")
    with pytest.raises(SecretStoreUnavailableError) as caught:
        _open(f"vault:secret/{path}#key").get()
    assert token not in str(caught.value)
    assert token not in redact(f"error: the server echoed {token}")


def test_no_token_at_all(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(SecretStoreUnavailableError, match="no Vault token") as caught:
        _open(f"vault:secret/{path}#key").get()
    assert caught.value.hint is not None
    assert "VAULT_TOKEN" in caught.value.hint


def test_the_token_file_of_vault_login_is_used(
    vault: VaultServer, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    token_file = Path(os.environ["HOME"]) / ".vault-token"
    token_file.write_text(vault.root_token + "\n")
    store = _open(f"vault:secret/{path}#key")
    assert store.put("track_key_value_01").version == "1"
    token_file.write_text("")
    with pytest.raises(SecretStoreUnavailableError, match="no Vault token"):
        _open(f"vault:secret/{path}#key").get()


def test_no_home_and_no_token(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    environ = {"VAULT_ADDR": os.environ["VAULT_ADDR"]}
    store = open_store(f"vault:secret/{path}#key", environ=environ, cwd=Path.cwd())
    with pytest.raises(SecretStoreUnavailableError, match="no Vault token"):
        store.get()


def test_no_address(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.delenv("VAULT_ADDR")
    with pytest.raises(ConfigError, match="VAULT_ADDR is not set"):
        _open(f"vault:secret/{path}#key").get()


def test_a_missing_mount_says_how_to_enable_one(path: str) -> None:
    store = _open(f"vault:nomount/{path}#key")
    for operation in (store.get, lambda: store.put("track_key_value_01")):
        with pytest.raises(ConfigError, match="no KV v2 secrets engine at nomount/") as caught:
            operation()
        assert caught.value.hint is not None
        assert "secrets enable -path=nomount kv-v2" in caught.value.hint


def test_a_field_that_is_not_a_string_is_refused(vault: VaultServer, path: str) -> None:
    _root(vault).secrets.kv.v2.create_or_update_secret(
        path=path, secret={"key": 12345}, mount_point="secret"
    )
    with pytest.raises(SecretStoreUnavailableError, match="not a string"):
        _open(f"vault:secret/{path}#key").get()


def test_a_deleted_current_version_reads_as_absent_and_can_be_written_again(
    vault: VaultServer, path: str
) -> None:
    store = _open(f"vault:secret/{path}#key")
    store.put("track_key_value_01")
    store.put("track_key_value_02")
    _root(vault).secrets.kv.v2.delete_latest_version_of_secret(path=path, mount_point="secret")
    assert store.get() is None
    assert store.get_previous() is None
    assert store.put("track_key_value_03").version == "3"


def test_an_unreachable_server_is_a_remote_error(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RemoteUnavailableError, match="cannot reach Vault") as caught:
        _open(f"vault:secret/{path}#key").get()
    assert caught.value.exit_code is ExitCode.REMOTE


def test_a_sealed_server_is_a_remote_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_vault(tmp_path) as sealed:
        _root(sealed).sys.seal()
        monkeypatch.setenv("VAULT_ADDR", sealed.url)
        with pytest.raises(RemoteUnavailableError, match="Vault is unavailable") as caught:
            _open("vault:secret/customerio#key").get()
    assert caught.value.exit_code is ExitCode.REMOTE


@pytest.mark.parametrize(
    ("raised", "error", "message"),
    [
        (hvac.exceptions.RateLimitExceeded(), RemoteUnavailableError, "unavailable"),
        (hvac.exceptions.InternalServerError(), RemoteUnavailableError, "unavailable"),
        (hvac.exceptions.InvalidRequest("bad field"), SecretStoreUnavailableError, "refused"),
        (hvac.exceptions.UnsupportedOperation(), SecretStoreUnavailableError, "refused"),
        (requests.Timeout(), RemoteUnavailableError, "cannot reach"),
    ],
)
def test_every_vault_failure_becomes_an_error_with_a_hint(
    raised: Exception, error: type[Exception], message: str, path: str
) -> None:
    store = VaultStore.from_ref(
        SecretRef("vault", f"secret/{path}#key"), environ=dict(os.environ), cwd=Path.cwd()
    )
    with pytest.raises(error, match=message) as caught, store._translated("read"):
        raise raised
    assert getattr(caught.value, "hint", None)


@pytest.mark.parametrize(
    "location", ["secret/path", "secret#field", "secret/#field", "/#field", "secret/path#"]
)
def test_malformed_references_are_config_errors(location: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_reference(SecretRef("vault", location))
    assert caught.value.hint is not None
    assert "vault:MOUNT/PATH#FIELD" in caught.value.hint


def test_the_store_describes_mount_path_and_field() -> None:
    store = _open("vault:/secret/customerio/prod/#track_api_key")
    assert store.describe() == "Vault KV v2 secret secret/customerio/prod, field track_api_key"

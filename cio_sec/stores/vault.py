"""The ``vault:MOUNT/PATH#FIELD`` store: one field of a Vault (or OpenBao) KV v2 secret.

Every write is a new KV version made with check-and-set (``cas`` = the version read just
before), so a writer that raced us is detected instead of silently overwritten. The
previous value is the field's value in the latest earlier version where it differs (writes
to the secret's other fields leave it unchanged); a rollback writes it again as a new
version (what ``vault kv rollback`` does, for one field), keeping the other fields as they
are now.

The server, token and namespace come from ``VAULT_ADDR``, ``VAULT_TOKEN`` (else the
``~/.vault-token`` that ``vault login`` writes), ``VAULT_NAMESPACE`` and ``VAULT_CACERT``.
hvac is imported only when a store first talks to the server.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cio_sec.errors import ConfigError, RemoteUnavailableError, SecretStoreUnavailableError
from cio_sec.redact import register
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.addresses import host_of
from cio_sec.stores.extras import import_extra

TIMEOUT_SECONDS = 10
#: How many earlier versions to search for the field's previous value (KV keeps 10 by default).
PREVIOUS_SEARCH_DEPTH = 10
_HINT = "use vault:MOUNT/PATH#FIELD, for example vault:secret/customerio/prod#track_api_key"


@dataclass(frozen=True)
class _Version:
    """One KV version: its number and its fields (None when deleted or destroyed)."""

    number: int
    fields: dict[str, Any] | None


class VaultStore:
    """One field of a KV v2 secret in Vault or OpenBao."""

    def __init__(
        self, ref: SecretRef, mount: str, path: str, field: str, environ: Mapping[str, str]
    ) -> None:
        self.ref = ref
        self.writable = True
        self.mount = mount
        self.path = path
        self.field = field
        self._environ = dict(environ)
        self._client: Any = None

    @classmethod
    def from_ref(cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path) -> VaultStore:
        """Bind the store to the mount, path and field a reference names.

        Nothing is imported or contacted yet: hvac and the server are needed only when the
        value is first read or written.

        Raises:
            ConfigError: the mount, path or field is missing.
        """
        del cwd
        location, sep, field = ref.location.partition("#")
        mount, slash, path = location.strip("/").partition("/")
        if not (sep and field.strip() and slash and mount and path.strip("/")):
            raise ConfigError(
                f"this {ref.scheme}: reference is malformed (it needs MOUNT/PATH#FIELD)", hint=_HINT
            )
        return cls(ref, mount, path.strip("/"), field, environ)

    def get(self) -> StoredValue | None:
        """Return the field of the current version, and the version number, or None.

        Raises:
            SecretStoreUnavailableError: no token, access denied.
            ConfigError: the mount does not exist or is not KV v2.
            RemoteUnavailableError: the server cannot be reached, is sealed or failing.
        """
        current = self._read()
        return None if current is None else self._value(current)

    def get_previous(self) -> StoredValue | None:
        """Return the field's value in the latest earlier version where it differs, or None.

        Raises:
            SecretStoreUnavailableError: no token, access denied.
            ConfigError: the mount does not exist or is not KV v2.
            RemoteUnavailableError: the server cannot be reached, is sealed or failing.
        """
        current = self._read()
        now = None if current is None else self._value(current)
        if current is None or now is None:
            return None
        # Writes to the secret's other fields make versions where this field is unchanged.
        oldest = max(1, current.number - PREVIOUS_SEARCH_DEPTH)
        for number in range(current.number - 1, oldest - 1, -1):
            earlier = self._read(number)
            then = None if earlier is None else self._value(earlier)
            if then is not None and then.value != now.value:
                return then
        return None

    def put(self, value: str) -> StoredValue:
        """Write a new version with the field set to ``value``; other fields are kept.

        Putting the value that is already current changes nothing.

        Raises:
            ConfigError: the value is empty, another writer changed the secret between
                our read and our write (nothing was written), or the mount is missing.
            SecretStoreUnavailableError: no token, access denied.
            RemoteUnavailableError: the server cannot be reached, is sealed or failing.
        """
        if not value:
            raise ConfigError(f"refusing to store an empty value in {self.describe()}")
        current = self._read()
        stored = None if current is None else self._value(current)
        if stored is not None and stored.value == value:
            return stored
        return self._write(current, value)

    def rollback(self) -> StoredValue:
        """Write the field's previous value again as a new version; return it.

        Raises:
            ConfigError: there is no previous value, or another writer raced us.
            SecretStoreUnavailableError: no token, access denied.
            RemoteUnavailableError: the server cannot be reached, is sealed or failing.
        """
        previous = self.get_previous()
        if previous is None:
            raise ConfigError(
                f"cannot roll back {self.describe()}: no earlier version holds another value"
            )
        return self._write(self._read(), previous.value)

    def delete(self) -> None:
        """Remove the field; the secret (all versions) goes when no other field is left.

        Raises:
            SecretStoreUnavailableError: no token, access denied.
            RemoteUnavailableError: the server cannot be reached, is sealed or failing.
        """
        current = self._read()
        if current is None or current.fields is None:
            return  # nothing, or a deleted version: older versions may hold other fields
        fields = dict(current.fields)
        kv = self._kv()
        if fields.pop(self.field, None) is not None and fields:
            with self._translated("update"):
                kv.create_or_update_secret(
                    path=self.path, secret=fields, cas=current.number, mount_point=self.mount
                )
            return
        if not fields:
            with self._translated("delete"):
                kv.delete_metadata_and_all_versions(path=self.path, mount_point=self.mount)

    def describe(self) -> str:
        """Say which KV secret and field hold the value."""
        return f"Vault KV v2 secret {self.mount}/{self.path}, field {self.field}"

    def _kv(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client.secrets.kv.v2

    def _connect(self) -> Any:
        hvac = import_extra("hvac", scheme=self.ref.scheme, extra="vault")
        address = self._environ.get("VAULT_ADDR")
        if not address:
            raise ConfigError(
                f"{self.ref}: VAULT_ADDR is not set", hint="export VAULT_ADDR=https://vault:8200"
            )
        token = self._environ.get("VAULT_TOKEN") or _token_file(self._environ)
        if not token:
            raise SecretStoreUnavailableError(
                f"{self.ref}: no Vault token",
                hint="set VAULT_TOKEN, or run `vault login` (which writes ~/.vault-token)",
            )
        register(token)  # a credential like the ones the store holds: masked everywhere
        if not _HEADER_SAFE.fullmatch(token):
            raise SecretStoreUnavailableError(
                f"{self.ref}: the Vault token has characters a token never has (non-ASCII, "
                "blanks or control characters)",
                hint="check VAULT_TOKEN (or ~/.vault-token): copy the token again",
            )
        return hvac.Client(
            url=address,
            token=token,
            namespace=self._environ.get("VAULT_NAMESPACE") or None,
            verify=self._environ.get("VAULT_CACERT") or True,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
            session=_session_refusing_redirects(),
        )

    def _read(self, version: int | None = None) -> _Version | None:
        """One version (the current one by default), or None when the secret is absent."""
        kv = self._kv()  # first: reports a missing hvac as the install command
        import hvac.exceptions

        with self._translated("read"):
            try:
                answer = kv.read_secret_version(
                    path=self.path,
                    version=version,
                    mount_point=self.mount,
                    raise_on_deleted_version=False,
                )
            except hvac.exceptions.InvalidPath as exc:
                if _no_mount(exc):
                    raise
                return None
        return self._version_of(answer)

    def _version_of(self, answer: object) -> _Version:
        """Check the shape of a KV v2 read answer: hvac hands back whatever was sent."""
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise self._malformed("a KV v2 read")
        metadata = data.get("metadata")
        number = metadata.get("version") if isinstance(metadata, dict) else None
        fields = data.get("data")
        if type(number) is not int or not (fields is None or isinstance(fields, dict)):
            raise self._malformed("a KV v2 read")
        return _Version(number, fields)

    def _value(self, version: _Version) -> StoredValue | None:
        value = None if version.fields is None else version.fields.get(self.field)
        if value is not None and not isinstance(value, str):
            raise SecretStoreUnavailableError(
                f"{self.ref}: field {self.field} is not a string",
                hint="store the credential as a string value",
            )
        return StoredValue(value, str(version.number)) if value else None

    def _write(self, current: _Version | None, value: str) -> StoredValue:
        fields = {} if current is None or current.fields is None else dict(current.fields)
        fields[self.field] = value
        kv = self._kv()
        with self._translated("update"):
            answer = kv.create_or_update_secret(
                path=self.path,
                secret=fields,
                cas=0 if current is None else current.number,
                mount_point=self.mount,
            )
        data = answer.get("data") if isinstance(answer, dict) else None
        number = data.get("version") if isinstance(data, dict) else None
        if type(number) is not int:
            raise self._malformed("a KV v2 write (the value may have been written)")
        return StoredValue(value, str(number))

    @contextlib.contextmanager
    def _translated(self, capability: str) -> Iterator[None]:
        """Turn hvac's and requests' exceptions into cio-sec errors with a hint."""
        import hvac.exceptions as vault
        import requests

        try:
            yield
        except _Redirected as exc:
            raise SecretStoreUnavailableError(
                f"{self.ref}: Vault at {host_of(self._environ.get('VAULT_ADDR', ''))} answered "
                f"{exc.status} redirecting to {exc.target}; cio-sec follows no redirect, so the "
                "token was not sent there",
                hint="set VAULT_ADDR to the address of the active node (or the load balancer) "
                "you trust; a standby node or an http-to-https redirect answers this way",
            ) from None
        except vault.InvalidRequest as exc:
            if "check-and-set" not in str(exc):
                raise self._refused(exc) from None
            raise ConfigError(
                f"{self.ref}: another writer changed the secret while this write was "
                "prepared; nothing was written",
                hint="check the current value (cio-sec credentials show) and retry",
            ) from None
        except vault.InvalidPath as exc:  # only a missing mount gets here
            raise ConfigError(
                f"{self.ref}: there is no KV v2 secrets engine at {self.mount}/",
                hint=f"check the mount, or enable one: vault secrets enable -path={self.mount} "
                "kv-v2",
            ) from exc
        except (vault.Forbidden, vault.Unauthorized):
            raise SecretStoreUnavailableError(
                f"{self.ref}: permission denied ({capability})",
                hint=f'the token needs capabilities ["{capability}"] on '
                f"{self.mount}/data/{self.path}; see the Vault policy in "
                "docs/reference/secret-stores.md",
            ) from None
        except (vault.RateLimitExceeded, vault.VaultDown, vault.InternalServerError) as exc:
            raise RemoteUnavailableError(
                f"{self.ref}: Vault is unavailable ({type(exc).__name__})",
                hint="retry later; nothing was changed",
            ) from None
        except requests.RequestException as exc:
            raise RemoteUnavailableError(
                f"{self.ref}: cannot reach Vault at {self._environ.get('VAULT_ADDR')} "
                f"({type(exc).__name__})",
                hint="check VAULT_ADDR and that the server is up; nothing was changed",
            ) from None
        except vault.VaultError as exc:
            raise self._refused(exc) from None

    def _malformed(self, what: str) -> SecretStoreUnavailableError:
        return SecretStoreUnavailableError(
            f"{self.ref}: the answer of {host_of(self._environ.get('VAULT_ADDR', ''))} to {what} "
            "is not what Vault sends (not a JSON object with data and metadata)",
            hint="check that VAULT_ADDR points at Vault or OpenBao itself, not at a proxy or "
            "another service",
        )

    def _refused(self, exc: Exception) -> SecretStoreUnavailableError:
        return SecretStoreUnavailableError(
            f"{self.ref}: Vault refused the request ({type(exc).__name__})",
            hint="check the reference, the token's policy and the server's log",
        )


#: What an HTTP header value may hold: printable ASCII without blanks (tokens are such).
_HEADER_SAFE = re.compile(r"[!-~]+")


class _Redirected(Exception):  # noqa: N818 - a signal caught in `_translated`, never shown
    """Vault answered 3xx: raised from the response hook, before anything follows it."""

    def __init__(self, status: int, target: str) -> None:
        super().__init__(status, target)
        self.status = status
        self.target = target


def _session_refusing_redirects() -> Any:
    """A requests session that stops at the first 3xx answer.

    NOTE: hvac follows redirects by default and requests re-sends ``X-Vault-Token`` to
    the new address (issue 15, finding 2). ``allow_redirects=False`` alone would hand the
    3xx answer to hvac as if it were data; the hook turns it into an error first.
    """
    import requests

    def refuse(response: Any, *args: object, **kwargs: object) -> None:
        if 300 <= response.status_code < 400:
            response.close()  # its connection goes back to nobody: close it now
            raise _Redirected(response.status_code, host_of(response.headers.get("Location", "")))

    session = requests.Session()
    session.max_redirects = 0
    session.hooks["response"].append(refuse)
    return session


def _no_mount(exc: Exception) -> bool:
    """Whether a 404 means "no such mount" rather than "no such secret"."""
    errors = getattr(exc, "errors", None) or []
    return any("no handler for route" in str(error) for error in errors)


def _token_file(environ: Mapping[str, str]) -> str | None:
    home = environ.get("HOME")
    if not home:
        return None
    try:
        return (Path(home) / ".vault-token").read_text().strip() or None
    except OSError:
        return None

"""The ``aws-ssm:/PATH/NAME`` store: a ``SecureString`` in AWS SSM Parameter Store.

Every write makes a new parameter version (``Overwrite=True``); the previous value is the
version just before the current one, read with the ``NAME:VERSION`` selector. A rollback
writes the previous value again as a new version, as Parameter Store has no stage to move,
so the value it replaced becomes the previous one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cio_sec.errors import ConfigError
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.aws_common import answer_field, aws_client, call

_NOT_FOUND = frozenset({"ParameterNotFound", "ParameterVersionNotFound"})
_HINT = "use aws-ssm:/PATH/NAME, for example aws-ssm:/prod/customerio/track_api_key"


class ParameterStore:
    """A secret held as an SSM ``SecureString`` parameter."""

    def __init__(self, ref: SecretRef, name: str) -> None:
        self.ref = ref
        self.writable = True
        self.name = name
        self._client: Any = None

    @classmethod
    def from_ref(cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path) -> ParameterStore:
        """Bind the store to the parameter a ``aws-ssm:/PATH/NAME`` reference names.

        Nothing is imported or contacted yet (see `SecretsManagerStore.from_ref`).

        Raises:
            ConfigError: the name does not start with ``/`` or has blanks or a ``:``.
        """
        del environ, cwd  # AWS configuration comes from its standard chain
        name = ref.location
        if not name.startswith("/") or len(name) < 2 or any(c in name for c in " \t:#"):
            raise ConfigError(
                f"this {ref.scheme}: reference is malformed (a /PATH/NAME without blanks, : or #)",
                hint=_HINT,
            )
        return cls(ref, name)

    def get(self) -> StoredValue | None:
        """Return the current value and its version number, or None.

        Raises:
            SecretStoreUnavailableError: access denied, no credentials, KMS refused.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        return self._read(self.name)

    def get_previous(self) -> StoredValue | None:
        """Return the value of the version before the current one, or None.

        Raises:
            SecretStoreUnavailableError: access denied, no credentials, KMS refused.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        current = self.get()
        if current is None or current.version is None or int(current.version) < 2:
            return None
        return self._read(f"{self.name}:{int(current.version) - 1}")

    def put(self, value: str) -> StoredValue:
        """Write ``value`` as a new version; the current value stays readable as previous.

        Putting the value that is already current changes nothing.

        Raises:
            ConfigError: the value is empty.
            SecretStoreUnavailableError: access denied, no credentials, KMS refused.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        if not value:
            raise ConfigError(f"refusing to store an empty value in {self.describe()}")
        current = self.get()
        if current is not None and current.value == value:
            return current
        return self._write(value)

    def rollback(self) -> StoredValue:
        """Write the previous value again as a new version; return it.

        Raises:
            ConfigError: there is no previous value.
            SecretStoreUnavailableError: access denied, no credentials, KMS refused.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        previous = self.get_previous()
        if previous is None:
            raise ConfigError(
                f"cannot roll back {self.describe()}: there is no previous version",
            )
        return self._write(previous.value)

    def delete(self) -> None:
        """Delete the parameter with all its versions; a missing one is not an error.

        Raises:
            SecretStoreUnavailableError: access denied, no credentials.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        call(
            self.ref,
            "ssm:DeleteParameter",
            self._aws().delete_parameter,
            absent=_NOT_FOUND,
            Name=self.name,
        )

    def describe(self) -> str:
        """Say which parameter holds the value."""
        return f"AWS SSM parameter {self.name} (SecureString)"

    def _aws(self) -> Any:
        if self._client is None:
            self._client = aws_client("ssm", self.ref.scheme)
        return self._client

    def _read(self, selector: str) -> StoredValue | None:
        answer = call(
            self.ref,
            "ssm:GetParameter",
            self._aws().get_parameter,
            absent=_NOT_FOUND,
            Name=selector,
            WithDecryption=True,
        )
        if answer is None:
            return None
        value = answer_field(self.ref, answer, "Parameter", "Value")
        return StoredValue(str(value), str(answer_field(self.ref, answer, "Parameter", "Version")))

    def _write(self, value: str) -> StoredValue:
        answer = call(
            self.ref,
            "ssm:PutParameter",
            self._aws().put_parameter,
            Name=self.name,
            Value=value,
            Type="SecureString",
            Overwrite=True,
        )
        return StoredValue(value, str(answer_field(self.ref, answer, "Version")))

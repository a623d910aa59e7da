"""The ``aws-sm:NAME[#FIELD]`` store: a secret in AWS Secrets Manager.

Every write is a new secret version: Secrets Manager moves the ``AWSCURRENT`` stage to it
and ``AWSPREVIOUS`` to the version it replaced, so rollback is a stage move back. Reads
always name the stage (``VersionStage``), never rely on the default.

With ``#FIELD`` the secret string is a JSON object and the credential is one of its
fields (one secret holding a workspace's keys is a common layout); writes keep the other
fields. A field's *previous* value is its value in the latest earlier version where it
differs from the current one: writes to the secret's other fields make versions where this
field is unchanged, so ``AWSPREVIOUS`` is searched first, then the older versions
(``ListSecretVersionIds``). Rolling a field back to a value ``AWSPREVIOUS`` does not hold
writes it again as a new version, keeping the other fields as they are now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cio_sec.errors import ConfigError, SecretStoreUnavailableError
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.aws_common import answer_field, aws_client, call

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"

#: A deleted secret stays recoverable this long (the shortest AWS allows).
RECOVERY_WINDOW_DAYS = 7
#: How many earlier versions to search for a field's previous value.
PREVIOUS_SEARCH_DEPTH = 10

_NAME_HINT = (
    "use aws-sm:NAME or aws-sm:NAME#FIELD, for example aws-sm:prod/customerio#track_api_key"
)


@dataclass(frozen=True)
class _Version:
    """One version of the secret: its id and its whole secret string."""

    version_id: str
    text: str


class SecretsManagerStore:
    """A secret (or one JSON field of it) in AWS Secrets Manager."""

    def __init__(self, ref: SecretRef, name: str, field: str | None) -> None:
        self.ref = ref
        self.writable = True
        self.name = name
        self.field = field
        self._client: Any = None

    @classmethod
    def from_ref(
        cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path
    ) -> SecretsManagerStore:
        """Bind the store to the secret (name or ARN) and optional field of the reference.

        Nothing is imported or contacted yet: a config file naming such a reference loads
        without boto3, and the missing extra is reported when the secret is first used.

        Raises:
            ConfigError: the name or the field is empty.
        """
        del environ, cwd  # AWS configuration comes from its standard chain
        name, sep, field = ref.location.partition("#")
        if not name.strip() or name != name.strip() or (sep and not field.strip()):
            raise ConfigError(
                f"this {ref.scheme}: reference is malformed (NAME or ARN, then optionally #FIELD)",
                hint=_NAME_HINT,
            )
        return cls(ref, name, field if sep else None)

    def get(self) -> StoredValue | None:
        """Return the current value (``AWSCURRENT``) and its version id, or None.

        Raises:
            SecretStoreUnavailableError: access denied, no credentials, not a JSON object.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        version = self._read(CURRENT)
        if version is None:
            return None
        value = self._field_of(version)
        return None if value is None else StoredValue(value, version.version_id)

    def get_previous(self) -> StoredValue | None:
        """Return the value of the latest earlier version where it differs, or None.

        Raises:
            SecretStoreUnavailableError: access denied, no credentials, not a JSON object.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        found = self._previous()
        return None if found is None else found[0]

    def _previous(self) -> tuple[StoredValue, bool] | None:
        """The previous value, and whether it is the one in the ``AWSPREVIOUS`` version."""
        current = self._read(CURRENT)
        now = None if current is None else self._field_of(current)
        if current is None or now is None:
            return None
        for version, staged in self._earlier(current.version_id):
            value = self._field_of(version)
            if value is not None and value != now:
                return StoredValue(value, version.version_id), staged
        return None

    def _earlier(self, current_id: str) -> Iterator[tuple[_Version, bool]]:
        """``AWSPREVIOUS``, then (for a field) the other earlier versions, newest first."""
        previous = self._read(PREVIOUS)
        if previous is None:
            return
        yield previous, True
        if self.field is None:
            return  # a plain secret's every write changes its value: AWSPREVIOUS is it
        listed = call(
            self.ref,
            "secretsmanager:ListSecretVersionIds",
            self._aws().list_secret_version_ids,
            absent=frozenset({"ResourceNotFoundException", "InvalidRequestException"}),
            SecretId=self.name,
            IncludeDeprecated=True,  # versions that lost their stage are the ones sought
            MaxResults=100,
        )
        versions = [] if listed is None else list(listed.get("Versions", []))
        # NOTE: moto dates every version alike and lists them oldest first; reversing
        # before the (stable) sort keeps the newest first there too.
        versions.reverse()
        versions.sort(key=lambda v: v.get("CreatedDate", 0), reverse=True)
        skip = {current_id, previous.version_id}
        listed_ids = (str(answer_field(self.ref, v, "VersionId")) for v in versions)
        ids = [version_id for version_id in listed_ids if version_id not in skip]
        for version_id in ids[: PREVIOUS_SEARCH_DEPTH - 1]:
            version = self._read(version_id=version_id)
            if version is not None:
                yield version, False

    def put(self, value: str) -> StoredValue:
        """Write ``value`` as a new version (creating the secret if it does not exist).

        Putting the value that is already current changes nothing, so a retried write
        cannot push the real previous value out. botocore sends an idempotency token
        (``ClientRequestToken``) that its own retries reuse.

        Raises:
            ConfigError: the value is empty.
            SecretStoreUnavailableError: access denied, no credentials, the secret is
                scheduled for deletion, or it is not a JSON object.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        if not value:
            raise ConfigError(f"refusing to store an empty value in {self.describe()}")
        current = self._read(CURRENT)
        if current is not None and self._field_of(current) == value:
            return StoredValue(value, current.version_id)
        text = self._with_field(current, value)
        if current is None and not self._exists():
            created = call(
                self.ref,
                "secretsmanager:CreateSecret",
                self._aws().create_secret,
                Name=self.name,
                SecretString=text,
            )
            return StoredValue(value, str(answer_field(self.ref, created, "VersionId")))
        return StoredValue(value, self._put_text(text))

    def rollback(self) -> StoredValue:
        """Make the previous value current again; return it.

        When ``AWSPREVIOUS`` holds it, ``AWSCURRENT`` moves back to that version and
        Secrets Manager moves ``AWSPREVIOUS`` to the version that was current, so a second
        rollback undoes the first. A field's older value is written again as a new version
        instead, keeping the other fields (which later writes may have changed).

        Raises:
            ConfigError: there is no previous value.
            SecretStoreUnavailableError: access denied, no credentials.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        current = self._read(CURRENT)
        found = self._previous()
        if current is None or found is None or found[0].version is None:
            raise ConfigError(
                f"cannot roll back {self.describe()}: there is no previous value",
                hint="a rollback needs an earlier version whose value differs",
            )
        previous, staged = found
        if not staged:
            return StoredValue(
                previous.value, self._put_text(self._with_field(current, previous.value))
            )
        call(
            self.ref,
            "secretsmanager:UpdateSecretVersionStage",
            self._aws().update_secret_version_stage,
            SecretId=self.name,
            VersionStage=CURRENT,
            MoveToVersionId=previous.version,
            RemoveFromVersionId=current.version_id,
        )
        return previous

    def delete(self) -> None:
        """Delete the secret (recoverable for 7 days), or only the field from its JSON.

        A field is removed by writing a version without it; the secret itself is deleted
        when no other field is left.

        Raises:
            SecretStoreUnavailableError: access denied, no credentials.
            RemoteUnavailableError: AWS cannot be reached or is throttling.
        """
        current = self._read(CURRENT)
        if self.field is not None and current is not None:
            fields = self._object(current)
            if self.field not in fields:
                return
            del fields[self.field]
            if fields:
                self._put_text(json.dumps(fields))
                return
        # Not found, or already scheduled for deletion, is deleted.
        call(
            self.ref,
            "secretsmanager:DeleteSecret",
            self._aws().delete_secret,
            absent=frozenset({"ResourceNotFoundException", "InvalidRequestException"}),
            SecretId=self.name,
            RecoveryWindowInDays=RECOVERY_WINDOW_DAYS,
        )

    def describe(self) -> str:
        """Say which secret (and field) holds the value."""
        where = f"AWS Secrets Manager secret {self.name}"
        return where if self.field is None else f"{where}, JSON field {self.field}"

    def _aws(self) -> Any:
        if self._client is None:
            self._client = aws_client("secretsmanager", self.ref.scheme)
        return self._client

    def _read(self, stage: str | None = None, *, version_id: str | None = None) -> _Version | None:
        """The version holding ``stage`` (or with ``version_id``), or None when absent."""
        which = {"VersionStage": stage} if version_id is None else {"VersionId": version_id}
        answer = call(
            self.ref,
            "secretsmanager:GetSecretValue",
            self._aws().get_secret_value,
            # A secret scheduled for deletion reads as deleted (InvalidRequestException).
            absent=frozenset({"ResourceNotFoundException", "InvalidRequestException"}),
            SecretId=self.name,
            **which,
        )
        if answer is None:
            return None
        text = answer.get("SecretString")
        if text is None:
            raise SecretStoreUnavailableError(
                f"{self.ref}: the secret holds binary data, not a string",
                hint="point the reference at a secret whose value is a string",
            )
        return _Version(str(answer_field(self.ref, answer, "VersionId")), str(text))

    def _exists(self) -> bool:
        """Whether the secret exists at all (it may have no ``AWSCURRENT`` value)."""
        found = call(
            self.ref,
            "secretsmanager:DescribeSecret",
            self._aws().describe_secret,
            absent=frozenset({"ResourceNotFoundException"}),
            SecretId=self.name,
        )
        return found is not None

    def _put_text(self, text: str) -> str:
        """Write a new version; return its id."""
        written = call(
            self.ref,
            "secretsmanager:PutSecretValue",
            self._aws().put_secret_value,
            errors={"InvalidRequestException": self._scheduled_for_deletion()},
            SecretId=self.name,
            SecretString=text,
        )
        return str(answer_field(self.ref, written, "VersionId"))

    def _field_of(self, version: _Version) -> str | None:
        if self.field is None:
            return version.text or None
        value = self._object(version).get(self.field)
        if value is not None and not isinstance(value, str):
            raise SecretStoreUnavailableError(
                f"{self.ref}: field {self.field} is not a string",
                hint="store the credential as a JSON string value",
            )
        return value or None

    def _with_field(self, current: _Version | None, value: str) -> str:
        if self.field is None:
            return value
        fields = {} if current is None else self._object(current)
        fields[self.field] = value
        return json.dumps(fields)

    def _object(self, version: _Version) -> dict[str, Any]:
        try:
            document = json.loads(version.text)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise SecretStoreUnavailableError(
                f"{self.ref}: the secret is not a JSON object, so it has no field {self.field}",
                hint=f"use aws-sm:{self.name} (no #FIELD) for a plain string secret",
            )
        return document

    def _scheduled_for_deletion(self) -> SecretStoreUnavailableError:
        return SecretStoreUnavailableError(
            f"{self.ref}: the secret is scheduled for deletion",
            hint=f"restore it first: aws secretsmanager restore-secret --secret-id {self.name}",
        )

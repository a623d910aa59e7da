"""aws-sm and aws-ssm specifics against a real moto server: stages, JSON fields, failures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from cio_sec.errors import (
    ConfigError,
    ExitCode,
    RemoteUnavailableError,
    SecretStoreUnavailableError,
)
from cio_sec.stores import SecretRef, SecretStore, check_reference, open_store
from cio_sec.stores.aws_common import _client_error, call, error_code, translated
from tests.support.servers import MotoServer, free_port

pytestmark = [pytest.mark.usefixtures("aws"), pytest.mark.slow]

REF = SecretRef("aws-sm", "prod/customerio")


def _open(ref: str) -> SecretStore:
    return open_store(ref, environ=dict(os.environ), cwd=Path.cwd())


def _secrets() -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1")


def _stages(name: str) -> dict[str, list[str]]:
    described = _secrets().describe_secret(SecretId=name)
    return {version: sorted(stages) for version, stages in described["VersionIdsToStages"].items()}


def test_secrets_manager_moves_the_current_and_previous_stages() -> None:
    store = _open("aws-sm:prod/customerio")
    first = store.put("first_key_value_01")
    second = store.put("second_key_value_2")
    assert _stages("prod/customerio") == {
        first.version: ["AWSPREVIOUS"],
        second.version: ["AWSCURRENT"],
    }
    store.rollback()
    assert _stages("prod/customerio") == {
        first.version: ["AWSCURRENT"],
        second.version: ["AWSPREVIOUS"],
    }
    # What any other AWS client (the application) now reads is the rolled-back value.
    answer = _secrets().get_secret_value(SecretId="prod/customerio", VersionStage="AWSCURRENT")
    assert answer["SecretString"] == "first_key_value_01"


def test_a_json_field_is_written_without_touching_the_other_fields() -> None:
    _secrets().create_secret(
        Name="prod/workspace", SecretString=json.dumps({"site_id": "abc", "region": "eu"})
    )
    track = _open("aws-sm:prod/workspace#track_api_key")
    track.put("track_key_value_01")
    document = json.loads(_secrets().get_secret_value(SecretId="prod/workspace")["SecretString"])
    assert document == {"site_id": "abc", "region": "eu", "track_api_key": "track_key_value_01"}
    assert _open("aws-sm:prod/workspace#site_id").get() is not None
    # The version before held no track key, so there is nothing to roll back to.
    assert track.get_previous() is None


def test_a_write_to_another_field_gives_this_field_no_previous_value() -> None:
    track = _open("aws-sm:prod/workspace#track_api_key")
    app = _open("aws-sm:prod/workspace#app_api_key")
    track.put("track_key_value_01")
    app.put("app_key_value_0001")
    assert track.get_previous() is None
    with pytest.raises(ConfigError, match="no previous value"):
        track.rollback()


def test_a_field_written_before_another_finds_its_previous_value_in_an_older_version() -> None:
    _secrets().create_secret(
        Name="prod/pair", SecretString=json.dumps({"site_id": "site_old_0001", "key": "key_old_01"})
    )
    site = _open("aws-sm:prod/pair#site_id")
    key = _open("aws-sm:prod/pair#key")
    site.put("site_new_0001")
    key.put("key_new_01")  # AWSPREVIOUS now holds the new site ID too
    previous = site.get_previous()
    assert previous is not None
    assert previous.value == "site_old_0001"
    restored = site.rollback()  # written again as a version: the new key stays
    assert restored.value == "site_old_0001"
    document = json.loads(
        _secrets().get_secret_value(SecretId="prod/pair", VersionStage="AWSCURRENT")["SecretString"]
    )
    assert document == {"site_id": "site_old_0001", "key": "key_new_01"}
    assert site.rollback().value == "site_new_0001"  # a second rollback undoes the first
    current = site.get()
    assert current is not None
    assert current.value == "site_new_0001"


def test_deleting_a_field_keeps_the_others_and_the_last_field_deletes_the_secret() -> None:
    track = _open("aws-sm:prod/workspace#track_api_key")
    app = _open("aws-sm:prod/workspace#app_api_key")
    track.put("track_key_value_01")
    app.put("app_key_value_0001")
    track.delete()
    assert track.get() is None
    assert app.get() is not None
    track.delete()  # the field is already gone
    app.delete()
    assert app.get() is None
    with pytest.raises(ClientError, match="marked deleted"):
        _secrets().get_secret_value(SecretId="prod/workspace")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json at all", "not a JSON object"),
        (json.dumps(["a", "list"]), "not a JSON object"),
        (json.dumps({"track_api_key": 12345}), "is not a string"),
    ],
)
def test_a_field_of_a_secret_that_is_not_a_json_object_of_strings_is_refused(
    secret: str, message: str
) -> None:
    _secrets().create_secret(Name="prod/odd", SecretString=secret)
    store = _open("aws-sm:prod/odd#track_api_key")
    with pytest.raises(SecretStoreUnavailableError, match=message) as caught:
        store.get()
    assert caught.value.hint is not None


def test_a_binary_secret_is_refused_with_a_hint() -> None:
    _secrets().create_secret(Name="prod/binary", SecretBinary=b"\x00\x01")
    with pytest.raises(SecretStoreUnavailableError, match="binary data"):
        _open("aws-sm:prod/binary").get()


def test_a_secret_can_be_named_by_its_arn() -> None:
    arn = _secrets().create_secret(Name="prod/by-arn", SecretString="first_key_value_01")["ARN"]
    store = _open(f"aws-sm:{arn}")
    current = store.get()
    assert current is not None
    assert current.value == "first_key_value_01"
    assert arn in store.describe()


def test_a_secret_without_a_current_value_is_written_as_a_new_version() -> None:
    _secrets().create_secret(Name="prod/empty")  # exists, but has no version yet
    store = _open("aws-sm:prod/empty")
    assert store.get() is None
    stored = store.put("first_key_value_01")
    assert store.get() == stored


def test_ssm_keeps_every_version_and_rolls_back_by_writing_a_new_one() -> None:
    store = _open("aws-ssm:/prod/customerio/track_api_key")
    store.put("first_key_value_01")
    store.put("second_key_value_2")
    restored = store.rollback()
    assert restored.version == "3"
    ssm = boto3.client("ssm", region_name="us-east-1")
    history = ssm.get_parameter_history(Name="/prod/customerio/track_api_key", WithDecryption=True)
    assert [(p["Version"], p["Type"], p["Value"]) for p in history["Parameters"]] == [
        (1, "SecureString", "first_key_value_01"),
        (2, "SecureString", "second_key_value_2"),
        (3, "SecureString", "first_key_value_01"),
    ]


@pytest.mark.parametrize(
    "ref",
    [
        "aws-sm:",
        "aws-sm: padded",
        "aws-sm:name#",
        "aws-ssm:relative/name",
        "aws-ssm:/",
        "aws-ssm:/with space",
        "aws-ssm:/name:3",
    ],
)
def test_malformed_references_are_config_errors(ref: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_reference(SecretRef(*ref.split(":", 1)))
    assert caught.value.hint is not None


# --------------------------------------------------------------------------- failures


def _limited_credentials(actions: list[str]) -> dict[str, str]:
    """Create an IAM user allowed only ``actions``; return its access key as AWS env vars."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="limited")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    iam.put_user_policy(UserName="limited", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="limited")["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


@pytest.mark.parametrize(
    ("ref", "read", "write"),
    [
        ("aws-sm:prod/customerio", "secretsmanager:GetSecretValue", "PutSecretValue"),
        ("aws-ssm:/prod/customerio/key", "ssm:GetParameter", "ssm:PutParameter"),
    ],
)
def test_access_denied_names_the_missing_permission(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch, ref: str, read: str, write: str
) -> None:
    _open(ref).put("first_key_value_01")
    reader = _limited_credentials([read, "secretsmanager:DescribeSecret"])
    aws.enforce_iam(True)
    for name, value in reader.items():
        monkeypatch.setenv(name, value)
    store = _open(ref)
    current = store.get()
    assert current is not None
    assert current.value == "first_key_value_01"
    with pytest.raises(SecretStoreUnavailableError, match="access denied") as denied:
        store.put("second_key_value_2")
    assert denied.value.exit_code is ExitCode.CONFIG
    assert denied.value.hint is not None
    assert write in denied.value.message
    aws.enforce_iam(False)
    assert _open(ref).get() == current  # nothing was written


def test_unknown_credentials_are_rejected_with_the_credential_chain_hint(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.enforce_iam(True)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")
    with pytest.raises(SecretStoreUnavailableError, match="rejected the credentials") as caught:
        _open("aws-ssm:/prod/key").get()
    assert caught.value.hint is not None
    assert "AWS_PROFILE" in caught.value.hint


def test_no_credentials_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(SecretStoreUnavailableError, match="no AWS credentials") as caught:
        _open("aws-sm:prod/customerio").get()
    assert caught.value.exit_code is ExitCode.CONFIG


def test_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigError, match="no AWS region") as caught:
        _open("aws-ssm:/prod/key").get()
    assert caught.value.hint is not None
    assert "AWS_REGION" in caught.value.hint


@pytest.mark.parametrize("ref", ["aws-sm:prod/customerio", "aws-ssm:/prod/key"])
def test_an_unreachable_endpoint_is_a_remote_error(
    monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RemoteUnavailableError, match="cannot reach AWS") as caught:
        _open(ref).get()
    assert caught.value.exit_code is ExitCode.REMOTE


def _client_error_of(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetSecretValue",
    )


@pytest.mark.parametrize(
    ("code", "status", "error", "message"),
    [
        ("ThrottlingException", 400, RemoteUnavailableError, "throttling"),
        ("TooManyUpdates", 400, RemoteUnavailableError, "throttling"),
        ("DecryptionFailure", 400, SecretStoreUnavailableError, "KMS key"),
        ("InternalServiceError", 500, RemoteUnavailableError, "AWS failed"),
        ("ValidationException", 400, SecretStoreUnavailableError, "refused"),
        ("403", 403, SecretStoreUnavailableError, "access denied"),
    ],
)
def test_every_aws_error_code_becomes_an_error_with_a_hint(
    code: str, status: int, error: type[Exception], message: str
) -> None:
    translated_error = _client_error(
        REF, "secretsmanager:GetSecretValue", _client_error_of(code, status)
    )
    assert type(translated_error) is error
    assert message in str(translated_error)
    assert getattr(translated_error, "hint", None)


def test_a_read_timeout_is_a_remote_error() -> None:
    with pytest.raises(RemoteUnavailableError), translated(REF, "secretsmanager:GetSecretValue"):
        raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1")


def test_error_code_of_an_exception_without_a_response() -> None:
    assert error_code(ValueError("x")) is None
    assert error_code(ClientError({}, "op")) is None


def test_an_error_code_the_caller_knows_becomes_its_own_error() -> None:
    gone = ConfigError("the secret is gone", hint="restore it")
    with pytest.raises(ConfigError, match="the secret is gone"):
        call(
            REF,
            "secretsmanager:GetSecretValue",
            _secrets().get_secret_value,
            errors={"ResourceNotFoundException": gone},
            SecretId="missing",
        )

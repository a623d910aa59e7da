"""What the two AWS stores share: a boto3 client and the translation of its errors.

boto3 is imported here, lazily, the first time a store talks to AWS. Region, endpoint and
credentials come from the AWS standard configuration (environment, ``~/.aws`` files, SSO,
instance or task roles, ``AWS_ENDPOINT_URL``), exactly as the AWS CLI finds them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cio_sec.errors import (
    CioSecError,
    ConfigError,
    RemoteUnavailableError,
    SecretStoreUnavailableError,
)
from cio_sec.stores import SecretRef
from cio_sec.stores.addresses import host_of
from cio_sec.stores.extras import import_extra

#: Short timeouts and few retries: an operator is waiting (botocore's default is 60 s).
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 15
MAX_ATTEMPTS = 3

_ACCESS_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "403"})
_XML_CODE = re.compile(r"<Code>([A-Za-z0-9.]+)</Code>")
_BAD_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
    }
)
_THROTTLED = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "TooManyUpdates"}
)
_KMS = frozenset({"DecryptionFailure", "EncryptionFailure", "KMSAccessDeniedException"})

CREDENTIALS_HINT = (
    "configure AWS credentials the usual way: AWS_PROFILE, AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, `aws sso login`, or an instance/task role"
)


def aws_client(service: str, scheme: str) -> Any:
    """A boto3 client for ``service`` from the standard AWS configuration.

    Raises:
        ConfigError: boto3 is not installed, or no region is configured.
    """
    boto3 = import_extra("boto3", scheme=scheme, extra="aws")
    from botocore.config import Config

    session = boto3.session.Session()
    if session.region_name is None and os.environ.get("AWS_REGION"):
        # AWS_REGION is what the other AWS SDKs read; boto3 reads only AWS_DEFAULT_REGION.
        session = boto3.session.Session(region_name=os.environ["AWS_REGION"])
    if session.region_name is None:
        raise ConfigError(
            f"{scheme}: no AWS region configured",
            hint="set AWS_REGION (or region in ~/.aws/config for your AWS_PROFILE)",
        )
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    )
    return session.client(service, config=config)


def call(
    ref: SecretRef,
    action: str,
    method: Callable[..., Any],
    *,
    absent: frozenset[str] = frozenset(),
    errors: Mapping[str, CioSecError] | None = None,
    **kwargs: Any,
) -> Any:
    """Call a boto3 client method with cio-sec's error translation.

    Returns None when AWS answers with an error code in ``absent`` (the caller's "not
    found"); raises the matching entry of ``errors`` for other codes the caller knows.

    Raises:
        CioSecError: as `translated`, or from ``errors``.
    """
    from botocore.exceptions import ClientError

    with translated(ref, action):
        try:
            return method(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code in absent:
                return None
            if errors and code is not None and code in errors:
                raise errors[code] from None
            raise


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error", {})
    code = error.get("Code")
    if code is None:
        return None
    # NOTE: an XML error body on a JSON-protocol service (moto's IAM checks answer so)
    # leaves botocore with the bare HTTP status as the code and the XML as the message.
    embedded = _XML_CODE.search(str(error.get("Message", "")))
    if str(code).isdigit() and embedded:
        return embedded.group(1)
    return str(code)


@contextlib.contextmanager
def translated(ref: SecretRef, action: str) -> Iterator[None]:
    """Turn botocore's exceptions into cio-sec errors with a hint an operator can act on.

    ``action`` is the IAM action the call needs, named in the access-denied hint. Errors
    a caller handles itself (not found, for example) are raised from inside the block as
    cio-sec errors or returned before it, so they never reach this translation.

    Raises:
        SecretStoreUnavailableError: no or rejected credentials, access denied, KMS.
        RemoteUnavailableError: the endpoint is unreachable, throttling, 5xx.
    """
    from botocore import exceptions as aws

    try:
        yield
    except (aws.NoCredentialsError, aws.PartialCredentialsError, aws.CredentialRetrievalError):
        raise SecretStoreUnavailableError(
            f"{ref}: no AWS credentials found", hint=CREDENTIALS_HINT
        ) from None
    except (aws.ConnectionError, aws.HTTPClientError) as exc:
        raise RemoteUnavailableError(
            f"{ref}: cannot reach AWS ({type(exc).__name__})",
            hint="check the network, AWS_REGION and AWS_ENDPOINT_URL; nothing was changed",
        ) from None
    except aws.ClientError as exc:
        raise _client_error(ref, action, exc) from None


def answer_field(ref: SecretRef, answer: Any, *path: str) -> Any:
    """The value at ``path`` in an AWS answer, or a clear error when it is missing.

    botocore parses whatever the endpoint sends against the service model and leaves out
    what is missing, so a proxy or an impostor endpoint can answer without a field.

    Raises:
        SecretStoreUnavailableError: the answer has no such field.
    """
    node = answer
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if node is None:
        raise SecretStoreUnavailableError(
            f"{ref}: the AWS answer has no {'.'.join(path)}, which AWS always sends",
            hint="check that AWS_ENDPOINT_URL (if set) points at AWS itself, not at a proxy "
            "or another service; nothing more was changed",
        )
    return node


def _client_error(ref: SecretRef, action: str, exc: Exception) -> Exception:
    metadata = getattr(exc, "response", {}).get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode", 0)
    if 300 <= status < 400:
        # botocore follows no redirect (tested); say so instead of "refused (307)".
        target = host_of(metadata.get("HTTPHeaders", {}).get("location", ""))
        return SecretStoreUnavailableError(
            f"{ref}: the AWS endpoint answered {status} redirecting to {target}; cio-sec "
            "follows no redirect, so the signed request was not sent there",
            hint="check AWS_ENDPOINT_URL and AWS_REGION: point them at the endpoint you trust",
        )
    code = error_code(exc) or "unknown"
    if code in _ACCESS_DENIED:
        return SecretStoreUnavailableError(
            f"{ref}: access denied ({action})",
            hint=f"the AWS identity needs {action} on this resource; see the "
            f"least-privilege IAM in docs/reference/secret-stores.md",
        )
    if code in _BAD_CREDENTIALS:
        return SecretStoreUnavailableError(
            f"{ref}: AWS rejected the credentials ({code})", hint=CREDENTIALS_HINT
        )
    if code in _THROTTLED:
        return RemoteUnavailableError(
            f"{ref}: AWS is throttling requests ({code})",
            hint="wait a minute and retry; nothing was changed",
        )
    if code in _KMS:
        return SecretStoreUnavailableError(
            f"{ref}: the KMS key of this secret refused the operation ({code})",
            hint="the AWS identity needs kms:Decrypt (and kms:GenerateDataKey to write) on "
            "the secret's KMS key",
        )
    if status >= 500:
        return RemoteUnavailableError(
            f"{ref}: AWS failed ({code})", hint="retry later; nothing was changed"
        )
    return SecretStoreUnavailableError(
        f"{ref}: AWS refused {action} ({code})", hint="check the reference and the IAM policy"
    )

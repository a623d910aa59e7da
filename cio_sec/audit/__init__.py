"""``cio-sec audit check``: the security checklist as automated checks.

`run` runs every check on one directory and profile; each check lives in the module of its
group (`credentials_checks`, `webhook_code`, `policy`, `files`, `working_tree`,
`trail_check`) and returns a `CheckResult`. The audit trail itself (``audit log``) is
`cio_sec.trail`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.audit import credentials_checks, files, policy, trail_check, webhook_code, working_tree
from cio_sec.audit.report import AuditReport, CheckFinding, CheckResult, Status
from cio_sec.errors import InputError
from cio_sec.settings import CREDENTIAL_NAMES
from cio_sec.stores.chain import resolve
from cio_sec.trail.records import utc_now

if TYPE_CHECKING:
    from cio_sec.audit.working_tree import Scanner
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

DEFAULT_MAX_KEY_AGE = 90

__all__ = [
    "DEFAULT_MAX_KEY_AGE",
    "AuditReport",
    "AuditRequest",
    "CheckFinding",
    "CheckResult",
    "Status",
    "run",
]


@dataclass(frozen=True, kw_only=True)
class AuditRequest:
    """What ``audit check`` looks at, and how strictly."""

    path: Path = Path(".")
    """The application's repository."""
    max_key_age: int = DEFAULT_MAX_KEY_AGE
    """Days a credential may go unrotated."""
    online: bool = False
    """Also test each credential against Customer.io (read-only calls)."""
    strict: bool = False
    """A WARN fails the audit too."""


def run(
    request: AuditRequest,
    settings: Settings,
    opener: StoreOpener,
    *,
    clock: Callable[[], datetime] = utc_now,
    scanner: Scanner | None = None,
) -> AuditReport:
    """Run every check on the application in ``request.path`` and the current profile.

    Nothing prompts and nothing is written; ``online`` adds read-only calls to Customer.io.
    ``clock`` and ``scanner`` are test seams: ``scanner`` replaces the scan-repo detectors
    (default: loaded when installed).

    Raises:
        InputError: the path is not a directory.
        ConfigError: a credential reference or the rotation records cannot be read.
    """
    path = request.path
    if not path.is_dir():
        raise InputError("not a directory", path=path, hint="pass the application's repository")
    resolved = {name: resolve(settings, name, opener) for name in CREDENTIAL_NAMES}
    handlers = webhook_code.find_handlers(path)
    dotenv_files = files.find_dotenv_files(path)
    view = files.GitView.open(path)
    checks = [
        credentials_checks.check_credential_stores(settings, resolved),
        credentials_checks.check_key_age(
            settings, resolved, max_age_days=request.max_key_age, now=clock()
        ),
        webhook_code.check_webhook_key(resolved, handlers),
        webhook_code.check_webhook_code(handlers),
        policy.check_sanitize_policy(settings),
        files.check_dotenv_ignored(path, dotenv_files, view),
        files.check_dotenv_history(path, view),
        files.check_permissions(path, dotenv_files, settings),
        working_tree.check_working_tree(path, view, scanner or working_tree.load_scanner()),
        trail_check.check_trail(settings, opener),
    ]
    if request.online:
        # NOTE: loaded only here: it pulls in the App API client and asyncio.
        from cio_sec.audit.never_send import check_never_send

        checks += credentials_checks.check_online(settings, opener)
        checks.append(check_never_send(settings, opener))
    return AuditReport(path, settings.profile, tuple(checks), request.strict)

"""The ``credentials`` command: show where credentials come from, store them, test them.

Resolving a credential along its chain is the stores layer's (`cio_sec.stores.chain`);
this package is the command on top of it. Values never appear in a report.
"""

from __future__ import annotations

from cio_sec.credentials.check import CheckReport, CheckRequest, CredentialCheck, check
from cio_sec.credentials.save import SaveRequest, parse_store_option, save, set_credential
from cio_sec.credentials.show import CredentialsReport, ShowRequest, show

__all__ = [
    "CheckReport",
    "CheckRequest",
    "CredentialCheck",
    "CredentialsReport",
    "SaveRequest",
    "ShowRequest",
    "check",
    "parse_store_option",
    "save",
    "set_credential",
    "show",
]

"""Customer.io webhook signatures: verify, diagnose, sign, receive and probe.

The library surface for applications is `verify` and `sign`; `diagnose` explains a
rejection. See `cio_sec.webhook.signing` for a framework-neutral example, and the README
for Flask and FastAPI handlers that read the raw body.
"""

from __future__ import annotations

from cio_sec.webhook.diagnose import diagnose
from cio_sec.webhook.near_misses import Cause
from cio_sec.webhook.recipe import Scheme, Secret
from cio_sec.webhook.signing import Reason, Verification, sign, verify

__all__ = ["Cause", "Reason", "Scheme", "Secret", "Verification", "diagnose", "sign", "verify"]

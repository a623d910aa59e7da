"""Purpose-built application repositories and profiles for the audit tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import git

from cio_sec.rotate.key_ages import RotationRecord, record_rotation
from cio_sec.settings import CliFlags, Settings, default_state_dir, read_settings
from cio_sec.stores.chain import StoreOpener, store_opener

GOOD_PYTHON_HANDLER = """\
import hashlib
import hmac
import json

from flask import Flask, abort, request

app = Flask(__name__)


@app.post("/customerio/webhook")
def webhook():
    timestamp = request.headers["X-CIO-Timestamp"]
    signature = request.headers["X-CIO-Signature"]
    body = request.get_data()
    expected = hmac.new(KEY, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    # never `expected == signature`: that leaks timing
    if not hmac.compare_digest(expected.hexdigest().encode(), signature.encode()):
        abort(401)
    return json.loads(body)
"""

BAD_PYTHON_HANDLER = """\
import hashlib
import hmac
import json

from flask import Flask, request

app = Flask(__name__)


@app.post("/webhook")
def webhook():
    signature = request.headers.get("X-CIO-Signature")
    payload = request.get_json()
    expected = hmac.new(KEY, json.dumps(payload).encode(), hashlib.sha256).hexdigest()
    if expected == signature:
        return "ok"
    return "bad", 401
"""

GOOD_JS_HANDLER = """\
const crypto = require("crypto");

app.post("/cio", express.raw({ type: "application/json" }), (req, res) => {
  const timestamp = req.get("X-CIO-Timestamp");
  const signature = Buffer.from(req.get("X-CIO-Signature") || "", "hex");
  const expected = crypto
    .createHmac("sha256", KEY)
    .update(`v0:${timestamp}:`)
    .update(req.body)
    .digest();
  if (signature.length !== expected.length || !crypto.timingSafeEqual(signature, expected)) {
    return res.sendStatus(401);
  }
  res.sendStatus(200);
});
"""

BAD_TS_HANDLER = """\
import crypto from "crypto";

app.post("/cio", express.json(), (req: Request, res: Response) => {
  const signature = req.headers["x-cio-signature"] as string;
  const expected = crypto
    .createHmac("sha256", KEY)
    .update(JSON.stringify(req.body))
    .digest("hex");
  if (!crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
    return res.sendStatus(401);
  }
  res.sendStatus(200);
});
"""

FULL_POLICY = """\
[rules]
ssn = "drop"
tax_id = "drop"
cardNumber = "drop"
cvv = "drop"
"*password*" = "drop"
bank_account = "drop"
routing_number = "drop"
iban = "drop"
passport_number = "drop"
"Driver's License" = "drop"
phone = "pseudonymise"
email = "keep"
"""

CREDENTIAL_VALUES = {
    "site_id": "5170a1b2c3d4e5f60718",
    "track_api_key": "9e8d7c6b5a4f3e2d1c0b",
    "app_api_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "webhook_signing_key": "whsk0123456789abcdef0123",
}


def make_repo(root: Path, files: Mapping[str, str], *, commit: bool = True) -> git.Repo:
    """A git repository with these files (committed unless told otherwise)."""
    root.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(root)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if commit:
        repo.index.add(list(files))
        repo.index.commit("initial")
    return repo


def write_config(home: Path, text: str) -> Path:
    """Write the cio-sec config file under the test's HOME, mode 0600."""
    path = home / ".config" / "cio-sec" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def record_rotations(profile: str, names: list[str], *, days_ago: int) -> None:
    """Record a rotation of each credential ``days_ago`` days ago."""
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    for name in names:
        record_rotation(
            default_state_dir(os.environ), RotationRecord(profile, name, "track", when, "0" * 16)
        )


def load_profile(name: str | None = None) -> tuple[Settings, StoreOpener]:
    """Settings and opener for a profile (the hermetic environment of the test)."""
    settings = read_settings(CliFlags(profile=name), os.environ, cwd=Path.cwd())
    return settings, store_opener(settings, os.environ)

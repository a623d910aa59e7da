#!/usr/bin/env bash
# Validate the SARIF logs of `scan-repo` and `audit` with Microsoft's SARIF Multitool and
# GitHub's code-scanning rules (--rule-kind "Gh;Sarif"): a repository with findings and a
# clean one, a project whose audit fails and one whose audit passes. Any error fails.
#
# The Multitool comes from npm into a throwaway directory (never the Python lock). It is run
# by its binary, not through `npx`: the npm wrapper passes its arguments through a shell,
# which splits "Gh;Sarif" at the semicolon.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cio_sec=${CIO_SEC:-$root/.venv/bin/cio-sec}
python=${PYTHON:-$root/.venv/bin/python}
multitool_version=${SARIF_MULTITOOL_VERSION:-5.7.0}

work=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

# A machine of its own: no keyring, no git or cio-sec configuration of whoever runs this.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_STATE_HOME="$work/home/.state"
export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.com
export GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com
mkdir -p "$HOME"

# Node and npm fetch the Multitool; as root (CI) they are installed when missing.
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "sarif-validate: needs node and npm (apt-get install nodejs npm)" >&2
        exit 1
    fi
    echo "sarif-validate: installing missing Debian packages: nodejs npm (apt-get update, then apt-get install)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# The Multitool is a .NET program: without ICU installed it must not look for it.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1

echo "sarif-validate: installing @microsoft/sarif-multitool@$multitool_version from npm"
npm install --prefix "$work/npm" --no-save --no-audit --no-fund --no-update-notifier --loglevel=error \
    "@microsoft/sarif-multitool@$multitool_version" >/dev/null
multitool=$(node -p "require('$work/npm/node_modules/@microsoft/sarif-multitool')")

# Sample values in Customer.io's key shapes, issued by no one.
site_id=f82ad78f695bd32f9d99
track_key=1a621ef65edfe6d3b6ae

new_repo() {
    git init -q -b main "$1"
}

commit_all() {
    git -C "$1" add -A
    git -C "$1" commit -q -m "$2"
}

leaky="$work/leaky"
new_repo "$leaky"
printf 'CUSTOMERIO_SITE_ID=%s\nCUSTOMERIO_TRACK_API_KEY=%s\n' "$site_id" "$track_key" >"$leaky/.env"
mkdir -p "$leaky/deploy"
cp "$leaky/.env" "$leaky/deploy/prod.env"
printf 'hello\n' >"$leaky/README.md"
# An archive member, a damaged archive (a skipped item), and a blob no commit holds.
"$python" - "$leaky" <<'PYTHON'
import io
import sys
import zipfile
from pathlib import Path

root = Path(sys.argv[1])
env = (root / ".env").read_bytes()
with zipfile.ZipFile(root / "build.zip", "w") as archive:
    archive.writestr("app/.env", env)
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr("old.env", env * 50)
damaged = bytearray(buffer.getvalue())
damaged[40:80] = bytes(40)
(root / "damaged.zip").write_bytes(bytes(damaged))
PYTHON
commit_all "$leaky" "leak one key in two files and an archive"
printf 'CUSTOMERIO_APP_API_KEY=20436c6351668b25a74a2c289a639d3f\n' | git -C "$leaky" hash-object -w --stdin >/dev/null

clean="$work/clean"
new_repo "$clean"
printf '.env*\n' >"$clean/.gitignore"
printf 'hello\n' >"$clean/README.md"
commit_all "$clean" "nothing to find"

# Runs cio-sec, expecting the exit code given first; the log goes to the file given second.
run() {
    local expected=$1 output=$2 status=0
    shift 2
    "$cio_sec" --non-interactive "$@" >"$output" || status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "sarif-validate: cio-sec $* exited $status, expected $expected" >&2
        exit 1
    fi
}

run 1 "$work/scan-findings.sarif" scan-repo "$leaky" --include-unreachable --format sarif
run 0 "$work/scan-clean.sarif" scan-repo "$clean" --format sarif
run 1 "$work/audit-failing.sarif" audit "$leaky" --format sarif
run 0 "$work/audit-passing.sarif" audit "$clean" --format sarif

failed=0
for name in scan-findings scan-clean audit-failing audit-passing; do
    log="$work/$name.sarif"
    report="$work/$name.validation.sarif"  # a fresh path: the Multitool will not overwrite
    "$multitool" validate --rule-kind "Gh;Sarif" --output "$report" "$log" >"$work/$name.out" 2>&1 || true
    "$python" - "$name" "$log" "$report" <<'PYTHON' || failed=1
import json
import sys

name, log_path, report_path = sys.argv[1:]
try:
    with open(report_path, encoding="utf-8") as file:
        report = json.load(file)
except (OSError, ValueError) as exc:
    sys.exit(f"sarif-validate: {name}: the Multitool wrote no readable report ({exc})")
with open(log_path, encoding="utf-8") as file:
    log = json.load(file)
results = [result for run in report["runs"] for result in run.get("results", [])]
errors = 0
for result in results:
    level = result.get("level", "warning")  # SARIF's default level
    message = result.get("message", {})
    detail = message.get("text") or ", ".join(message.get("arguments", []))
    print(f"sarif-validate: {name}: {level} {result.get('ruleId')}: {detail}")
    errors += level == "error"
invocations = [inv for run in report["runs"] for inv in run.get("invocations", [])]
if not invocations or not all(inv.get("executionSuccessful") for inv in invocations):
    sys.exit(f"sarif-validate: {name}: the Multitool did not run to the end")
found = sum(len(run.get("results", [])) for run in log["runs"])
if name in ("scan-findings", "audit-failing") and not found:
    sys.exit(f"sarif-validate: {name}: expected results to validate, found none")
print(f"sarif-validate: {name}: {found} result(s), {errors} error(s), {len(results) - errors} other")
sys.exit(1 if errors else 0)
PYTHON
done
if [ "$failed" -ne 0 ]; then
    echo "sarif-validate: FAILED (Multitool output above)" >&2
    exit 1
fi
echo "sarif-validate: all four SARIF logs pass the Multitool's GitHub and SARIF rules"

#!/usr/bin/env bash
# The demo: start cio-sec's Customer.io sandbox, store its credentials in a dotenv file
# (mode 0600, written atomically) that a demo profile names, show where each credential
# comes from, test them against the sandbox with read-only calls, then erase a few thousand
# people in bulk (with a progress bar on a terminal), show the job's status and verify the
# audit trail's chain.
# Nothing leaves 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# The environment to run from: `make demo` passes its runtime-only .venv-demo.
env_dir="${1:-.venv-demo}"
[[ "$env_dir" = /* ]] || env_dir="$root/$env_dir"
bin="$env_dir/bin"
people="${DEMO_PEOPLE:-2000}"
demo="$(mktemp -d)"
sandbox_pid=""
cleanup() {
    [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null && wait "$sandbox_pid" 2>/dev/null
    rm -rf "$demo"
}
trap cleanup EXIT

"$bin/cio-sec" sandbox --port 0 >"$demo/sandbox.json" &
sandbox_pid=$!
for _ in $(seq 100); do [ -s "$demo/sandbox.json" ] && break; sleep 0.1; done
field() { "$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]], end="")' "$demo/sandbox.json" "$1"; }

# The demo's profile: the sandbox plays Customer.io, and every credential lives in the
# demo's dotenv file and nowhere else, so no keyring is asked (or reported unreadable).
cat >"$demo/config.toml" <<TOML
default_profile = "demo"

[profiles.demo]
track_url = "$(field track_url)"
app_url = "$(field app_url)"
site_id = "dotenv:.env#CUSTOMERIO_SITE_ID"
track_api_key = "dotenv:.env#CUSTOMERIO_TRACK_API_KEY"
app_api_key = "dotenv:.env#CUSTOMERIO_APP_API_KEY"
webhook_signing_key = "dotenv:.env#CUSTOMERIO_WEBHOOK_SECRET"
pseudonym_key = "dotenv:.env#CIO_SEC_PSEUDONYM_KEY"
TOML
export CIO_SEC_CONFIG="$demo/config.toml"
echo "== sandbox running at $(field track_url)" >&2
cd "$demo"

echo "== storing the sandbox's credentials (from stdin, never from an argument)" >&2
for name in site_id track_api_key app_api_key; do
    field "$name" | "$bin/cio-sec" credentials set "$name" --stdin
done

echo "== where each credential comes from (values masked)" >&2
"$bin/cio-sec" credentials show

echo "== testing them against the sandbox" >&2
"$bin/cio-sec" credentials check

# Journals and the audit trail go to the demo directory, not to ~/.local/state.
export XDG_STATE_HOME="$demo/state"
echo "== a pseudonym key for the audit trail (random, into the same dotenv file)" >&2
"$bin/python" -c 'import secrets; print(secrets.token_hex(32), end="")' |
    "$bin/cio-sec" credentials set pseudonym_key --stdin

echo "== a bulk erasure of $people people from a generated ids.csv (dry run first)" >&2
"$bin/python" -c 'import sys; print("id"); [print(f"demo-user-{n:05d}") for n in range(int(sys.argv[1]))]' "$people" >ids.csv
# The people exist first, so each one can be read back and proved gone afterwards.
"$bin/python" - "$demo/sandbox.json" "$people" <<'PY'
import json, sys, httpx
info = json.load(open(sys.argv[1]))
with httpx.Client(base_url=info["track_url"], auth=(info["site_id"], info["track_api_key"])) as track:
    for n in range(int(sys.argv[2])):
        track.put(f"/api/v1/customers/demo-user-{n:05d}", json={"plan": "demo"}).raise_for_status()
PY
"$bin/cio-sec" erase --file ids.csv --ticket DEMO-1 --dry-run
# The sandbox has no App API limit by default; against Customer.io keep the default 10/s.
"$bin/cio-sec" erase --file ids.csv --ticket DEMO-1 --yes --rate 400 \
    --verify-rate 1000

echo "== the job's status" >&2
"$bin/cio-sec" erase --status

echo "== verifying the audit trail's hash chain, then the evidence for the ticket" >&2
"$bin/cio-sec" audit log verify
# The whole report goes to a file first: `| head` would close the pipe early, and a
# writer whose reader went away exits 141, which would fail the demo under pipefail.
"$bin/cio-sec" audit log export --ticket DEMO-1 >evidence.md
head -n 12 evidence.md

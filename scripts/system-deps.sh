#!/usr/bin/env bash
# Install the Debian packages the test suite needs beyond Python: git, and a real
# SecretService (gnome-keyring on D-Bus) for the keyring tests. Runs as part of
# `make test`, so a new user and CI run exactly the same thing.
#
# As root (CI) or with passwordless sudo it names what is missing, then installs it;
# otherwise it says what is missing and goes on: the SecretService tests then skip, except when CI is set,
# where they fail rather than skip.
set -euo pipefail

packages=(git dbus dbus-x11 gnome-keyring bash-completion zsh fish tmux)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "system-deps: install them (apt-get install ${missing[*]}) to run the keyring tests" >&2
    exit 0
fi
# Say what is about to change on this machine before changing it.
echo "system-deps: installing missing Debian packages: ${missing[*]}" >&2
echo "system-deps: running ${as_root[*]:+${as_root[*]} }apt-get update, then apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

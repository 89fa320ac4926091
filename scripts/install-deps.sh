#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages listed in scripts/deps.txt. Idempotent: does
# nothing when all are installed. Uses sudo when not root.
#   scripts/install-deps.sh           install what is missing
#   scripts/install-deps.sh --check   list what is missing; exit 1 if any
#   scripts/install-deps.sh --list    print the package list
set -eu

here=$(cd -- "$(dirname -- "$0")" && pwd)
list=$here/deps.txt

packages() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$'
}

missing() {
    for p in $(packages); do
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$st" = installed ] || echo "$p"
    done
}

case ${1:-} in
--list) packages; exit 0 ;;
--check)
    m=$(missing | tr '\n' ' ')
    [ -z "$m" ] && exit 0
    echo "missing: $m"
    exit 1
    ;;
"") ;;
*) echo "usage: $0 [--check|--list]" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null 2>&1 || {
    echo "install-deps: this script needs Debian (dpkg/apt)" >&2
    exit 1
}

m=$(missing | tr '\n' ' ')
if [ -z "$m" ]; then
    echo "install-deps: all $(packages | wc -l) packages are installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=
elif command -v sudo >/dev/null 2>&1; then
    sudo=sudo
else
    echo "install-deps: need root or sudo to install: $m" >&2
    exit 1
fi

echo "install-deps: installing $m"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is wanted
if ! $sudo apt-get install -y --no-install-recommends $m; then
    # stale or empty package lists: refresh once and retry
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends $m
fi

m=$(missing | tr '\n' ' ')
if [ -n "$m" ]; then
    echo "install-deps: still missing: $m" >&2
    exit 1
fi
echo "install-deps: done"

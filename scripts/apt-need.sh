#!/bin/sh
# apt-need.sh: install the Debian packages named that are missing.
# Usage: scripts/apt-need.sh WHO PKG...   (WHO prefixes the messages)
#
# As root it installs what is missing; otherwise it prints the exact
# apt-get line and fails.  Installs are serialized through one lock file,
# so scripts/deps.sh and bench/deps.sh run by one `make -j` (or by two
# makes at once) wait for each other instead of failing on apt's own locks;
# after the wait it looks again, since the other run may have installed
# them.  flock(1) is util-linux's, which every Debian system has.
set -eu
who=$1
shift

missing_now() {
	m=""
	for p in "$@"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case $st in
		*" installed") ;;
		*) m="$m $p" ;;
		esac
	done
	echo "$m"
}

missing=$(missing_now "$@")
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "$who: missing Debian packages:$missing" >&2
	echo "$who: run as root:  apt-get update &&" \
		"apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

lock=/run/lock/awaitkit-apt.lock
[ -d /run/lock ] || lock=/tmp/awaitkit-apt.lock
exec 9>"$lock"
flock 9
missing=$(missing_now "$@")
[ -z "$missing" ] && exit 0
echo "$who: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# An empty or stale package list finds nothing: refresh it first.  Another
# apt (unattended-upgrades, a person) may hold apt's own locks: wait for it.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	$missing >/dev/null
echo "$who: installed$missing"

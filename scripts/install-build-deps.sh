#!/bin/sh
# Install what `ktstr sched build` needs to build the kernel's example
# sched_ext schedulers (tools/sched_ext) as static binaries, on Debian 12
# (bookworm) as root. clang-22/llvm-22 come from bookworm-security; older
# clang versions build the schedulers but scx_qmap then fails the verifier.
#
# Idempotent: when everything is installed already it only runs dpkg-query
# and exits (no apt-get update). Set KTSTR_FORCE_APT_UPDATE=1 to refresh
# the package lists anyway.
set -eu

# libc6-dev: libc.a for the static link (gcc only recommends it);
# python3: libbpf's build runs scripts/bpf_doc.py.
PKGS="clang-22 llvm-22 libelf-dev zlib1g-dev libzstd-dev make gcc libc6-dev pkg-config python3"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-build-deps.sh: run as root (apt-get install needs it)" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "installed" ]; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ] && [ "${KTSTR_FORCE_APT_UPDATE:-0}" != 1 ]; then
	echo "install-build-deps.sh: all installed:$(printf ' %s' $PKGS)"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-build-deps.sh: installing:${missing:- (none; refreshing lists)}"
apt-get update -qq
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	if ! apt-get install -y -qq --no-install-recommends $missing; then
		echo "install-build-deps.sh: apt-get install failed; clang-22 and llvm-22 come from bookworm-security: check that the apt sources list it" >&2
		exit 1
	fi
fi

for tool in clang-22 llvm-strip-22 make cc pkg-config python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "install-build-deps.sh: $tool is still missing after apt-get install; is bookworm-security in the apt sources?" >&2
		exit 1
	fi
done
echo "install-build-deps.sh: ok ($(clang-22 --version | head -n1))"

#!/bin/sh
# Install what ktstr's builds need, on Debian 12 (bookworm) as root:
#
#   install-build-deps.sh [sched]   `ktstr sched build`: the kernel's example
#                                   sched_ext schedulers (tools/sched_ext) as
#                                   static binaries. clang-22/llvm-22 come from
#                                   bookworm-security; older clang versions
#                                   build the schedulers but scx_qmap then
#                                   fails the verifier.
#   install-build-deps.sh kernel    `ktstr kernel build`: a kernel from source.
#   install-build-deps.sh all       both.
#
# Idempotent: when everything is installed already it only runs dpkg-query
# and exits (no apt-get update). Set KTSTR_FORCE_APT_UPDATE=1 to refresh
# the package lists anyway.
set -eu

# libc6-dev: libc.a for the static link (gcc only recommends it);
# python3: libbpf's build runs scripts/bpf_doc.py.
SCHED_PKGS="clang-22 llvm-22 libelf-dev zlib1g-dev libzstd-dev make gcc libc6-dev pkg-config python3"
SCHED_TOOLS="clang-22 llvm-strip-22 make cc pkg-config python3"
# dwarves: pahole, which turns the DWARF into the BTF sched_ext needs;
# libelf-dev: objtool; libssl-dev: the certificate tools; cpio: kernels
# with CONFIG_IKHEADERS; python3: some of the tree's scripts.
KERNEL_PKGS="gcc make binutils flex bison bc perl libelf-dev libssl-dev dwarves cpio python3"
KERNEL_TOOLS="gcc make ld flex bison bc awk perl pahole cpio"

case "${1:-sched}" in
sched) PKGS=$SCHED_PKGS TOOLS=$SCHED_TOOLS ;;
kernel) PKGS=$KERNEL_PKGS TOOLS=$KERNEL_TOOLS ;;
all) PKGS="$SCHED_PKGS $KERNEL_PKGS" TOOLS="$SCHED_TOOLS $KERNEL_TOOLS" ;;
*)
	echo "usage: install-build-deps.sh [sched|kernel|all]" >&2
	exit 2
	;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "install-build-deps.sh: run as root (apt-get install needs it)" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "installed" ]; then
		case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
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

for tool in $TOOLS; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "install-build-deps.sh: $tool is still missing after apt-get install; is bookworm-security in the apt sources?" >&2
		exit 1
	fi
done
case " $TOOLS " in
*" clang-22 "*) echo "install-build-deps.sh: ok ($(clang-22 --version | head -n1))" ;;
*) echo "install-build-deps.sh: ok" ;;
esac

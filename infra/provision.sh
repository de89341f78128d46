#!/usr/bin/env bash
# Installs every package casbench builds, benchmarks and tests with, from the
# distribution's archive: Debian 12 (bookworm) or Ubuntu 24.04 (noble).
#
#   infra/provision.sh          install what is missing (idempotent)
#   infra/provision.sh --check  exit 0 if nothing is missing, 1 otherwise; installs nothing
#   infra/provision.sh --list   print the package list
#
# Exit status: 0 done (or nothing missing), 1 something missing (--check),
# 2 bad usage, 3 unsupported system or the install failed.
# Environment: CASBENCH_OS_RELEASE, the os-release file to read (default
# /etc/os-release; tests point it at a made-up system).
set -euo pipefail

# One list for every machine: build libraries, the timing engine, plotting,
# the real tools the tests use as oracles, what metaflow imports for the PR #3090
# reproduction (python3-requests), and gawk beside Debian's default mawk (the
# infra tests run vm-manage.sh under both).
PACKAGES=(
  make gcc g++ pkg-config git
  zlib1g-dev liblz4-dev libzstd-dev libdeflate-dev libisal-dev libxxhash-dev
  libssl-dev librust-blake3-dev
  libbenchmark-dev libbenchmark-tools python3-scipy
  gnuplot-nox
  python3 python3-numpy python3-lz4 python3-xxhash python3-zstandard python3-requests
  lz4 zstd gzip xxhash b3sum coreutils openssl
  shellcheck cloud-init python3-yaml openssh-client curl gawk
  clang libclang-rt-dev valgrind time strace
)

die() { echo "provision.sh: $*" >&2; exit 3; }

check_system() {
  local os_release=${CASBENCH_OS_RELEASE:-/etc/os-release}
  [ -r "$os_release" ] || die "cannot read $os_release; supported: Debian 12, Ubuntu 24.04"
  # shellcheck disable=SC1090
  . "$os_release"
  case "${ID:-}:${VERSION_ID:-}" in
    debian:12|ubuntu:24.04) ;;
    *) die "unsupported system '${PRETTY_NAME:-unknown}'; supported: Debian 12, Ubuntu 24.04" ;;
  esac
}

missing_packages() {
  local p status
  for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in ii*) ;; *) echo "$p" ;; esac
  done
}

case "${1:-}" in
  --list) printf '%s\n' "${PACKAGES[@]}"; exit 0 ;;
  --check)
    check_system
    missing=$(missing_packages)
    if [ -n "$missing" ]; then echo "provision.sh: missing: $(echo "$missing" | tr '\n' ' ')" >&2; exit 1; fi
    exit 0 ;;
  "") ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "provision.sh: unknown argument '$1' (use --check, --list or no argument)" >&2; exit 2 ;;
esac

check_system
missing=$(missing_packages)
if [ -z "$missing" ]; then
  echo "provision.sh: all ${#PACKAGES[@]} packages already installed; nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then SUDO=()
elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo)
else die "not root and no sudo: cannot install $(echo "$missing" | tr '\n' ' ')"
fi

# shellcheck disable=SC2086
echo "provision.sh: installing:" $missing
export DEBIAN_FRONTEND=noninteractive
# A fresh cloud VM may still be running its own apt jobs: wait for the lock
# (up to 10 minutes) instead of failing at once.
APT=(apt-get -o DPkg::Lock::Timeout=600 -qq)
"${SUDO[@]}" "${APT[@]}" update || die "apt-get update failed"
# shellcheck disable=SC2086
"${SUDO[@]}" "${APT[@]}" install -y --no-install-recommends $missing \
  || die "apt-get install failed for: $(echo "$missing" | tr '\n' ' ')"
still=$(missing_packages)
[ -z "$still" ] || die "still missing after install: $(echo "$still" | tr '\n' ' ')"
echo "provision.sh: done"

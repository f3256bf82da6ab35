#!/usr/bin/env bash
# Ensures the tools the tests need beyond Go: wat2wasm (wabt) for the WAT fixtures, clang and wasm-ld
# (lld) for the C guests. Installs them with apt-get when run as root on Debian or Ubuntu; otherwise
# says what to install.
set -euo pipefail
need=()
command -v wat2wasm >/dev/null 2>&1 || need+=(wabt)
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v wasm-ld >/dev/null 2>&1 || need+=(lld)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tools: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	exit 0
fi
echo "tools: missing ${need[*]}; install them (Debian/Ubuntu: sudo apt-get install ${need[*]})" >&2
exit 1

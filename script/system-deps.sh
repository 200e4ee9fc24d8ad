#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use as peers or fixtures (ripgrep, git,
# unzip, valgrind, strace) and the bash sandbox of the toolbox (bubblewrap), only when one is
# missing. Needs root or sudo; says so clearly otherwise.
set -euo pipefail
missing=()
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
# The toolbox's sandbox=True runs bash under bwrap (ironcode/sandbox.py).
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# strace: the confinement tests trace every system call of a confined operation.
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v cargo >/dev/null 2>&1 || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "missing ${missing[*]}: install them with your package manager (not root, no sudo)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null

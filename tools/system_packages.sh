#!/usr/bin/env bash
# Install the Debian packages the tests use besides SLURM (which
# local_cluster/up.sh installs): Graphviz for make dag, git for template sync.
# Only what is missing; nothing at all when every command is there.
#
# Usage: tools/system_packages.sh   (run by make test)
# Exit codes: 0 present or installed; 1 missing and not root (the message says what).
set -euo pipefail

missing=()
command -v dot >/dev/null || missing+=(graphviz)
command -v git >/dev/null || missing+=(git)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" -ne 0 ]]; then
    echo "tools/system_packages.sh: missing ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing Debian's ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null

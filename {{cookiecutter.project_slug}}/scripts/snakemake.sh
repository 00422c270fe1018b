#!/usr/bin/env bash
# Run Snakemake in the foreground with this project's Snakefile, directory and
# a profile, all by absolute path. For short commands only (dry runs, lint,
# local runs, unlock): cluster runs go through submit_snakemake.sh.
#
# Usage: scripts/snakemake.sh local|slurm [SNAKEMAKE_ARGS...]
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
    local) profile="$LOCAL_PROFILE" ;;
    slurm) profile="$SLURM_PROFILE" ;;
    *) die "$EXIT_USAGE" "usage: scripts/snakemake.sh local|slurm [SNAKEMAKE_ARGS...]" ;;
esac
shift

snakemake_bin="$(find_snakemake)"
# Snakemake inherits the lock's descriptor and holds it until it exits; its rules
# inherit the marker (scripts/status.py looks for both).
hold_foreground_lock
export SNAKEMAKE_TEMPLATE_FOREGROUND_RUN="$PROJECT_DIR"
exec "$snakemake_bin" --snakefile "$SNAKEFILE" --directory "$PROJECT_DIR" --workflow-profile "$profile" "$@"

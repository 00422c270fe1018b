#!/usr/bin/env bash
# Bake a project with the default answers into build/demo/ and run its example
# workflow the way a user would: `make submit`, then `make status` until it is
# done. Without a SLURM cluster it runs `make local` instead and says so.
#
# Usage: tools/demo.sh   (run by `make demo`, which sets up .venv first)
# Exit codes: 0 the example ran and its result is shown; 1 it did not.
set -euo pipefail

template_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
out_dir="$template_dir/build/demo"
project="$out_dir/repeat_family_analysis"
deadline_s=600

# The demo project is rebuilt every time; nothing else lives in build/demo.
# It is deleted only when no run of it can still be writing there.
if [[ -x "$project/scripts/status.py" ]]; then
    state="$(python3 "$project/scripts/status.py" --field state)" || true
    case "$state" in
        none | completed | failed | cancelled | timeout) ;;
        pending | running | stale)
            echo "demo: the previous demo's run is $state, so it may still write in $project; stop it" \
                "('make -s -C $project cancel'), then run make demo again" >&2
            exit 1
            ;;
        *)
            echo "demo: whether the previous demo's run is still active is not known ('make -s -C $project" \
                "status' says why); $project was left as it is" >&2
            exit 1
            ;;
    esac
fi
rm -rf "$out_dir"
mkdir -p "$out_dir"
cookiecutter --no-input --output-dir "$out_dir" "$template_dir"
cd "$project"

if timeout 5 sinfo --noheader >/dev/null 2>&1; then
    job_id="$(make -s submit)"
    echo "demo: coordinator job $job_id submitted; polling 'make status' every 3 s"
    start=$SECONDS
    last=""
    while true; do
        # status.py exits 3 while the run is active: its answer is in the output.
        report="$(python3 scripts/status.py --lines 0)" || true
        state="$(sed -n 's/^coordinator: job [0-9]* \([a-z]*\).*/\1/p' <<<"$report")"
        progress="$(sed -n 's/^progress: *//p' <<<"$report")"
        line="${state:-unknown}${progress:+, $progress}"
        if [[ "$line" != "$last" ]]; then
            echo "demo: $line"
            last="$line"
        fi
        case "$state" in
            completed) break ;;
            failed | cancelled | timeout | stale)
                make -s status
                exit 1
                ;;
        esac
        if ((SECONDS - start > deadline_s)); then
            echo "demo: not done after ${deadline_s} s" >&2
            make -s status
            exit 1
        fi
        sleep 3
    done
    make -s status
else
    echo "demo: no SLURM cluster answers here (start one with 'sudo make slurm-up'); running the example locally instead"
    make local
fi

echo
echo "demo: results/example.sorted.bed in $project:"
cat results/example.sorted.bed

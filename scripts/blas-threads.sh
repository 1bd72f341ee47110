#!/usr/bin/env bash
# BLAS threads against data-parallel workers on this machine: times `alpha-spin spin` (one short
# iteration: generation, training, evaluation) under Node for each setting, the settings
# interleaved so a change of machine load hits them alike; prints each run and the median per
# setting. Usage: scripts/blas-threads.sh [reps] [extra spin flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
shift || true
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(--iterations 1 --pairs 32 --eval-size 16)
settings=(
  "--backend wasm --workers 1"
  "--backend wasm --workers 2"
  "--backend blas --threads 1 --workers 1"
  "--backend blas --threads 2 --workers 1"
  "--backend blas --threads 1 --workers 2"
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A times
for r in $(seq 1 "$reps"); do
  for i in "${!settings[@]}"; do
    s=${settings[$i]}
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    npx tsx cli/bin.ts spin --out "$tmp/run-$r-$i" $s "${extra[@]}" --quiet >/dev/null 2>&1
    t=$(echo "$(date +%s.%N) - $start" | bc)
    times[$i]="${times[$i]:-} $t"
    printf 'rep %s  %-40s %6.1f s  (load %s)\n' "$r" "$s" "$t" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
echo "median wall seconds over $reps reps (${extra[*]}):"
for i in "${!settings[@]}"; do
  m=$(echo "${times[$i]}" | tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '  %-40s %6.1f s\n' "${settings[$i]}" "$m"
done

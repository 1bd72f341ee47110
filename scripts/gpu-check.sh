#!/usr/bin/env bash
# The GPU check, for a machine with a GPU (Vulkan, Metal or D3D12 driver): lists the WebGPU adapters
# Deno and Node see, then runs the benchmark on the webgpu backend in both runtimes (configs tiny,
# small, medium, s135m), writing everything to one folder:
#
#   system.txt            GPU and driver as the system reports them (nvidia-smi, vulkaninfo)
#   adapters-deno.json    Deno's built-in WebGPU (scripts/gpu-adapters.ts)
#   adapters-node.json    Node's WebGPU from the webgpu package (Dawn)
#   bench-deno.json/.log  deno task bench --backends webgpu --configs ... --json
#   bench-node.json/.log  the same bench under Node (tsx bench/run.ts)
#
# Usage: scripts/gpu-check.sh [out-folder] [extra bench flags...]
# Every step runs even when an earlier one fails; the exit status is 1 when any failed. A bench is
# skipped, and says so, in a runtime that sees no hardware adapter (a software adapter such as
# llvmpipe/lavapipe is no GPU check, and takes many minutes).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
shift || true
configs=tiny,small,medium,s135m
mkdir -p "$out"
failed=()

step() { # step NAME COMMAND...: run, tee the output to the log, remember a failure
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    failed+=("$name")
    echo "!! $name failed"
  fi
}

system_info() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -a)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    command -v vulkaninfo >/dev/null && vulkaninfo --summary 2>/dev/null | sed -n '/Devices:/,$p'
    echo "node $(node --version); $(npx deno --version | head -1)"
  } >"$out/system.txt" 2>&1
  cat "$out/system.txt"
}

adapters() { # adapters RUNTIME COMMAND...
  local runtime=$1
  shift
  "$@" scripts/gpu-adapters.ts >"$out/adapters-$runtime.json" 2>"$out/adapters-$runtime.err"
  local rc=$?
  cat "$out/adapters-$runtime.json"
  return $rc
}

# A hardware adapter in the runtime's probe (node -e / deno eval would need the same loader: read the JSON).
has_hardware() {
  local file="$out/adapters-$1.json"
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    process.exit(r.probe && r.probe.description && !r.probe.isFallbackAdapter ? 0 : 1)' "$file" 2>/dev/null
}

bench() { # bench RUNTIME COMMAND...
  local runtime=$1
  shift
  if ! has_hardware "$runtime"; then
    echo "no hardware WebGPU adapter under $runtime (see adapters-$runtime.json): bench skipped" | tee "$out/bench-$runtime.log"
    return 1
  fi
  "$@" --backends webgpu --configs "$configs" --json "$out/bench-$runtime.json" "${extra[@]}" 2>&1 | tee "$out/bench-$runtime.log"
  return "${PIPESTATUS[0]}"
}

extra=("$@")
step "system" system_info
step "adapters (deno)" adapters deno npx deno run -A
step "adapters (node)" adapters node npx tsx
step "bench webgpu (deno)" bench deno npx deno task bench
step "bench webgpu (node)" bench node npx tsx bench/run.ts

echo
echo "results in $out/"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "all steps passed"

#!/usr/bin/env bash
# Build, on a machine with network, the wheels a GPU host without network installs the modelscan
# CLI from: the project's own wheel and every dependency of the CLI and its `smoke` extra, except
# torch (the GPU host brings its own CUDA build) and what only torch needs (triton, nvidia-*,
# sympy, networkx, ...).
#
#   scripts/build_wheelhouse.sh wheelhouse/                  # for this machine's Python and platform
#   PYTHON=python3.10 scripts/build_wheelhouse.sh wheelhouse/
#
# Build it with the Python minor version and platform (e.g. Linux x86_64, glibc) of the GPU host:
# the binary wheels (tokenizers, safetensors, numpy, pyyaml, ...) are specific to them.
# It writes DIR/*.whl and DIR/requirements.txt (exact pins, one wheel each), which
# benchmarks/gpu_smoke.py installs with
#   pip install --no-index --find-links DIR --no-deps -r DIR/requirements.txt
# Exit 0 built; non-zero: pip failed (the message is pip's).
set -euo pipefail

if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: scripts/build_wheelhouse.sh DIR" >&2
  exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
PIP=("$PY" -m pip --disable-pip-version-check)

# What the CLI and the smoke test need besides torch (the smoke extra without torch, plus
# accelerate, which from_pretrained needs for device_map placement).
EXTRA=("transformers>=4.40" "safetensors>=0.4" "accelerate>=0.26")

echo "build_wheelhouse: the project's wheel" >&2
rm -f "$OUT"/modelscan_compliance-*.whl
"${PIP[@]}" wheel --quiet --no-deps -w "$OUT" "$ROOT"
PROJECT=$(ls "$OUT"/modelscan_compliance-*.whl)

echo "build_wheelhouse: resolving its dependencies (metadata only, nothing installed)" >&2
REPORT=$(mktemp)
trap 'rm -f "$REPORT"' EXIT
"${PIP[@]}" install --quiet --dry-run --ignore-installed --only-binary=:all: --report "$REPORT" \
  "$PROJECT" "${EXTRA[@]}"

# Keep what is reachable from the project and the extras without going through torch.
"$PY" - "$REPORT" "$OUT/requirements.txt" "$(basename "$PROJECT")" "${EXTRA[@]}" <<'PYEOF'
import json, re, sys

report, out, project, *extras = sys.argv[1:]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
items = {norm(i["metadata"]["name"]): i for i in json.load(open(report))["install"]}
deps = {}
for name, item in items.items():
    reqs = []
    for req in item["metadata"].get("requires_dist") or ():
        if ";" in req and "extra ==" in req.split(";", 1)[1]:
            continue                      # an optional extra of that package
        reqs.append(norm(re.match(r"\s*([A-Za-z0-9._-]+)", req).group(1)))
    deps[name] = [r for r in reqs if r in items]  # markers that did not apply left nothing in items
EXCLUDED = re.compile(r"^(torch|triton|nvidia-.*|pytorch-triton.*)$")
roots = ["modelscan-compliance"] + [norm(re.match(r"[A-Za-z0-9._-]+", e).group(0)) for e in extras]
keep, todo = set(), list(roots)
while todo:
    name = todo.pop()
    if name in keep or EXCLUDED.match(name) or name not in items:
        continue
    keep.add(name)
    todo.extend(deps.get(name, ()))
with open(out, "w") as fh:
    fh.write("# written by scripts/build_wheelhouse.sh: install with --no-index --find-links . --no-deps\n")
    for name in sorted(keep):
        meta = items[name]["metadata"]
        fh.write(f"{meta['name']}=={meta['version']}\n")
left = sorted(n for n in items if n not in keep)
print(f"build_wheelhouse: {len(keep)} packages; left to the host: {', '.join(left) or 'none'}", file=sys.stderr)
PYEOF

echo "build_wheelhouse: downloading the wheels" >&2
grep -v '^#' "$OUT/requirements.txt" | grep -vi '^modelscan-compliance==' > "$REPORT.deps"
"${PIP[@]}" download --quiet --no-deps --only-binary=:all: -d "$OUT" -r "$REPORT.deps"
rm -f "$REPORT.deps"
echo "build_wheelhouse: $(ls "$OUT"/*.whl | wc -l) wheels in $OUT" >&2

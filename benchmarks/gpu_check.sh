#!/usr/bin/env bash
# The GPU check (docs/gpu.md): install the carried wheels, then run benchmarks/gpu_check.py with the
# arguments given. On the device machine: `bash benchmarks/gpu_check.sh --steps env,tests,model,fuse`.
# Here (no GPU): PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh --out /tmp/gpu-check
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1 && ! "$python" -c "import rasterio" 2>/dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "installing the carried wheels failed" >&2; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
exec "$python" benchmarks/gpu_check.py "$@"

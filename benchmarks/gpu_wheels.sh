#!/usr/bin/env bash
# Fetch, on a machine with internet (this one), what the GPU machine lacks for benchmarks/gpu_check.sh,
# into .whl/ (git-ignored; pass it in the device tool's `carry`): the engine's dependencies that the
# GPU image does not hold (rasterio and its small pure-Python dependencies, as CPython 3.12 manylinux
# wheels: the image's python3 is 3.12) and the mamba-ssm source distribution (it ships no wheels).
# Versions: those of this checkout's .venv where it has them. ~36 MB in all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
pip=${PIP:-.venv/bin/pip}
version() { "$pip" show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
wheels=()
for name in rasterio affine cligj click-plugins; do
  v=$(version "$name"); wheels+=("$name${v:+==$v}")
done
"$pip" download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "${wheels[@]}"
MAMBA_VERSION=${MAMBA_VERSION:-2.3.2.post1}
if ! ls .whl/mamba_ssm-"$MAMBA_VERSION".tar.gz >/dev/null 2>&1; then
  # pip cannot download it: preparing its metadata runs setup.py, which needs CUDA. PyPI's simple JSON API can.
  .venv/bin/python - "$MAMBA_VERSION" <<'PY'
import json, sys, urllib.request
name = f"mamba_ssm-{sys.argv[1]}.tar.gz"
request = urllib.request.Request("https://pypi.org/simple/mamba-ssm/",
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
with urllib.request.urlopen(request, timeout=60) as r:
    files = json.load(r)["files"]
sdist = next(f for f in files if f["filename"] == name)
urllib.request.urlretrieve(sdist["url"], f".whl/{name}")
print("fetched", name, sdist["size"], "bytes")
PY
fi
ls -l .whl

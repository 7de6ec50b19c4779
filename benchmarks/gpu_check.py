"""The prepared GPU check (issue 13): everything the CUDA path needs measured, in one or two runs.

Written for a lent GPU machine (an H100/H200 with CUDA PyTorch, ~15 minutes of GPU time in all,
10 per command, no internet, no rasterio, no mamba-ssm), runnable on any machine: where a step
needs what is not there (a GPU, nvcc, the mamba-ssm source) it says so and does its CPU fallback
or skips. Steps (``--steps``, in this order):

``env``
    Python, PyTorch, CUDA, GPU name and memory, nvcc, CPU count -> ``env.json``.
``mamba``
    Builds mamba-ssm's ``selective_scan_cuda`` extension for the GPU's own architecture only
    (sm_90 on an H100/H200: ``torch.utils.cpp_extension.load`` on the sources of the sdist in
    ``.whl/mamba_ssm-*.tar.gz``, ninja, ``MAX_JOBS`` = CPU count), timed, within
    ``--mamba-budget`` seconds (default 300; the build is killed past it and our own scan is
    used). On success the extension and mamba-ssm's Python package go on ``PYTHONPATH`` for the
    steps after it, and the engine's ``selective_scan_fn`` picks mamba-ssm on CUDA.
``tests``
    ``pytest -m cuda`` over ``tests/`` (the CUDA scan against the CPU reference; the demo fused on
    the GPU as on the CPU, every method; bf16 on the GPU) -> ``tests.txt``.
``model``
    ``benchmarks/bench_pifnet_throughput.py`` on the device: windows/s and Mpx/s of fused output
    at batch 1 and larger batches, fp32 and bf16 with the bf16 PSNR change (bundled ``cave_x4``
    weights) -> ``model.json``.
``fuse``
    ``benchmarks/bench_engine.py``: a generated ``--fuse-size``² scene (default 4096, 120 bands,
    ratio 4) fused end to end by ``pifnet-engine`` with ``--method pifnet --device cuda`` (random
    initialised weights of that shape, written by our own ``save_weights``: the speed of a trained
    network is the same) and GSA -> ``fuse.md``.

Every step's output and a ``summary.json`` (step -> status, seconds, the numbers) go to
``--out`` (``$OUT`` on the device machine). Usage, on the device (see docs/gpu.md)::

    bash benchmarks/gpu_check.sh --steps env,tests,model,fuse      # part 1, ~5 min
    bash benchmarks/gpu_check.sh --steps env,mamba,tests,model     # part 2, ~6 min

Only the standard library is imported here; each step runs in a child process.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("env", "mamba", "tests", "model", "fuse")
MAMBA_SOURCES = ["csrc/selective_scan/selective_scan.cpp"] + [
    f"csrc/selective_scan/selective_scan_{kind}.cu" for kind in (
        "fwd_fp32", "fwd_fp16", "fwd_bf16", "bwd_fp32_real", "bwd_fp32_complex", "bwd_fp16_real",
        "bwd_fp16_complex", "bwd_bf16_real", "bwd_bf16_complex")]


def run(argv: list[str], out: Path, log: str, timeout: float, env: dict[str, str]) -> tuple[int, float, str]:
    """Run ``argv`` with output to ``out/log``; (exit code or 124 on timeout, seconds, tail)."""
    t0 = time.monotonic()
    with open(out / log, "w") as f:
        try:
            code = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, env=env,
                                  cwd=REPO).returncode
        except subprocess.TimeoutExpired:
            code = 124
    text = (out / log).read_text(errors="replace")
    return code, time.monotonic() - t0, text[-1500:]


def python_probe(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    return (done.stdout or done.stderr).strip()


def step_env(out: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    probe = ("import json, torch; c = torch.cuda.is_available(); "
             "print(json.dumps({'torch': torch.__version__, 'cuda_runtime': torch.version.cuda, 'cuda': c, "
             "'gpu': torch.cuda.get_device_name(0) if c else None, "
             "'capability': list(torch.cuda.get_device_capability(0)) if c else None, "
             "'gpu_memory_gib': round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if c else None}))")
    info: dict[str, object] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                               "nvcc": shutil.which("nvcc")}
    try:
        info.update(json.loads(python_probe(probe, env)))
    except json.JSONDecodeError as exc:
        info["torch_error"] = str(exc)
    for mod in ("rasterio", "numba", "safetensors", "scipy", "matplotlib", "mamba_ssm"):
        info[f"import_{mod}"] = python_probe(f"import {mod}; print(getattr({mod}, '__version__', 'ok'))", env)[-200:]
    (out / "env.json").write_text(json.dumps(info, indent=1))
    return {"status": "ok", **info}


def step_mamba(out: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    sdists = sorted(glob.glob(str(REPO / ".whl" / "mamba_ssm-*.tar.gz")))
    if not sdists:
        return {"status": "skipped", "why": "no .whl/mamba_ssm-*.tar.gz (run benchmarks/gpu_wheels.sh here first)"}
    if shutil.which("nvcc") is None or python_probe("import torch; print(torch.cuda.is_available())", env) != "True":
        return {"status": "skipped", "why": "no CUDA GPU or no nvcc here: the engine uses its own scan"}
    build = Path(tempfile.mkdtemp(prefix="mamba-build-"))
    with tarfile.open(sdists[-1]) as tar:
        tar.extractall(build, filter="data")
    src = next(build.iterdir())
    # Only mamba-ssm's ops are used; its package __init__ also imports its language models (and with them
    # transformers and huggingface_hub), which need not import here. The extracted copy gets a bare one.
    (src / "mamba_ssm" / "__init__.py").write_text(f"__version__ = {src.name.split('-', 1)[1]!r}\n")
    ext_dir = build / "ext"
    ext_dir.mkdir()
    code = f"""
import os, torch
from torch.utils.cpp_extension import load
major, minor = torch.cuda.get_device_capability(0)
arch = f"{{major}}{{minor}}"
src = {str(src)!r}
load(name="selective_scan_cuda", sources=[os.path.join(src, s) for s in {MAMBA_SOURCES!r}],
     extra_include_paths=[os.path.join(src, "csrc", "selective_scan")],
     extra_cflags=["-O3", "-std=c++17"],
     extra_cuda_cflags=["-O3", "-std=c++17", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
                        "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
                        "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
                        "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math",
                        "-gencode", f"arch=compute_{{arch}},code=sm_{{arch}}"],
     build_directory={str(ext_dir)!r}, verbose=True)
print("built for sm_" + arch)
"""
    build_env = dict(env, MAX_JOBS=str(os.cpu_count() or 4), TORCH_CUDA_ARCH_LIST="")
    code_rc, seconds, tail = run([sys.executable, "-c", code], out, "mamba_build.txt", args.mamba_budget, build_env)
    result: dict[str, object] = {"seconds": round(seconds, 1), "budget_s": args.mamba_budget}
    if code_rc != 0:
        return {**result, "status": "failed" if code_rc != 124 else "over budget",
                "why": tail[-400:], "fallback": "the engine's own scan"}
    env["PYTHONPATH"] = os.pathsep.join([str(ext_dir), str(src), env.get("PYTHONPATH", "")])
    check = python_probe("import torch, mamba_ssm.ops.selective_scan_interface; "
                         "from pifnet_engine.model.ops import resolve_impl; "
                         "print(resolve_impl(torch.zeros(1, 16, 8, device='cuda')))", env)
    return {**result, "status": "ok", "engine_scan_on_cuda": check}


def step_tests(out: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    code, seconds, tail = run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider",
                               "-rs", "tests/model", "tests/engine"], out, "tests.txt", 420, env)
    last = [ln for ln in tail.splitlines() if ln.strip()][-1:] or [""]
    return {"status": "ok" if code == 0 else f"exit {code}", "seconds": round(seconds, 1), "result": last[0]}


def step_model(out: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    cuda = python_probe("import torch; print(torch.cuda.is_available())", env) == "True"
    batches = ["1", "4", "16", "64"] if cuda else ["1", "2"]
    argv = [sys.executable, "benchmarks/bench_pifnet_throughput.py", "--device", "cuda" if cuda else "cpu",
            "--batches", *batches, "--json", str(out / "model.json"), "--repeats", "5" if cuda else "2"]
    code, seconds, tail = run(argv, out, "model.txt", 300, env)
    rows = json.loads((out / "model.json").read_text()) if code == 0 else []
    best = {p: max((r for r in rows if r["precision"] == p), key=lambda r: r["windows_per_s"], default=None)
            for p in ("fp32", "bf16")}
    return {"status": "ok" if code == 0 else f"exit {code}", "seconds": round(seconds, 1),
            "device": "cuda" if cuda else "cpu (no GPU)",
            "batch_1": [r for r in rows if r["batch"] == 1], "best": best, "tail": tail[-300:] if code else ""}


def step_fuse(out: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    cuda = python_probe("import torch; print(torch.cuda.is_available())", env) == "True"
    size = args.fuse_size if cuda else min(args.fuse_size, 512)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="pifnet-gpu-fuse-"))
    weights = work / "random_120x4_x4"
    made = python_probe(
        "import torch; from pifnet_engine.model import PIFNet, PIFNetConfig; "
        "from pifnet_engine.model.weights import save_weights; torch.manual_seed(0); "
        f"save_weights({str(weights)!r}, PIFNet(PIFNetConfig(hsi_bands={args.fuse_bands}, msi_bands=4, ratio=4))); "
        "print('ok')", env)
    if made != "ok":
        return {"status": "failed", "why": f"could not write the benchmark weights: {made[-300:]}"}
    launcher = work / "pifnet-engine"  # no console script where the package is only on PYTHONPATH
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -m pifnet_engine \"$@\"\n")
    launcher.chmod(0o755)
    results = {}
    for method, extra in (("pifnet", ["--weights", f"{weights}.safetensors", "--device", "cuda" if cuda else "cpu"]),
                          ("gsa", [])):
        argv = [sys.executable, "benchmarks/bench_engine.py", "--sizes", str(size), "--bands", str(args.fuse_bands),
                "--ratio", "4", "--methods", method, "--workdir", str(work / method), "--engine", str(launcher),
                "--engine-args", *extra]
        code, seconds, tail = run(argv, out, f"fuse_{method}.md", 540, env)
        results[method] = {"exit": code, "seconds": round(seconds, 1), "table": tail[-900:]}
    shutil.rmtree(work, ignore_errors=True)
    return {"status": "ok" if all(r["exit"] == 0 for r in results.values()) else "failed", "size": size,
            "device": "cuda" if cuda else "cpu (no GPU)", **results}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of {','.join(STEPS)}")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-check-out")))
    ap.add_argument("--mamba-budget", type=float, default=300.0, help="seconds for the mamba-ssm build [300]")
    ap.add_argument("--fuse-size", type=int, default=4096, help="MSI side of the end-to-end scene [4096]")
    ap.add_argument("--fuse-bands", type=int, default=120, help="HSI bands of that scene [120]")
    ap.add_argument("--workdir", default=None, help="scratch folder for the fuse step [a temporary one]")
    args = ap.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        ap.error(f"unknown steps {unknown}; choose from {list(STEPS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    summary: dict[str, object] = {}
    for name in STEPS:
        if name not in steps:
            continue
        t0 = time.monotonic()
        try:
            summary[name] = globals()[f"step_{name}"](args.out, env, args)
        except Exception as exc:  # one broken step must not lose the others' numbers
            summary[name] = {"status": "error", "why": f"{type(exc).__name__}: {exc}"}
        print(f"[{name}] {time.monotonic() - t0:.0f} s: {json.dumps(summary[name])[:600]}", flush=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

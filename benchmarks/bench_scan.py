"""Selective-scan timings: reference vs fast implementation, forward and backward.

Shapes follow the SS2D layer: batch 1, ``--dim`` channels in 4 scan-direction groups (B, C are
(b, 4, n, l)), delta_softplus, D and delta_bias, state size n. Rows: every length in
``--lengths`` at n = 16, plus n = 4 and n = 1 at L = 4096 (what the state size costs; ``--sizes``).

Columns (milliseconds, wall-clock unless ``--clock thread``, best of the repeats):
``fwd`` = inference forward under ``torch.no_grad``; ``trfwd`` = forward with autograd;
``bwd`` = ``backward()`` alone; then the speed-ups ref / fast for inference and for training
(trfwd + bwd). On a machine shared with other
jobs, wall times of the 2-thread fast path jump by 2-10x between repeats; take the best of many
(``--reps``) and compare with ``--threads 1``; ``--threads 1 --clock thread`` measures the CPU
time of the calling thread instead of wall time (all the work runs there with one thread),
which time-slicing by other processes does not inflate: the cleanest figure on a shared machine.
The fast implementation is the numba CPU path on CPU, mamba-ssm's kernel on CUDA (with
``--device cuda``; needs mamba-ssm). The reference is sequential, so it gets at most
``--ref-reps`` repeats.

Run: ``python benchmarks/bench_scan.py`` (CPU, a few minutes on 2 cores), ``--device cuda``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from pifnet_engine.model.ops import resolve_impl, selective_scan_fn

GROUPS = 4


def make_inputs(length: int, dim: int, n: int, device: torch.device, seed: int = 0) -> list[torch.Tensor]:
    """[u, delta, A, B, C, D, delta_bias] as a trained SS2D layer would see them (float32)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(1, dim, length, generator=g)
    delta = torch.randn(1, dim, length, generator=g) * 0.5 - 2.0
    A = -torch.arange(1, n + 1, dtype=torch.float32).repeat(dim, 1)  # S4D-real initialisation
    B = torch.randn(1, GROUPS, n, length, generator=g)
    C = torch.randn(1, GROUPS, n, length, generator=g)
    D = torch.ones(dim)
    delta_bias = torch.rand(dim, generator=g) * 0.5
    return [t.to(device) for t in (u, delta, A, B, C, D, delta_bias)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_impl(
    impl: str, inputs: list[torch.Tensor], reps: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Best-of-``reps`` [inference fwd, training fwd, bwd] in ms; ``clock`` returns seconds."""
    device = inputs[0].device
    u, delta, A, B, C, D, delta_bias = inputs

    def call(*args: torch.Tensor) -> torch.Tensor:
        return selective_scan_fn(*args[:6], None, delta_bias, True, impl=impl)

    best = [float("inf")] * 3
    for _ in range(reps):
        with torch.no_grad():
            _sync(device)
            t0 = clock()
            call(u, delta, A, B, C, D)
            _sync(device)
            t_inf = clock() - t0
        leaves = [t.detach().requires_grad_() for t in (u, delta, A, B, C, D)]
        _sync(device)
        t0 = clock()
        out = call(*leaves)
        _sync(device)
        t1 = clock()
        out.backward(torch.ones_like(out))
        _sync(device)
        t2 = clock()
        best = [min(b, x * 1e3) for b, x in zip(best, (t_inf, t1 - t0, t2 - t1), strict=True)]
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--reps", type=int, default=5, help="repeats of the fast implementation")
    parser.add_argument("--ref-reps", type=int, default=2, help="repeats of the reference (cap)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall",
                        help="wall time, or the calling thread's CPU time (CPU, --threads 1 only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 4, 1],
                        help="state sizes N; the first at every --lengths, the others at L = 4096")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == "thread" and (args.device != "cpu" or torch.get_num_threads() != 1):
        parser.error(f"--clock thread needs --device cpu and --threads 1 (got --device {args.device}, "
                     f"{torch.get_num_threads()} threads): other threads' CPU time would not be counted")
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    device = torch.device(args.device)
    probe = torch.zeros(1, 1, 1, device=device)
    fast = resolve_impl(probe, "auto")
    print(f"device={device} fast impl={fast!r} threads={torch.get_num_threads()} dim={args.dim} "
          f"groups={GROUPS} batch=1 float32; {args.clock} times in ms, best of {args.reps} "
          f"(ref: best of {args.ref_reps})")
    rows = [(length, args.sizes[0]) for length in args.lengths] + [(4096, n) for n in args.sizes[1:]]
    header = (f"{'L':>6} {'N':>3} | {'ref fwd':>8} {'ref trfwd':>9} {'ref bwd':>8} | {'fast fwd':>8} "
              f"{'fast trfwd':>10} {'fast bwd':>8} | {'x fwd':>6} {'x fwd+bwd':>9}")
    print(header)
    print("-" * len(header))
    for length, n in rows:
        inputs = make_inputs(length, args.dim, n, device)
        time_impl(fast, make_inputs(64, args.dim, n, device), 1)  # warm-up / JIT compile
        f = time_impl(fast, inputs, args.reps, clock)
        r = time_impl("ref", inputs, max(1, args.ref_reps if length <= 4096 else 1), clock)
        print(f"{length:>6} {n:>3} | {r[0]:8.1f} {r[1]:9.1f} {r[2]:8.1f} | {f[0]:8.2f} {f[1]:10.2f} "
              f"{f[2]:8.2f} | {r[0] / f[0]:6.1f} {(r[1] + r[2]) / (f[1] + f[2]):9.1f}", flush=True)


if __name__ == "__main__":
    main()

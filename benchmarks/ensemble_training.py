"""Seed-ensemble training throughput: vectorized vs the per-seed loop, on the same data and seeds.

Prints one JSON line per preset: seeds/s at S = 1, 8, 32, 64, 128 for the vectorized path (one
chunk of S), the trainer's automatic chunking, and the sequential reference loop; their ratios; the
max deviation between vectorized and sequential final parameters (float32); achieved GFLOP/s next
to a large-matmul roofline measured in the same run, and the ratio that vectorizing could reach at
most if its matmuls ran at that roofline and nothing else (optimizer, initialisation, evaluation,
Python) took any time (``ratio_ceiling_at_roofline``).

    .venv/bin/python benchmarks/ensemble_training.py [--device cpu|cuda] [--quick] [--tasks digits,lms]
        [--seeds 64] [--steps N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from experiments.mltasks import get_task  # noqa: E402
from experiments.trainer import Member, default_chunk_size, resolve_device, train_ensemble  # noqa: E402

PRESETS = [("digits", "mlp"), ("lms", "mlp"), ("gotu", "mlp"), ("modadd", "transformer"), ("digits", "cnn"),
           ("sparse_parity", "mlp"), ("two_pathway", "linear")]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def roofline(device: torch.device, size: int) -> float:
    """GFLOP/s of a large float32 matmul (best of 5)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b
    best = float("inf")
    for _ in range(5):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def timed(fn, device: torch.device) -> tuple[float, object]:
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def bench_preset(task_name: str, arch: str, device: torch.device, seeds_list: list[int], steps: int,
                 seq_cap: int) -> dict:
    task = get_task(task_name)
    params = task.defaults("default")
    params["steps"] = steps
    data = task.make_data(params, arch)
    make = task.make_model(arch, params, data)
    spec = task.train_spec(params)
    spec = type(spec)(**{**spec.__dict__, "eval_points": 1})
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        make()(data.x_train[:1])
    batch = min(params["batch_size"], data.x_train.shape[0])
    flops_member_step = 3 * counter.get_total_flops() * batch

    def run(members, **kw):
        return train_ensemble(make, data.x_train, data.y_train, spec, members,
                              eval_set=(data.x_id[:64], data.y_id[:64]), device=device, **kw)

    run([Member(seed=0)], chunk_size=1)  # warm-up (allocations, kernels)
    rows = []
    for S in seeds_list:
        members = [Member(seed=s, init_scale=params["init_scale"]) for s in range(S)]
        n_seq = min(S, seq_cap)
        t_vec, vec = timed(lambda m=members, s=S: run(m, chunk_size=s), device)
        t_auto, _ = timed(lambda m=members: run(m), device)
        t_seq, seq = timed(lambda m=members[:n_seq]: run(m, vectorized=False), device)
        dev = max((vec.params[k][:n_seq] - seq.params[k]).abs().max().item() for k in seq.params)
        seq_rate = n_seq / t_seq
        rows.append({
            "S": S, "vectorized_seeds_per_s": round(S / t_vec, 3),
            "auto_chunk_seeds_per_s": round(S / t_auto, 3),
            "sequential_seeds_per_s": round(seq_rate, 3), "sequential_measured_on": n_seq,
            "ratio": round((S / t_vec) / seq_rate, 3), "ratio_auto": round((S / t_auto) / seq_rate, 3),
            "max_abs_deviation": dev,
            "vectorized_gflops": round(flops_member_step * steps * S / t_vec / 1e9, 3),
            "sequential_gflops": round(flops_member_step * steps * n_seq / t_seq / 1e9, 3),
        })
    return {"preset": f"{task_name}/{arch}", "steps": steps, "batch": batch,
            "auto_chunk_size": default_chunk_size(make(), device), "results": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--quick", action="store_true", help="fewer steps and seed counts (a smoke test)")
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: all presets)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (workers use 1)")
    parser.add_argument("--seeds", default="", help="comma-separated seed counts (default 1,8,32,64,128)")
    parser.add_argument("--steps", type=int, default=0,
                        help="training steps per run (default 40, 10 with --quick); more steps weigh the "
                             "one-time costs both paths share (initialisation, checkpoints) less")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    seeds_list = [int(n) for n in args.seeds.split(",")] if args.seeds else (
        [1, 8, 32] if args.quick else [1, 8, 32, 64, 128])
    steps = args.steps or (10 if args.quick else 40)
    seq_cap = 8 if args.quick else 32
    wanted = set(filter(None, args.tasks.split(",")))
    peak = roofline(device, 4096 if device.type == "cuda" else 1024)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for task_name, arch in PRESETS:
        if wanted and task_name not in wanted:
            continue
        line = bench_preset(task_name, arch, device, seeds_list, steps, seq_cap)
        best = max(r["vectorized_gflops"] for r in line["results"])
        best_seq = max(r["sequential_gflops"] for r in line["results"])
        for row in line["results"]:  # vectorized matmuls at the roofline, nothing else costing any time
            row["ratio_ceiling_at_roofline"] = round(peak / row["sequential_gflops"], 2)
        line.update({"device": str(device), "threads": args.threads, "roofline_gflops": round(peak, 1),
                     "best_fraction_of_roofline": round(max(best, best_seq) / peak, 3), "load_average": load,
                     "torch": torch.__version__})
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark the REACT metrics at challenge scale: N inputs x K predictions x G ground truths x L frames.

Random smooth attribute sequences (Gaussian-filtered noise squashed into each dimension's range,
expression probabilities via softmax) stand in for data. Prints a Markdown table of seconds per metric
and writes JSON to --out.

    python benchmarks/bench_metrics.py                 # 100 x 10 x 10 x 750
    python benchmarks/bench_metrics.py --inputs 10 --no-prune
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
from scipy.ndimage import gaussian_filter1d

from react_ros import schema
from react_ros.metrics import evaluate


def smooth_attributes(rng: np.random.Generator, shape: tuple[int, ...], sigma: float = 8.0) -> np.ndarray:
    """(..., L, 25) smooth random attributes inside the schema ranges."""
    noise = gaussian_filter1d(rng.standard_normal((*shape, schema.REACTION_DIM)), sigma, axis=-2)
    noise *= 1.0 / noise.std()
    out = np.empty_like(noise)
    out[..., schema.AU] = 1.0 / (1.0 + np.exp(-2.0 * noise[..., schema.AU]))
    out[..., schema.AFFECT] = np.tanh(noise[..., schema.AFFECT])
    logits = 2.0 * noise[..., schema.EXPRESSION]
    expo = np.exp(logits - logits.max(axis=-1, keepdims=True))
    out[..., schema.EXPRESSION] = expo / expo.sum(axis=-1, keepdims=True)
    return out.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--preds", type=int, default=10)
    parser.add_argument("--gts", type=int, default=10)
    parser.add_argument("--frames", type=int, default=750)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-prune", action="store_true", help="disable the exact DTW early abandoning")
    parser.add_argument("--progress", action="store_true", help="show the DTW progress bar")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/metrics.json"))
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    n, k, g, length = args.inputs, args.preds, args.gts, args.frames
    gts = smooth_attributes(rng, (n, g, length))
    speaker = smooth_attributes(rng, (n, length))
    pred = smooth_attributes(rng, (n, k, length))

    # Compile (or load from numba's cache) on a tiny problem so the timings below are steady state
    start = time.perf_counter()
    evaluate(pred[:2, :2, :20], gts[:2, :2, :20], speaker[:2, :20], progress=False)
    warmup = time.perf_counter() - start

    timings: dict[str, float] = {}
    start = time.perf_counter()
    scores = evaluate(pred, gts, speaker, progress=args.progress, prune=not args.no_prune, timings=timings)
    total = time.perf_counter() - start

    print(f"| metric | seconds | value |  ({n} inputs x {k} predictions x {g} ground truths x {length} frames, "
          f"{numba.get_num_threads()} threads, prune={not args.no_prune})")
    print("|---|---:|---:|")
    for name, seconds in timings.items():
        print(f"| {name} | {seconds:.2f} | {scores[name]:.5g} |")
    print(f"| other (input checks, conversion) | {total - sum(timings.values()):.2f} | |")
    print(f"| **total** | **{total:.2f}** | |")
    print(f"| warm-up (compile or cache load) | {warmup:.2f} | |")

    record = {
        "shape": {"inputs": n, "predictions": k, "ground_truths": g, "frames": length},
        "prune": not args.no_prune,
        "seconds": {**{name: round(s, 4) for name, s in timings.items()}, "total": round(total, 4),
                    "warmup": round(warmup, 4)},
        "scores": scores,
        "machine": {"cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "processor": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "numba": numba.__version__, "numpy": np.__version__},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

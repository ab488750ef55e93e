"""Benchmark the face renderer: a 25 s (750-frame) synthetic reaction sequence rendered and encoded on one core.

    python benchmarks/bench_render.py [--frames 750] [--size 256] [--out benchmarks/results/render.json]

Prints a Markdown table and writes the numbers as JSON. Rendering is timed per frame; encoding (mp4v via
cv2.VideoWriter) is timed as a whole on the already rendered frames.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.data.expressions import expression_probabilities
from react_ros.face import FaceRenderer, write_video


def synthetic_sequence(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothly varying reactions (T, 25), head poses (T, 3) and blinks (T,): every control gets exercised."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / schema.FPS
    # Each AU: a sum of two slow sinusoids with random periods/phases, squashed into 0..1.
    periods = rng.uniform(1.5, 8.0, size=(2, len(schema.AU_NAMES)))
    phases = rng.uniform(0, 2 * np.pi, size=(2, len(schema.AU_NAMES)))
    waves = np.sin(2 * np.pi * t[:, None] / periods[0] + phases[0]) + np.sin(2 * np.pi * t[:, None] / periods[1]
                                                                             + phases[1])
    aus = np.clip(0.5 * waves - 0.2, 0.0, 1.0)
    valence = 0.8 * np.sin(2 * np.pi * t / 11.0)
    arousal = 0.6 * np.sin(2 * np.pi * t / 7.0 + 1.0)
    reactions = np.zeros((frames, schema.REACTION_DIM), dtype=np.float32)
    reactions[:, schema.AU] = aus
    reactions[:, schema.VALENCE] = valence
    reactions[:, schema.AROUSAL] = arousal
    reactions[:, schema.EXPRESSION] = expression_probabilities(aus, valence, arousal)
    poses = np.stack([0.15 * np.sin(2 * np.pi * t / 3.1), 0.3 * np.sin(2 * np.pi * t / 5.3),
                      0.2 * np.sin(2 * np.pi * t / 4.7)], axis=1)
    blinks = np.clip(1.0 - np.abs((t % 3.3) - 1.0) / 0.1, 0.0, 1.0)  # a 0.2 s blink every 3.3 s
    return reactions, poses, blinks


def pin_to_one_core() -> int | None:
    """Pin this process to one CPU (Linux), so 'one core' is what is measured; returns the CPU or None."""
    cv2.setNumThreads(1)
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def run(frames: int, size: int, video_path: Path) -> dict:
    reactions, poses, blinks = synthetic_sequence(frames)
    renderer = FaceRenderer(size=size)
    renderer.render(reactions[0])  # warm-up (lazy OpenCV/numpy initialisation)
    images, times = [], np.empty(frames)
    start = time.perf_counter()
    for i in range(frames):
        t0 = time.perf_counter()
        images.append(renderer.render(reactions[i], poses[i], float(blinks[i])))
        times[i] = time.perf_counter() - t0
    render_s = time.perf_counter() - start
    t0 = time.perf_counter()
    written = write_video(video_path, images, fps=schema.FPS)
    encode_s = time.perf_counter() - t0
    play_s = frames / schema.FPS
    total_s = render_s + encode_s
    return {
        "frames": written,
        "size": size,
        "render_ms_median": float(np.median(times) * 1e3),
        "render_ms_p99": float(np.percentile(times, 99) * 1e3),
        "render_ms_max": float(times.max() * 1e3),
        "render_fps": frames / render_s,
        "render_s": render_s,
        "encode_s": encode_s,
        "total_s": total_s,
        "play_s": play_s,
        "realtime_factor": play_s / total_s,
        "video_bytes": video_path.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=750)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/render.json"))
    parser.add_argument("--video", type=Path, default=None, help="keep the mp4 here (default: a temp file)")
    args = parser.parse_args(argv)
    cpu = pin_to_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.frames, args.size, args.video or Path(tmp) / "bench.mp4")
    result.update(pinned_cpu=cpu, cv2=cv2.__version__, numpy=np.__version__, python=platform.python_version(),
                  machine=platform.machine(), cpus_visible=os.cpu_count())
    print(f"| {args.frames} frames @ {args.size} px, one core | value |")
    print("|---|---|")
    print(f"| render ms/frame (median) | {result['render_ms_median']:.2f} |")
    print(f"| render ms/frame (p99) | {result['render_ms_p99']:.2f} |")
    print(f"| render fps | {result['render_fps']:.0f} |")
    print(f"| encode total (s) | {result['encode_s']:.2f} |")
    print(f"| total (s) vs play time | {result['total_s']:.2f} / {result['play_s']:.0f} "
          f"({result['realtime_factor']:.1f}x real time) |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark the human-style face (face/human.py) against the cartoon on one core, 256x256.

    python benchmarks/bench_human_face.py [--frames 600] [--size 256] [--out benchmarks/results/human_face.json]

Renders the demo clip's speaker attributes (the same 25-d reactions for both styles; the human face reads them
as the arkit_blendshapes profile's 52 weights, whose mapping is timed too) with a slow head sway, one frame at a
time, pinned to one CPU with OpenCV on one thread. Prints a Markdown table and writes the numbers as JSON,
with the load average: on a shared machine the median is the figure to read, the minimum what the code costs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.online.face_style import face_renderer

TARGET_MS = 5.0  # the budget per 256x256 frame on one core


def reactions(frames: int) -> np.ndarray:
    from react_ros.data.synthetic.people import make_script, speaker_from_script

    script = make_script(np.random.default_rng((0, 0)), frames)
    return speaker_from_script(np.random.default_rng((0, 0, 0)), script, frames).attributes


def time_style(style: str, frames: np.ndarray, size: int) -> dict:
    renderer = face_renderer(style, size)
    t = np.arange(len(frames)) / schema.FPS
    poses = np.stack([0.2 * np.sin(2 * np.pi * t / 5.3), 0.1 * np.sin(2 * np.pi * t / 3.1), 0.05 * np.sin(t)], 1)
    if style == "cartoon":  # its pose order is (pitch, yaw, roll)
        poses = poses[:, [1, 0, 2]]
    renderer.render(frames[0], poses[0])  # warm-up
    times = np.empty(len(frames))
    for k, (frame, pose) in enumerate(zip(frames, poses, strict=True)):
        start = time.perf_counter()
        renderer.render(frame, pose)
        times[k] = time.perf_counter() - start
    ms = times * 1e3
    return {"style": style, "frames": len(frames), "size": size, "median_ms": round(float(np.median(ms)), 3),
            "p90_ms": round(float(np.percentile(ms, 90)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "min_ms": round(float(ms.min()), 3), "within_target": bool(np.median(ms) <= TARGET_MS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default="benchmarks/results/human_face.json")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    cpu = None
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    frames = reactions(args.frames)
    rows = [time_style(style, frames, args.size) for style in ("human", "cartoon")]
    result = {"target_ms": TARGET_MS, "cpu": cpu, "load_average": [round(x, 2) for x in os.getloadavg()],
              "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "opencv": cv2.__version__, "rows": rows}
    print(f"| style | frames | size | median ms | p90 ms | p99 ms | min ms | median <= {TARGET_MS:g} ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['style']} | {r['frames']} | {r['size']} | {r['median_ms']} | {r['p90_ms']} | {r['p99_ms']} | "
              f"{r['min_ms']} | {'yes' if r['within_target'] else 'no'} |")
    print(f"one core (cpu {cpu}), load average {result['load_average']} on {result['cpu_count']} cores")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

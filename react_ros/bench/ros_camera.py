"""Camera-sized frames through ROS 2 into the reaction node: how many frames get a command, and how fast.

A publisher node sends the demo clip's frames resized to WxH (bgr8) at 30 fps, stamped at publication, with
best-effort or reliable QoS (the reaction node's `input_reliability` set to match, as docs/ros.md advises);
the reaction node (real front end, `crop_mode` full_frame) runs in the same process on its own executor
thread, and a listener hears its joint commands over DDS. Per case:

    answered % = frames whose stamp comes back on a joint command / frames published
    end to end = time the listener receives the command - the frame's stamp (median, p99)

`python -m react_ros.bench.ros_camera --json OUT [--quick]` runs the four cases (640x480 and 1280x720, each
best effort and reliable), prints a table and writes JSON; `react-ros bench` runs it with the ROS stage.
--quick is 2 s per case (a smoke run); reference numbers need the full run on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

from react_ros.online.latency import summary_ms

SIZES = ((640, 480), (1280, 720))
RELIABILITIES = ("best_effort", "reliable")
FPS = 30.0


def run_case(width: int, height: int, reliability: str, seconds: float, backend: str = "onnxruntime",
             engine_dir: str = "") -> dict:
    import cv2
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image, JointState

    from react_ros.data.democlip import default_clip
    from react_ros.face.video import read_video
    from react_ros.nodes.common import bgr_to_image, input_qos, reliable_qos, stamp_to_seconds
    from react_ros.nodes.reaction_node import ReactionNode

    video, _ = default_clip()
    frames = [cv2.resize(f, (width, height)) for f in read_video(video)[:90]]
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=random.randint(1, 100))
    params = {"backend": backend, "fallback_backend": "torch", "engine_dir": engine_dir,
              "input_reliability": reliability, "robot_profile": "animatronic", "diagnostics_period_s": 1.0}
    node = ReactionNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    tester = rclpy.create_node(f"camera_bench_{random.randint(0, 10**6)}", context=context)
    publisher = tester.create_publisher(Image, "/camera/image_raw", input_qos(reliability, 5))
    heard: dict[float, float] = {}
    tester.create_subscription(JointState, "/react_ros/joint_commands",
                               lambda m: heard.setdefault(round(stamp_to_seconds(m.header.stamp), 6), time.time()),
                               reliable_qos(1000))
    executors = [SingleThreadedExecutor(context=context), SingleThreadedExecutor(context=context)]
    executors[0].add_node(node)
    executors[1].add_node(tester)
    for executor in executors:
        threading.Thread(target=executor.spin, daemon=True).start()
    try:
        deadline = time.monotonic() + 10
        while not publisher.get_subscription_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        sent: list[float] = []
        start = time.monotonic()
        for k in range(int(seconds * FPS)):
            stamp = time.time()
            publisher.publish(bgr_to_image(frames[k % len(frames)], stamp))
            sent.append(round(stamp, 6))
            delay = start + (k + 1) / FPS - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        time.sleep(1.0)  # the last commands
        dropped = node.session.totals()["dropped_frames"]
    finally:
        for executor in executors:
            executor.shutdown(timeout_sec=2.0)
        node.shutdown_gracefully()
        node.destroy_node()
        tester.destroy_node()
        context.try_shutdown()
    e2e = [heard[s] - s for s in sent if s in heard]
    return {"size": f"{width}x{height}", "reliability": reliability, "frames": len(sent), "answered": len(e2e),
            "answered_pct": round(100.0 * len(e2e) / max(len(sent), 1), 1), "end_to_end": summary_ms(e2e),
            "dropped_frames": dropped}


def run(seconds: float, backend: str = "onnxruntime", engine_dir: str = "") -> dict:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cases = [run_case(w, h, r, seconds, backend, engine_dir) for w, h in SIZES for r in RELIABILITIES]
    return {"mode": f"{seconds:g} s per case at {FPS:g} fps, publisher + reaction node + listener in one process",
            "backend": backend, "transports": os.environ.get("FASTDDS_BUILTIN_TRANSPORTS", "default"),
            "load_average_before": load, "cases": cases}


def table(result: dict) -> str:
    rows = ["| size | publisher QoS | frames | answered | end to end median ms | p99 ms |",
            "| --- | --- | --- | --- | --- | --- |"]
    for case in result["cases"]:
        e2e = case["end_to_end"] or {}
        median, p99 = (f"{v:.1f}" if v is not None else "-" for v in (e2e.get("median_ms"), e2e.get("p99_ms")))
        rows.append(f"| {case['size']} | {case['reliability']} | {case['frames']} | {case['answered_pct']} % | "
                    f"{median} | {p99} |")
    return "\n".join(rows)


def run_in_subprocess(json_out: str | Path, timeout: float = 900.0, **kwargs) -> dict:
    """`run` in a fresh Python process (own ROS contexts); returns its result or {"error": ...}."""
    from react_ros.bench.isolated import run_module

    return run_module("react_ros.bench.ros_camera", json_out, timeout, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="2 s per case (a smoke run, not reference numbers)")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--engine-dir", default="")
    args = parser.parse_args(argv)
    result = run(2.0 if args.quick else args.seconds, args.backend, args.engine_dir)
    result["quick"] = bool(args.quick)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

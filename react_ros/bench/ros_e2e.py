"""End-to-end latency through ROS 2 with the real nodes (camera, microphone, reaction) in one process.

The in-process bringup (react_ros.bringup.runner.run_clip) plays the bundled demo clip in real time: the camera
node's timer publishes each frame stamped with the wall clock at publication, the microphone node its audio
chunks, the reaction node publishes a JointState face command per frame whose header carries that frame's
stamp. A separate listener node in the same process subscribes to the camera and the joint commands over
DDS (rmw), so

    end-to-end = time the listener receives the command - the speaker frame's stamp

covers the image transport, the front end, the pairing, the publication and the command's transport. Command
jitter is the standard deviation of the intervals between consecutive frame commands (the period is 33.3 ms)
and the p99 of |interval - 33.3 ms|; the camera's own jitter (std of its frame intervals) and the jitter the
pipeline adds (std of the change of end-to-end latency from one frame to the next) separate the two. CPU use is the process's CPU time over wall time between the first and the
last command (all nodes, the executor, the listener), peak memory the process's peak RSS.

Run it in its own process (`python -m react_ros.bench.ros_e2e --json OUT ...`, which `react-ros bench` does):
it picks a random ROS_DOMAIN_ID unless one is set, so it does not hear other tests' topics."""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.bench.timing import peak_rss_mb
from react_ros.online.latency import summary_ms


def run(seconds: float | None = None, backend: str = "onnxruntime", steps: int = 0, engine_dir: str = "",
        threads: int = 1, out_dir: str | Path | None = None) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import Image, JointState

    from react_ros.bringup.runner import run_clip
    from react_ros.data.democlip import default_clip
    from react_ros.nodes.common import reliable_qos, sensor_qos, stamp_to_seconds

    video, wav = default_clip()
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="react_ros_bench_ros_"))
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    frames: dict[float, float] = {}
    commands: list[tuple[float, float, float]] = []  # (stamp, received wall, process cpu)
    listener = Node("bench_listener")
    listener.create_subscription(Image, "/camera/image_raw",
                                 lambda m: frames.setdefault(round(stamp_to_seconds(m.header.stamp), 6), time.time()),
                                 sensor_qos())
    listener.create_subscription(JointState, "/react_ros/joint_commands",
                                 lambda m: commands.append((round(stamp_to_seconds(m.header.stamp), 6), time.time(),
                                                            time.process_time())), reliable_qos(1000))
    executor = SingleThreadedExecutor()
    executor.add_node(listener)
    spinning = threading.Event()
    spinning.set()

    def spin():
        while spinning.is_set():
            executor.spin_once(timeout_sec=0.05)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    overrides = {"backend": backend, "threads": int(threads), "fallback_backend": ""}
    if steps:
        overrides["steps"] = int(steps)
    if engine_dir:
        overrides["engine_dir"] = str(engine_dir)
    try:
        result = run_clip(video, wav, out, None, overrides, fast=False, max_seconds=seconds, record=False,
                          progress=False)
        time.sleep(0.3)
    finally:
        spinning.clear()
        thread.join(timeout=2.0)
        executor.shutdown(timeout_sec=1.0)
        listener.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    frame_commands = sorted((c for c in commands if c[0] in frames), key=lambda c: c[1])
    e2e = [received - stamp for stamp, received, _ in frame_commands]
    received = np.array([c[1] for c in frame_commands])
    intervals = np.diff(received)
    period = 1.0 / schema.FPS
    deviation = np.abs(intervals - period)
    stamps = np.sort(np.array(list(frames)))
    camera_intervals = np.diff(stamps)
    cpu = None
    if len(frame_commands) > 1:
        wall = frame_commands[-1][1] - frame_commands[0][1]
        used = frame_commands[-1][2] - frame_commands[0][2]
        cpu = {"cpu_s": round(used, 3), "wall_s": round(wall, 3), "cpu_per_wall": round(used / wall, 3)}
    summary = result.summary
    return {
        "mode": "real time, demo clip, camera + microphone + reaction nodes in one process, listener over DDS",
        "backend": summary.get("backend"), "sampling": summary.get("sampling"), "threads": threads,
        "frames_published": summary.get("frames_published"), "frames_heard": len(frames),
        "commands_heard": len(commands), "frame_commands": len(frame_commands),
        "end_to_end": summary_ms(e2e),
        "end_to_end_hook": summary.get("end_to_end"),
        "command_interval": summary_ms(intervals),
        "command_jitter_std_ms": round(float(intervals.std() * 1e3), 4) if len(intervals) else None,
        "command_jitter_vs_period": summary_ms(deviation),
        # command interval - frame interval = change of end-to-end latency: the jitter the pipeline itself adds
        "added_jitter_std_ms": round(float(np.diff(np.asarray(e2e)).std() * 1e3), 4) if len(e2e) > 1 else None,
        "camera_jitter_std_ms": round(float(camera_intervals.std() * 1e3), 4) if len(camera_intervals) else None,
        "stages": summary.get("stages"),
        "cpu": cpu, "peak_rss_mb": round(peak_rss_mb(), 1),
        "dropped_frames": (summary.get("diagnostics") or {}).get("dropped_frames"),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def run_in_subprocess(json_out: str | Path, timeout: float = 300.0, **kwargs) -> dict:
    """`run` in a fresh Python process (own ROS context and domain); returns its result or {"error": ...}."""
    from react_ros.bench.isolated import run_module

    env = dict(os.environ)
    env.setdefault("ROS_DOMAIN_ID", str(random.randint(110, 200)))
    return run_module("react_ros.bench.ros_e2e", json_out, timeout, env, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--engine-dir", default="")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)
    result = run(args.seconds, args.backend, args.steps, args.engine_dir, args.threads, args.out_dir)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

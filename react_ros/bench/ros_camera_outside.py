"""Camera frames from a driver in another process, in its default configuration, into the reaction node.

A camera driver that nobody reconfigured: a publisher process with no Fast DDS variables and ROS's default
discovery range sends the demo clip's frames resized to WxH at 30 fps, best effort (rgb8 `sensor_msgs/Image`,
or `CompressedImage` JPEG as image_transport's compressed plugin does). A second process runs the reaction node
(real front end) with the case's FASTDDS_BUILTIN_TRANSPORTS (only on its side) and a listener for its stamped
reactions. Per case:

    answered % = frames whose stamp comes back, exactly, on a stamped reaction / frames published

    python -m react_ros.bench.ros_camera_outside --json benchmarks/results/ros_camera_outside.json [--seconds 20]
    python -m react_ros.bench.ros_camera_outside --json OUT --case 1280x720,raw,UDPv4?sockets_size=4MB

The numbers depend on the machine and its load (recorded with the result); pass/fail belongs to the reader.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

FPS = 30.0
TOPIC = "/camera/image_raw"
# size, input (raw | compressed), the reaction node's FASTDDS_BUILTIN_TRANSPORTS ('' = Fast DDS's default),
# its input_depth
CASES = (("1280x720", "raw", "", 5), ("1280x720", "raw", "UDPv4?sockets_size=4MB", 5),
         ("1280x720", "raw", "UDPv4?sockets_size=4MB", 30), ("1280x720", "compressed", "", 5),
         ("640x480", "raw", "", 5), ("640x480", "raw", "UDPv4?sockets_size=4MB", 5),
         ("640x480", "raw", "UDPv4?sockets_size=4MB", 30), ("640x480", "compressed", "", 5))


def environment(transports: str, domain: int) -> dict[str, str]:
    """A default environment (no Fast DDS variables, ROS's default discovery range), plus `transports` if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTDDS_", "FASTRTPS_", "RMW_FASTRTPS_"))
           and k != "ROS_AUTOMATIC_DISCOVERY_RANGE"}
    env["ROS_DOMAIN_ID"] = str(domain)
    if transports:
        env["FASTDDS_BUILTIN_TRANSPORTS"] = transports
    return env


def publish(width: int, height: int, seconds: float, compressed: bool) -> dict:
    """The driver: waits for a subscriber, then publishes; returns the stamps sent as (sec, nanosec)."""
    import cv2
    import rclpy
    from sensor_msgs.msg import CompressedImage, Image

    from react_ros.data.democlip import default_clip
    from react_ros.face.video import read_video
    from react_ros.nodes.common import bgr_to_compressed, bgr_to_image, input_qos

    video, _ = default_clip()
    frames = [cv2.resize(f, (width, height)) for f in read_video(video)[:90]]
    rclpy.init()
    node = rclpy.create_node("outside_camera")
    topic = f"{TOPIC}/compressed" if compressed else TOPIC
    publisher = node.create_publisher(CompressedImage if compressed else Image, topic, input_qos("best_effort", 5))
    deadline = time.monotonic() + 120
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    sent = []
    start = time.monotonic()
    for k in range(int(seconds * FPS)):
        frame = frames[k % len(frames)]
        if compressed:
            msg = bgr_to_compressed(frame, time.time())
        else:  # rgb8, as most drivers publish
            msg = bgr_to_image(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), time.time())
            msg.encoding = "rgb8"
        publisher.publish(msg)
        sent.append((msg.header.stamp.sec, msg.header.stamp.nanosec))
        delay = start + (k + 1) / FPS - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()
    return {"sent": sent}


def react(compressed: bool, backend: str, depth: int) -> dict:
    """The reaction node and a listener in this process; returns the stamps it answered and its counters."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import JointState

    from react_ros.nodes.common import reliable_qos
    from react_ros.nodes.reaction_node import ReactionNode

    rclpy.init()
    params = {"backend": backend, "fallback_backend": "torch", "robot_profile": "animatronic",
              "image_transport": "compressed" if compressed else "raw", "image_topic": TOPIC, "input_depth": depth}
    node = ReactionNode(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    listener = rclpy.create_node("outside_bench_listener")
    heard: set = set()
    listener.create_subscription(JointState, "/react_ros/reaction_stamped",
                                 lambda m: heard.add((m.header.stamp.sec, m.header.stamp.nanosec)), reliable_qos(1000))
    executors = [SingleThreadedExecutor(), SingleThreadedExecutor()]
    executors[0].add_node(node)
    executors[1].add_node(listener)
    for executor in executors:
        threading.Thread(target=executor.spin, daemon=True).start()
    sys.stdin.readline()  # until the bench says the publisher is done
    totals = node.session.totals()
    for executor in executors:
        executor.shutdown(timeout_sec=2.0)
    node.shutdown_gracefully()
    node.destroy_node()
    listener.destroy_node()
    rclpy.shutdown()
    return {"heard": sorted(heard), "images": totals["images"], "dropped_frames": totals["dropped_frames"]}


def table(result: dict) -> str:
    rows = ["| size | input | reaction node's transports | input_depth | frames | received | answered |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for case in result["cases"]:
        rows.append(f"| {case['size']} | {case['input']} | {case['node_transports']} | {case['input_depth']} | "
                    f"{case['frames']} | {case['images_received']} | {case['answered_pct']} % |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["main", "publisher", "node"], default="main")
    parser.add_argument("--json", default="")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--compressed", action="store_true")
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--depth", type=int, default=5, help="the reaction node's input_depth")
    parser.add_argument("--case", action="append", default=None,
                        help="WxH,raw|compressed,TRANSPORTS,DEPTH (repeatable)")
    args = parser.parse_args(argv)
    if args.role == "publisher":
        width, height = (int(v) for v in args.size.split("x"))
        print(json.dumps(publish(width, height, args.seconds, args.compressed)), flush=True)
        return 0
    if args.role == "node":
        print(json.dumps(react(args.compressed, args.backend, args.depth)), flush=True)
        return 0
    return run_main(args)


def run_main(args) -> int:
    cases = [(*c.split(",", 3)[:3], int(c.split(",", 3)[3])) for c in args.case] if args.case else CASES
    load = os.getloadavg()[0]
    rows = []
    for size, kind, transports, depth in cases:
        rows.append(run_case(size, kind, transports, depth, args.seconds, args.backend))
        print(table({"cases": rows[-1:]}).splitlines()[-1], flush=True)
    result = {"mode": f"{args.seconds:g} s per case at {FPS:g} fps; publisher process in a default environment, "
                      "reaction node + listener in another", "backend": args.backend, "cpus": os.cpu_count(),
              "load_average_before": round(load, 2), "load_average_after": round(os.getloadavg()[0], 2),
              "cases": rows}
    print(table(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def run_case(size: str, kind: str, transports: str, depth: int, seconds: float, backend: str) -> dict:
    """One case: the node process starts first; the publisher waits for its subscription, publishes, and reports
    its stamps; then the node process is told to stop and reports the stamps it answered."""
    width, height = (int(v) for v in size.split("x"))
    domain = random.randint(101, 200)
    me = [sys.executable, "-m", "react_ros.bench.ros_camera_outside"]
    compressed = ["--compressed"] if kind == "compressed" else []
    node = subprocess.Popen([*me, "--role", "node", "--backend", backend, "--depth", str(depth), *compressed],
                            env=environment(transports, domain), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    publisher = subprocess.run([*me, "--role", "publisher", "--size", f"{width}x{height}", "--seconds", str(seconds),
                                *compressed], env=environment("", domain), capture_output=True, text=True,
                               timeout=seconds + 300)
    sent = [tuple(s) for s in json.loads(publisher.stdout.strip().splitlines()[-1])["sent"]]
    out, _ = node.communicate("stop\n", timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    heard = {tuple(s) for s in result["heard"]}
    hit = sum(1 for stamp in sent if stamp in heard)
    return {"size": size, "input": kind, "node_transports": transports or "default", "input_depth": depth,
            "frames": len(sent),
            "answered": hit, "answered_pct": round(100.0 * hit / max(len(sent), 1), 1),
            "images_received": result["images"], "dropped_frames": result["dropped_frames"]}


if __name__ == "__main__":
    sys.exit(main())

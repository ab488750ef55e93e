"""How many camera-sized images arrive over ROS 2 (Fast DDS), by image size, QoS and transports.

A publisher process sends bgr8 images at 30 fps (react_ros.nodes.common.bgr_to_image, with `input_qos` of the
given reliability); a subscriber process (best effort or reliable, `input_qos`) counts what arrives. Both run
with the given FASTDDS_BUILTIN_TRANSPORTS ('' = Fast DDS's default; each side may have its own), and ROS's default
discovery range. Prints a Markdown table, writes JSON.
Pass/fail belongs to the reader: the numbers depend on the machine and its load.

    python benchmarks/bench_image_delivery.py                     # 640x480 and 1280x720, 90 frames each case
    python benchmarks/bench_image_delivery.py --frames 300 --out benchmarks/results/image_delivery.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

TOPIC = "/bench/image_raw"
# Fast DDS's default transports (shared memory + UDPv4, so it discovers and is discovered by default-configured
# processes) with 4 MiB socket buffers on this side only (Fast DDS >= 2.14 reads options after '?').
RECEIVER_TRANSPORTS = "DEFAULT?sockets_size=4MB"


def publish(width: int, height: int, frames: int, reliability: str) -> None:
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image

    from react_ros.nodes.common import bgr_to_image, input_qos

    rclpy.init()
    node = rclpy.create_node("bench_camera")
    publisher = node.create_publisher(Image, TOPIC, input_qos(reliability))
    deadline = time.monotonic() + 10
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    start = time.monotonic()
    for k in range(frames):
        publisher.publish(bgr_to_image(image, time.time()))
        delay = start + (k + 1) / 30.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()


def subscribe(seconds: float, reliability: str) -> None:
    import rclpy
    from sensor_msgs.msg import Image

    from react_ros.nodes.common import input_qos

    rclpy.init()
    node = rclpy.create_node("bench_listener")
    received = []
    node.create_subscription(Image, TOPIC, lambda m: received.append(len(m.data)), input_qos(reliability))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    print(json.dumps({"received": len(received)}))
    node.destroy_node()
    rclpy.shutdown()


def environment(transports: str, domain: int) -> dict[str, str]:
    """A process's environment: ROS's default discovery range, FASTDDS_BUILTIN_TRANSPORTS only when given."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
    env.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)
    if transports:
        env["FASTDDS_BUILTIN_TRANSPORTS"] = transports
    return env


def run_case(width: int, height: int, frames: int, publisher_qos: str, subscriber_qos: str, transports: str,
             subscriber_transports: str | None = None) -> dict:
    """`transports` for the publisher, `subscriber_transports` for the subscriber (None = the same)."""
    domain = random.randint(101, 200)
    subscriber_transports = transports if subscriber_transports is None else subscriber_transports
    me = [sys.executable, str(Path(__file__).resolve())]
    listener = subprocess.Popen([*me, "--role", "sub", "--seconds", str(frames / 30 + 8), "--sub-qos", subscriber_qos],
                                env=environment(subscriber_transports, domain), stdout=subprocess.PIPE, text=True)
    subprocess.run([*me, "--role", "pub", "--size", f"{width}x{height}", "--frames", str(frames),
                    "--pub-qos", publisher_qos], env=environment(transports, domain), check=True)
    out, _ = listener.communicate(timeout=60)
    received = json.loads(out.strip().splitlines()[-1])["received"]
    return {"size": f"{width}x{height}", "publisher": publisher_qos, "subscriber": subscriber_qos,
            "transports": transports or "default", "subscriber_transports": subscriber_transports or "default",
            "frames": frames, "received": received, "fraction": received / frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", choices=["main", "pub", "sub"], default="main")
    parser.add_argument("--size", action="append", default=None, help="WxH (repeatable; default 640x480, 1280x720)")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pub-qos", default="best_effort")
    parser.add_argument("--sub-qos", default="best_effort")
    parser.add_argument("--case", action="append", default=None,
                        help="PUBLISHER_QOS,SUBSCRIBER_QOS,TRANSPORTS[,SUBSCRIBER_TRANSPORTS] (repeatable; TRANSPORTS "
                             "'' = Fast DDS's default; default: the cases below)")
    parser.add_argument("--out", default=None, help="write the JSON here")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in (args.size or ["640x480", "1280x720"])]
    if args.role == "pub":
        publish(*sizes[0], args.frames, args.pub_qos)
        return
    if args.role == "sub":
        subscribe(args.seconds, args.sub_qos)
        return
    cases = [tuple(c.split(",", 3)) for c in args.case] if args.case else [
        ("best_effort", "best_effort", ""), ("best_effort", "best_effort", "LARGE_DATA"),
        ("best_effort", "best_effort", "", RECEIVER_TRANSPORTS), ("reliable", "reliable", ""),
        ("reliable", "best_effort", "")]
    load = os.getloadavg()[0]
    rows = [run_case(w, h, args.frames, *case) for w, h in sizes for case in cases]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print("| size | publisher | subscriber | publisher transports | subscriber transports | received |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['size']} | {row['publisher']} | {row['subscriber']} | {row['transports']} | "
              f"{row['subscriber_transports']} | {row['received']}/{row['frames']} ({100 * row['fraction']:.0f} %) |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        machine = {"cpus": os.cpu_count(), "load_average_start": round(load, 2),
                   "load_average_end": round(os.getloadavg()[0], 2)}
        Path(args.out).write_text(json.dumps({"machine": machine, "cases": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

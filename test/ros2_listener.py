"""A plain rclpy subscriber, as a robot's own face controller would be: run it in a default environment (no Fast
DDS variables) next to `ros2 launch`; on SIGINT, or after SECONDS, it prints as JSON how many face commands
(JointState on /react_ros/joint_commands, the watchdog's included) and stamped reactions (one per answered
camera frame) it received, and the stamps of those reactions (nanoseconds) so a test can tell a late start
(discovery still matching when the first reactions went out) from a loss mid-stream.

    python test/ros2_listener.py SECONDS
"""
from __future__ import annotations

import json
import signal
import sys
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import JointState


def main(seconds: float) -> dict:
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("outside_listener")
    counts = {"face_commands": 0, "reactions": 0, "reaction_stamps": []}

    def counter(key):
        def count(msg) -> None:
            counts[key] += 1
            if key == "reactions":
                counts["reaction_stamps"].append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
        return count

    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(JointState, "/react_ros/joint_commands", counter("face_commands"), qos)
    node.create_subscription(JointState, "/react_ros/reaction_stamped", counter("reactions"), qos)
    print("listening", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop:
        rclpy.spin_once(node, timeout_sec=0.1)
    node.destroy_node()
    rclpy.shutdown()
    return counts


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]))), flush=True)

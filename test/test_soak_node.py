"""Bad-input soak against a running reaction node over real topics: malformed camera and microphone messages
(test_soak's generators, some with garbage 1970/2038 stamps) between valid frames. The suite sends 2,000
(every message costs the node real work; test_soak puts 24,000 through the same conversions without
transport); REACT_ROS_NODE_SOAK=10000 runs the full-size soak.

What must hold: the node never dies, every valid frame gets its command, no command carries a garbage
stamp, and /diagnostics is back to OK once the input is clean (the session checks stamps with
react_ros.online.stamps.StampChecker and sets the level with react_ros.online.health.HealthLevel).
"""
from __future__ import annotations

import os
import random
import threading
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image, JointState  # noqa: E402
from std_msgs.msg import UInt8MultiArray  # noqa: E402
from test_soak import malformed_audio, malformed_image  # noqa: E402

from react_ros.nodes.common import bgr_to_image, make_audio_msg, seconds_to_stamp, sensor_qos  # noqa: E402

VALID_FRAMES = 25
BAD_MESSAGES = int(os.environ.get("REACT_ROS_NODE_SOAK", "2000"))
BAD_PER_FRAME = -(-BAD_MESSAGES // VALID_FRAMES)
GARBAGE_STAMPS = [1.0, 86_400.0, 2.0**31 - 1]


def _catch_up(node, expected: int, timeout_s: float = 0.05) -> int:
    """Wait until the node has received `expected` messages in all (or a moment passed); returns the count."""
    deadline = time.monotonic() + timeout_s
    while node.session.counters["images"] + node.session.counters["audio_chunks"] < expected and time.monotonic() < deadline:
        time.sleep(0.0005)
    return node.session.counters["images"] + node.session.counters["audio_chunks"]


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    from react_ros.nodes.reaction_node import ReactionNode

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=random.randint(1, 100))
    params = {"backend": "torch", "robot_profile": "animatronic", "diagnostics_period_s": 0.25,
              "output_dir": str(tmp_path_factory.mktemp("sessions"))}
    node = ReactionNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    tester = rclpy.create_node(f"soak_{random.randint(0, 10**6)}", context=context)
    images = tester.create_publisher(Image, "/camera/image_raw", sensor_qos())
    audio = tester.create_publisher(UInt8MultiArray, "/audio", sensor_qos())
    joints: list[JointState] = []
    diagnostics: list[tuple[float, int, dict]] = []
    tester.create_subscription(JointState, "/react_ros/joint_commands", joints.append, 1000)
    tester.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diagnostics.append(
        (time.time(), m.status[0].level, {kv.key: kv.value for kv in m.status[0].values})), 100)
    executors = [SingleThreadedExecutor(context=context), SingleThreadedExecutor(context=context)]
    executors[0].add_node(node)
    executors[1].add_node(tester)
    for executor in executors:
        threading.Thread(target=executor.spin, daemon=True).start()
    deadline = time.monotonic() + 10
    while not (images.get_subscription_count() and audio.get_subscription_count()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)

    def stamps_of(messages) -> set[float]:
        return {round(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, 4) for m in messages}

    rng = np.random.default_rng(3)
    frame = np.full((64, 64, 3), 128, np.uint8)
    valid, answered, sent_bad, base = [], 0, 0, 0
    for _ in range(VALID_FRAMES):
        for k in range(BAD_PER_FRAME):  # the burst first: the valid frame is then the newest sample
            msg = malformed_image(rng) if k % 2 == 0 else malformed_audio(rng)
            if isinstance(msg, Image):
                stamp = GARBAGE_STAMPS[k % 3] if k % 10 == 0 else time.time()
                msg.header.stamp = seconds_to_stamp(stamp)
                images.publish(msg)
            else:
                audio.publish(msg)
            sent_bad += 1
            if k % 4 == 3:  # let the node take them: best effort keeps only the newest 5 per topic
                base = _catch_up(node, base + 4)
        now = time.time()
        audio.publish(make_audio_msg(np.zeros(533, np.int16), 16000, now - 533 / 16000))
        images.publish(bgr_to_image(frame, now))
        valid.append(round(now, 4))
        deadline = time.monotonic() + 3
        while round(now, 4) not in stamps_of(joints) and time.monotonic() < deadline:
            time.sleep(0.005)
        answered += round(now, 4) in stamps_of(joints)
        base = node.session.counters["images"] + node.session.counters["audio_chunks"]
    clean_from = time.time()
    for _ in range(30):  # one second of clean input
        now = time.time()
        audio.publish(make_audio_msg(np.zeros(533, np.int16), 16000, now - 533 / 16000))
        images.publish(bgr_to_image(frame, now))
        time.sleep(1 / 30)
    clean_until = time.time()
    time.sleep(0.6)
    result = {"clean_until": clean_until, "node": node, "valid": valid, "answered": answered, "sent_bad": sent_bad, "joints": list(joints),
              "diagnostics": list(diagnostics), "clean_from": clean_from}
    for executor in executors:
        executor.shutdown(timeout_sec=2.0)
    node.shutdown_gracefully()
    node.destroy_node()
    tester.destroy_node()
    context.try_shutdown()
    return result


def test_node_survives_the_soak_and_answers_every_valid_frame(soak):
    assert soak["sent_bad"] >= BAD_MESSAGES
    assert soak["answered"] == len(soak["valid"]) == VALID_FRAMES
    counters = soak["node"].session.totals()
    assert counters["errors"] == 0, dict(counters)  # every bad message was a counted BadMessage, not an exception
    received = counters["images"] + counters["audio_chunks"]
    assert received >= 0.95 * (soak["sent_bad"] + 2 * VALID_FRAMES), dict(counters)  # the soak reached the node
    assert min(counters["bad_images"], counters["bad_audio"]) > 0.3 * BAD_MESSAGES, dict(counters)


def test_no_command_carries_a_garbage_stamp(soak):
    stamps = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in soak["joints"]])
    assert np.all(np.abs(stamps - soak["clean_from"]) < 600)


def test_diagnostics_back_to_ok_after_clean_input(soak):
    # Reports while clean input flows (from one report period after it started): OK. Once input stops the
    # level is WARN again ("no input"), which is right for a camera that went silent.
    after = [ord(level) for t, level, _ in soak["diagnostics"] if soak["clean_from"] + 0.5 < t <= soak["clean_until"]]
    assert after and after[-1] == 0, after

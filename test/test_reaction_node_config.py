"""The reaction node with a configuration it cannot run with, its input QoS parameters and its stamped reaction.

With autostart (`ros2 launch`, `ros2 run`) a configuration error ends the process with status 1 and the reason:
a node that stays up unconfigured looks alive and does nothing. Without autostart a lifecycle manager owns the
node, so it stays up and /diagnostics says ERROR with the reason."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import ReliabilityPolicy  # noqa: E402

from react_ros import schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run_reaction_node(*params: str) -> subprocess.CompletedProcess:
    arguments = [a for p in params for a in ("-p", p)]
    return subprocess.run([sys.executable, "-m", "react_ros.nodes.reaction_node", "--ros-args", *arguments],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), ROS_DOMAIN_ID="97"))


@pytest.mark.parametrize("params,reason", [
    # the profile and crop mode are checked before the backend: a broken backend would otherwise be the reason
    (("robot_profile:=robbie", "backend:=tensorrt", "fallback_backend:=''"), "robot profile 'robbie' not found"),
    (("crop_mode:=square", "backend:=tensorrt", "fallback_backend:=''"), "crop_mode 'square'"),
    (("backend:=tensorrt", "fallback_backend:=''", "engine_dir:=/nonexistent/engines"), "tensorrt"),
    (("audio_type:=audio_common_stamped",), "audio_common_msgs"),
    (("input_reliability:=sometimes", "backend:=tensorrt", "fallback_backend:=''"), "reliability 'sometimes'"),
])
def test_a_configuration_error_exits_non_zero_with_the_reason(params, reason):
    result = run_reaction_node(*params)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert reason in output.lower() if reason == "tensorrt" else reason in output, output[-2000:]


@pytest.fixture()
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 100))
    yield ctx
    ctx.try_shutdown()


def make_node(context, **params):
    from react_ros.nodes.reaction_node import ReactionNode

    values = {"backend": "torch", "robot_profile": "animatronic", "diagnostics_period_s": 0.1}
    values.update(params)
    return ReactionNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])


def spin_until(context, nodes, predicate, timeout_s: float = 10.0) -> bool:
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    executor.shutdown(timeout_sec=1.0)
    return predicate()


def test_without_autostart_a_configuration_error_is_an_error_on_diagnostics(context):
    node = make_node(context, autostart=False, robot_profile="robbie")
    listener = rclpy.create_node("diagnostics_listener", context=context)
    received: list = []
    listener.create_subscription(DiagnosticArray, "/diagnostics", lambda m: received.append(m.status[0]), 10)
    try:
        assert spin_until(context, [node, listener], lambda: bool(received))
        assert ord(received[-1].level) == 1 and "not configured" in received[-1].message  # waiting, not broken
        node.trigger_configure()
        assert node.session is None  # still up, unconfigured
        received.clear()
        assert spin_until(context, [node, listener], lambda: bool(received))
        status = received[-1]
        assert ord(status.level) == 2 and "robot profile 'robbie' not found" in status.message
        assert {kv.key: kv.value for kv in status.values}["state"] == "unconfigured"
    finally:
        node.destroy_node()
        listener.destroy_node()


def test_input_qos_comes_from_the_parameters(context):
    node = make_node(context, input_reliability="reliable", input_depth=2)
    try:
        qos = {s.topic_name: s.qos_profile for s in node._inputs}
        for topic in ("/camera/image_raw", "/audio"):
            assert qos[topic].reliability == ReliabilityPolicy.RELIABLE and qos[topic].depth == 2
    finally:
        node.shutdown_gracefully()
        node.destroy_node()
    node = make_node(context)
    try:
        qos = {s.topic_name: s.qos_profile for s in node._inputs}
        assert qos["/camera/image_raw"].reliability == ReliabilityPolicy.BEST_EFFORT
        assert qos["/camera/image_raw"].depth == 5
    finally:
        node.shutdown_gracefully()
        node.destroy_node()


def test_the_stamped_reaction_carries_the_frame_stamp_and_the_attribute_names(context):
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import Float32MultiArray

    from react_ros.nodes.common import bgr_to_image, reliable_qos, seconds_to_stamp, sensor_qos

    node = make_node(context)
    tester = rclpy.create_node("stamped_tester", context=context)
    stamped, plain = [], []
    tester.create_subscription(JointState, "/react_ros/reaction_stamped", stamped.append, reliable_qos())
    tester.create_subscription(Float32MultiArray, "/react_ros/reaction", plain.append, reliable_qos())
    images = tester.create_publisher(Image, "/camera/image_raw", sensor_qos())
    frame = np.full((64, 64, 3), 128, np.uint8)
    try:
        assert spin_until(context, [node, tester], lambda: images.get_subscription_count() > 0)
        sent = []
        for k in range(5):
            sent.append(time.time())
            images.publish(bgr_to_image(frame, sent[-1]))
            spin_until(context, [node, tester], lambda k=k: len(stamped) > k and len(plain) > k, 5.0)
        assert len(stamped) == 5 and len(plain) == 5
        for message, stamp, flat in zip(stamped, sent, plain, strict=True):
            assert message.header.stamp == seconds_to_stamp(stamp)
            assert list(message.name) == list(schema.ATTRIBUTE_NAMES)
            np.testing.assert_allclose(message.position, flat.data, rtol=1e-6)
    finally:
        node.shutdown_gracefully()
        node.destroy_node()
        tester.destroy_node()


def test_compressed_camera_input_as_image_transport_publishes_it(context):
    """image_transport:=compressed: CompressedImage on <image_topic>/compressed; each frame answered with its stamp."""
    from sensor_msgs.msg import CompressedImage, JointState

    from react_ros.nodes.common import bgr_to_compressed, reliable_qos, sensor_qos

    node = make_node(context, image_transport="compressed")
    tester = rclpy.create_node("compressed_tester", context=context)
    stamped = []
    tester.create_subscription(JointState, "/react_ros/reaction_stamped", stamped.append, reliable_qos())
    images = tester.create_publisher(CompressedImage, "/camera/image_raw/compressed", sensor_qos())
    frame = np.full((48, 64, 3), 128, np.uint8)
    try:
        assert spin_until(context, [node, tester], lambda: images.get_subscription_count() > 0)
        sent = [msg.header.stamp for msg in (bgr_to_compressed(frame, time.time() + k * 0.033) for k in range(3))]
        for k, stamp in enumerate(sent):
            msg = bgr_to_compressed(frame, 0.0)
            msg.header.stamp = stamp
            images.publish(msg)
            spin_until(context, [node, tester], lambda k=k: len(stamped) > k, 5.0)
        assert [m.header.stamp for m in stamped] == sent
        assert node.session.totals()["bad_images"] == 0
    finally:
        node.shutdown_gracefully()
        node.destroy_node()
        tester.destroy_node()


def test_commands_carry_the_frame_stamp_exactly(context):
    """sec/nanosec as the driver sent them, not through a float (a float near 1.8e9 s holds only ~0.24 us)."""
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Image, JointState

    from react_ros.nodes.common import bgr_to_image, reliable_qos, seconds_to_stamp, sensor_qos, stamp_to_seconds

    node = make_node(context)
    tester = rclpy.create_node("exact_stamp_tester", context=context)
    stamped, joints = [], []
    tester.create_subscription(JointState, "/react_ros/reaction_stamped", stamped.append, reliable_qos())
    tester.create_subscription(JointState, "/react_ros/joint_commands", joints.append, reliable_qos(100))
    images = tester.create_publisher(Image, "/camera/image_raw", sensor_qos())
    frame = np.full((64, 64, 3), 128, np.uint8)
    now = int(time.time())
    sent = [Time(sec=now, nanosec=123_456_789 + k * 33_333_331) for k in range(4)]
    assert any(seconds_to_stamp(stamp_to_seconds(s)) != s for s in sent)  # a float round trip would move them
    try:
        assert spin_until(context, [node, tester], lambda: images.get_subscription_count() > 0)
        for k, stamp in enumerate(sent):
            images.publish(bgr_to_image(frame, stamp))
            spin_until(context, [node, tester], lambda k=k: len(stamped) > k, 5.0)
        assert [m.header.stamp for m in stamped] == sent
        def commanded() -> bool:
            stamps = [m.header.stamp for m in joints]
            return all(stamp in stamps for stamp in sent)

        assert spin_until(context, [node, tester], commanded, 5.0)
    finally:
        node.shutdown_gracefully()
        node.destroy_node()
        tester.destroy_node()


def test_bad_images_take_no_good_frames_place(context):
    """A flood of bad images between good frames (stamped ahead of them, ~10 per frame): every good frame is
    answered, none is called out of order, and dropped_frames counts no frame (none was lost)."""
    from builtin_interfaces.msg import Time

    from react_ros.nodes.common import bgr_to_image

    node = make_node(context)
    answered = []
    node.output_hooks.append(lambda command, wall: answered.append(command.stamp))
    frame = np.full((64, 64, 3), 128, np.uint8)
    start = time.time()
    try:
        for k in range(12):
            good = bgr_to_image(frame, start + k / 30)
            node._image(good)
            for j in range(10):  # stamped between this frame and the next one's, and after it
                bad = bgr_to_image(frame, start + k / 30 + 0.003 * (j + 1) + (0.04 if j % 2 else 0.0))
                bad.encoding = "nonsense"
                node._image(bad)
        totals = node.session.totals()
        assert len(answered) == 12, totals
        assert totals.get("out_of_order", 0) == 0 and totals["dropped_frames"] == 0, totals
        assert totals["bad_images"] == 120 and totals["unknown_encoding"] == 120
        assert isinstance(good.header.stamp, Time)
    finally:
        node.shutdown_gracefully()
        node.destroy_node()

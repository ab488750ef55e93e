"""Node configuration helpers (nodes/common.py) and configuration errors of the camera/microphone nodes: a
value the node cannot run with fails at start-up, clearly and with a non-zero exit, never silently."""
from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
from rclpy.qos import DurabilityPolicy, HistoryPolicy, ReliabilityPolicy  # noqa: E402

from react_ros.nodes.common import ConfigError, audio_message_type, clip_text, input_qos  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "react_ros" / "assets" / "demo_clip"


def test_input_qos_is_the_sensor_data_profile_with_parameters():
    default = input_qos()
    assert default.reliability == ReliabilityPolicy.BEST_EFFORT and default.depth == 5
    assert default.history == HistoryPolicy.KEEP_LAST and default.durability == DurabilityPolicy.VOLATILE
    reliable = input_qos("reliable", 2)
    assert reliable.reliability == ReliabilityPolicy.RELIABLE and reliable.depth == 2
    assert input_qos("BEST-EFFORT").reliability == ReliabilityPolicy.BEST_EFFORT


@pytest.mark.parametrize("reliability,depth", [("sometimes", 5), ("reliable", 0), ("reliable", 5.0),
                                               ("best_effort", True)])
def test_input_qos_rejects_bad_values(reliability, depth):
    with pytest.raises(ConfigError):
        input_qos(reliability, depth)


def test_audio_type_without_its_package_fails_instead_of_subscribing_another_type(monkeypatch):
    from std_msgs.msg import UInt8MultiArray

    assert audio_message_type("uint8_array") is UInt8MultiArray
    monkeypatch.setitem(sys.modules, "audio_common_msgs", None)  # not installed
    monkeypatch.setitem(sys.modules, "audio_common_msgs.msg", None)
    with pytest.raises(ConfigError, match="audio_common_msgs .* not installed"):
        audio_message_type("audio_common_stamped")
    with pytest.raises(ConfigError, match="expected one of"):
        audio_message_type("mp3")


def test_audio_type_names_the_incompatible_package_of_the_same_name(monkeypatch):
    package = types.ModuleType("audio_common_msgs")
    other = types.ModuleType("audio_common_msgs.msg")
    other.AudioStamped = type("AudioStamped", (), {})  # mgonzs13/audio_common
    package.msg = other
    monkeypatch.setitem(sys.modules, "audio_common_msgs", package)
    monkeypatch.setitem(sys.modules, "audio_common_msgs.msg", other)
    with pytest.raises(ConfigError, match="different package"):
        audio_message_type("audio_common_stamped")
    other.AudioDataStamped = type("AudioDataStamped", (), {})  # ros-drivers/audio_common
    assert audio_message_type("audio_common_stamped") is other.AudioDataStamped


def test_clip_text_bounds_what_a_log_line_quotes():
    assert clip_text("bgr8") == "'bgr8'"
    long = clip_text("y" * 100_000)
    assert len(long) < 120 and long.startswith("'yyy") and long.endswith(f"(+{100_002 - 80} chars)")
    assert clip_text(b"\x00" * 10**6) == "<1000000 bytes>"


def _run_node(module: str, *params: str) -> subprocess.CompletedProcess:
    arguments = [a for p in params for a in ("-p", p)]
    return subprocess.run([sys.executable, "-m", module, "--ros-args", *arguments], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT), ROS_DOMAIN_ID="96"))


def test_camera_node_exits_non_zero_on_a_bad_qos_parameter():
    result = _run_node("react_ros.nodes.camera_node", f"video_file:={CLIP / 'speaker.mp4'}", "reliability:=sometimes")
    assert result.returncode == 1
    assert "reliability 'sometimes'" in result.stdout + result.stderr


def test_microphone_node_exits_non_zero_on_a_bad_depth_or_file():
    result = _run_node("react_ros.nodes.microphone_node", f"wav_file:={CLIP / 'speaker.wav'}", "depth:=0")
    assert result.returncode == 1 and "parameter depth = 0 refused" in result.stdout + result.stderr
    result = _run_node("react_ros.nodes.microphone_node", "wav_file:=/nonexistent.wav")
    assert result.returncode == 1 and "nonexistent.wav" in result.stdout + result.stderr


def test_input_subscription_takes_parameters_and_qos_overrides():
    import random

    import rclpy
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from react_ros.nodes.common import create_input_subscription

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=random.randint(1, 100))
    try:
        plain = rclpy.create_node("qos_plain", context=context)
        reliable = create_input_subscription(plain, Image, "/a", lambda m: None, "reliable", 3)
        assert reliable.qos_profile.reliability == ReliabilityPolicy.RELIABLE and reliable.qos_profile.depth == 3
        overridden = rclpy.create_node("qos_overridden", context=context, parameter_overrides=[
            Parameter("qos_overrides./b.subscription.reliability", value="reliable"),
            Parameter("qos_overrides./b.subscription.depth", value=1)])
        subscription = create_input_subscription(overridden, Image, "/b", lambda m: None)
        assert subscription.qos_profile.reliability == ReliabilityPolicy.RELIABLE
        assert subscription.qos_profile.depth == 1
        plain.destroy_node()
        overridden.destroy_node()
    finally:
        context.try_shutdown()


def test_compressed_images_decode_as_image_transport_makes_them():
    import cv2
    from sensor_msgs.msg import CompressedImage

    from react_ros.nodes.common import BadMessage, bgr_to_compressed, compressed_to_bgr

    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :32] = (255, 0, 0)  # blue on the left: the channel order survives the round trip
    decoded = compressed_to_bgr(bgr_to_compressed(image, 1.5))
    assert decoded.shape == (48, 64, 3) and decoded[24, 8, 0] > 200 and decoded[24, 8, 2] < 50
    png = CompressedImage(format="png", data=cv2.imencode(".png", image)[1].tobytes())
    np.testing.assert_array_equal(compressed_to_bgr(png), image)
    for msg, reason in ((CompressedImage(format="16UC1; compressedDepth png", data=b"x"), "unknown_encoding"),
                        (CompressedImage(format="jpeg", data=b""), "empty_image"),
                        (CompressedImage(format="jpeg", data=b"not a jpeg"), "bad_image_size")):
        with pytest.raises(BadMessage) as error:
            compressed_to_bgr(msg)
        assert error.value.reason == reason


@pytest.mark.parametrize("module", ["reaction_node", "camera_node", "microphone_node", "vmc_node"])
def test_a_sigint_while_a_node_is_still_starting_exits_quietly(module, monkeypatch):
    """A launch that stops because another required node died sends SIGINT to the others, maybe while they are
    still importing (before nodes/runtime installs its handler): seen in CI as a KeyboardInterrupt traceback from
    the reaction node. Every node's main exits 0 without one."""
    import importlib

    import react_ros.nodes.runtime as runtime

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runtime, "spin_nodes", interrupted)
    assert importlib.import_module(f"react_ros.nodes.{module}").main([]) == 0

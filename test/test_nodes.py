"""The reaction node over real rclpy topics: commands at the camera rate, labelled reactions, bad input,
input gaps (the face eases to neutral), lifecycle, recording.

Each test module uses its own random ROS domain so parallel test sessions do not hear each other.
"""
from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image, JointState  # noqa: E402
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, UInt8MultiArray  # noqa: E402

from react_ros import schema  # noqa: E402
from react_ros.data.audio_io import read_wav  # noqa: E402
from react_ros.data.democlip import default_clip  # noqa: E402
from react_ros.face.video import read_video  # noqa: E402
from react_ros.nodes.common import bgr_to_image, make_audio_msg, sensor_qos  # noqa: E402
from react_ros.nodes.reaction_node import ReactionNode  # noqa: E402
from react_ros.robot import load_profile  # noqa: E402

FPS = 30.0


@pytest.fixture(scope="module")
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 100))
    yield ctx
    ctx.try_shutdown()


@pytest.fixture(scope="module")
def clip():
    video, wav = default_clip()
    samples, rate = read_wav(wav)
    return read_video(video)[:150], samples, rate


class Harness:
    """A tester node that plays frames + audio and collects the reaction node's outputs."""

    def __init__(self, context, node: ReactionNode):
        self.node = node
        self.tester = rclpy.create_node(f"tester_{random.randint(0, 10**6)}", context=context)
        self.images = self.tester.create_publisher(Image, "/camera/image_raw", sensor_qos())
        self.audio = self.tester.create_publisher(UInt8MultiArray, "/audio", sensor_qos())
        self.joints: list[tuple[float, JointState]] = []
        self.reactions: list[Float32MultiArray] = []
        self.diagnostics: list[dict[str, str]] = []
        self.tester.create_subscription(JointState, "/react_ros/joint_commands",
                                        lambda m: self.joints.append((time.monotonic(), m)), 100)
        self.tester.create_subscription(Float32MultiArray, "/react_ros/reaction", self.reactions.append, 100)
        self.tester.create_subscription(
            DiagnosticArray, "/diagnostics",
            lambda m: self.diagnostics.append({kv.key: kv.value for kv in m.status[0].values}), 10)
        # One executor per node, as in react-ros run (a shared MultiThreadedExecutor starves callbacks).
        self.executors = [SingleThreadedExecutor(context=context), SingleThreadedExecutor(context=context)]
        self.executors[0].add_node(node)
        self.executors[1].add_node(self.tester)
        for executor in self.executors:
            threading.Thread(target=executor.spin, daemon=True).start()
        self._wait_for_match()

    def _wait_for_match(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if (self.images.get_subscription_count() and self.audio.get_subscription_count()
                    and self.tester.count_publishers("/react_ros/joint_commands")):
                time.sleep(0.3)
                return
            time.sleep(0.05)
        raise AssertionError("the reaction node's topics never matched")

    def play(self, frames, samples, rate, start: int = 0, count: int | None = None) -> list[float]:
        """Real-time playback: audio up to the end of each frame, then the frame. Returns the stamps."""
        stamps = []
        origin = time.time() - start / FPS
        t0 = time.monotonic()
        count = len(frames) - start if count is None else count
        position = int(start * rate / FPS)
        for k in range(start, start + count):
            end = int(np.ceil((k + 1) * rate / FPS))
            chunk = samples[position:end]
            self.audio.publish(make_audio_msg(chunk, rate, origin + position / rate))
            position = end
            stamp = origin + k / FPS
            self.images.publish(bgr_to_image(frames[k % len(frames)], stamp))
            stamps.append(stamp)
            delay = t0 + (k - start + 1) / FPS - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return stamps

    def wait(self, predicate, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def close(self) -> None:
        for executor in self.executors:
            executor.shutdown(timeout_sec=2.0)
        self.node.shutdown_gracefully()
        self.node.destroy_node()
        self.tester.destroy_node()


def make_node(context, tmp_path, **params) -> ReactionNode:
    values = {"backend": "torch", "robot_profile": "animatronic", "diagnostics_period_s": 0.5,
              "output_dir": str(tmp_path), "participant_id": "P01", "condition": "model"}
    values.update(params)
    return ReactionNode(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])


def test_commands_at_the_camera_rate_with_the_profile_joints(context, clip, tmp_path):
    frames, samples, rate = clip
    node = make_node(context, tmp_path, record=True, record_raw_media=False)
    assert node.active and node.recording.active
    harness = Harness(context, node)
    try:
        stamps = {round(s, 3) for s in harness.play(frames, samples, rate, count=60)}
        counters = node.session.counters

        def answered() -> set[float]:
            return {_stamp(m) for _, m in harness.joints if _stamp(m) in stamps}

        # One command per camera frame the node received, stamped with that frame's stamp. Best-effort transport
        # may lose a frame on a loaded machine (the node counts it in dropped_frames); the node must answer the rest.
        harness.wait(lambda: len(answered()) >= counters["images"] - counters["bad_stamps"], timeout=10)
        received = counters["images"] - counters["bad_stamps"]
        got = sorted(answered())
        assert len(got) == received >= 50, f"{len(got)} frames answered: {dict(counters)}"
        profile = load_profile("animatronic")
        commands = [m for _, m in harness.joints if _stamp(m) in stamps]
        assert np.median(np.diff(got)) == pytest.approx(1 / FPS, abs=2e-3)
        for message in commands:
            assert list(message.name) == profile.names
            q = np.array(message.position)
            assert np.all(q >= profile.lower - 1e-9) and np.all(q <= profile.upper + 1e-9)
        # The reaction topic: 25 labelled values in their ranges.
        assert len(harness.reactions) >= len(got)
        reaction = harness.reactions[-1]
        assert reaction.layout.dim[0].label.split(",") == list(schema.ATTRIBUTE_NAMES)
        values = np.array(reaction.data)
        assert values.shape == (25,) and np.all(values >= schema.LOWER - 1e-6) and np.all(values <= schema.UPPER + 1e-6)
        assert harness.wait(lambda: any(d.get("face_present") == "1.00" for d in harness.diagnostics), 3)
        diagnostics = harness.diagnostics[-1]
        assert diagnostics["backend"] == "torch" and diagnostics["reaction_model_sha256"]
        assert float(diagnostics["latency_front_end_ms_median"]) > 0
        assert "latency_end_to_end_ms_p99" in diagnostics
        assert float(max(d["audio_present"] for d in harness.diagnostics)) > 0.9
    finally:
        harness.close()
    from react_ros.recording import read_messages, read_metadata

    recording = node.last_recording
    topics = {m.topic for m in read_messages(recording)}
    assert {"/react_ros/joint_commands", "/react_ros/reaction", "/react_ros/features/speaker",
            "/react_ros/features/audio"} <= topics
    assert "/camera/image_raw" not in topics and "/audio" not in topics  # features only
    metadata = read_metadata(recording)
    assert metadata["session"]["participant_id"] == "P01" and metadata["session"]["condition"] == "model"
    assert metadata["model"]["backend"] == "torch"


def _stamp(message) -> float:
    return round(message.header.stamp.sec + message.header.stamp.nanosec * 1e-9, 3)


def test_bad_messages_are_counted_and_the_node_keeps_running(context, clip, tmp_path):
    frames, samples, rate = clip
    node = make_node(context, tmp_path)
    harness = Harness(context, node)
    try:
        harness.play(frames, samples, rate, count=10)
        bad = bgr_to_image(frames[0], time.time())
        bad.encoding = "yuv422_weird"
        harness.images.publish(bad)
        empty = Image()
        empty.encoding = "bgr8"
        harness.images.publish(empty)
        short = bgr_to_image(frames[0], time.time())
        short.data = bytes(short.data)[:100]
        harness.images.publish(short)
        nan_image = Image()
        nan_image.header = bad.header
        nan_image.encoding, nan_image.height, nan_image.width, nan_image.step = "32FC1", 8, 8, 32
        nan_image.data = np.full((8, 8), np.nan, "<f4").tobytes()
        harness.images.publish(nan_image)
        odd = make_audio_msg(np.zeros(100, np.int16), 16000, time.time())
        odd.data = bytes(odd.data)[:-1]
        odd.layout.dim = []
        harness.audio.publish(odd)
        wrong = make_audio_msg(np.zeros(100, np.int16), 16000, time.time())
        wrong.layout.dim[0] = MultiArrayDimension(label="samples", size=999, stride=0)
        harness.audio.publish(wrong)
        time.sleep(0.2)
        before = len(harness.joints)
        harness.play(frames, samples, rate, start=20, count=15)
        assert harness.wait(lambda: len(harness.joints) >= before + 14)

        def counted() -> bool:
            d = harness.diagnostics[-1] if harness.diagnostics else {}
            return (int(d.get("unknown_encoding", 0)) >= 1 and int(d.get("empty_image", 0)) >= 1
                    and int(d.get("bad_image_size", 0)) >= 1 and int(d.get("odd_audio_bytes", 0)) >= 1
                    and int(d.get("bad_audio_layout", 0)) >= 1)

        assert harness.wait(counted, 8), (harness.diagnostics[-1:], node.session.totals())
        d = harness.diagnostics[-1]
        assert int(d["bad_images"]) >= 3 and int(d["bad_audio"]) >= 2
        assert node.active and int(d["errors"]) == 0
        # The NaN float image was read as a frame without a face, not as a crash.
        # (the faceless frames may have made the speaker absent: the source was reset, its earlier counts kept)
        assert node.session._earlier.images + node.session.source.stats.images >= 26
    finally:
        harness.close()


def test_face_eases_to_neutral_during_an_input_gap(context, clip, tmp_path):
    frames, samples, rate = clip
    node = make_node(context, tmp_path, input_timeout_s=0.3, watchdog_rate_hz=50.0, smoothing_s=0.0)
    harness = Harness(context, node)
    profile = load_profile("animatronic")
    try:
        harness.play(frames, samples, rate, count=45)
        assert harness.wait(lambda: len(harness.joints) >= 40)
        harness.wait(lambda: time.monotonic() - harness.joints[-1][0] > 0.15, 2)  # the last frames are through
        gap_start = time.monotonic()
        time.sleep(10.0)  # a 10 s input gap
        during = [(t, np.array(m.position)) for t, m in harness.joints if t > gap_start]
        assert len(during) > 100, "the watchdog must keep commanding the face during the gap"
        final = during[-1][1]
        np.testing.assert_allclose(final, profile.neutral, atol=1e-3)
        distances = [np.abs(q - profile.neutral).max() for _, q in during]
        assert all(b <= a + 1e-9 for a, b in zip(distances, distances[1:], strict=False))  # never away from neutral
        for (_, q0), (_, q1) in zip(during, during[1:], strict=False):
            assert np.all(np.abs(q1 - q0) <= profile.max_velocity * 0.1 + 1e-9)  # rate limited (dt cap 0.1 s)
        assert harness.diagnostics[-1]["stale"] == "true"
        # Input comes back: commands follow the camera again, with a fresh speaker context.
        count = len(harness.joints)
        harness.play(frames, samples, rate, start=50, count=15)
        assert harness.wait(lambda: len(harness.joints) >= count + 14)
        assert harness.wait(lambda: harness.diagnostics[-1]["stale"] == "false", 2)
        d = harness.diagnostics[-1]
        assert int(d["input_gaps"]) >= 1 and int(d["context_resets"]) == 1
    finally:
        harness.close()


def test_lifecycle_without_autostart(context, tmp_path):
    from lifecycle_msgs.msg import State

    node = make_node(context, tmp_path, autostart=False, robot_profile="screen_face")
    try:
        assert node.session is None and not node.active
        node.trigger_configure()
        assert node.session is not None and not node.active
        node.trigger_activate()
        assert node.active
        assert node._state_machine.current_state[0] == State.PRIMARY_STATE_ACTIVE
        node.trigger_deactivate()
        assert not node.active and node.session.motion.at_neutral()
    finally:
        node.destroy_node()


def test_watchdog_eases_to_neutral_when_the_generator_stalls(context, clip, tmp_path):
    """A stuck inference call (e.g. a GPU hiccup): the face holds its pose for `input_timeout_s`, then the
    watchdog moves the joints toward neutral, rate limited, while the generator is still stuck."""
    frames, samples, rate = clip
    timeout, stall = 0.5, 2.0  # a stall shorter than reset_after_gap_s (3 s), which would start a fresh context
    node = make_node(context, tmp_path, input_timeout_s=timeout, watchdog_rate_hz=50.0, smoothing_s=0.0)
    assert node.session.motion.config.stale_after_s == timeout  # the parameter is the watchdog's delay, unscaled
    profile = load_profile("animatronic")
    pipeline = node.session.source.pipeline  # the model pipeline under the study conditions (study/live.py)
    original = pipeline._push_generator
    calls = {"n": 0}
    stalled: dict[str, float] = {}

    def stalling(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 20:
            stalled["start"] = time.monotonic()
            time.sleep(stall)
            stalled["end"] = time.monotonic()
        return original(*args, **kwargs)

    pipeline._push_generator = stalling
    harness = Harness(context, node)
    profile = load_profile("animatronic")
    try:
        harness.play(frames, samples, rate, count=120)
        assert harness.wait(lambda: calls["n"] >= 22, 10)
        in_flight = stalled["start"] + 0.1  # a model command published just before the stall may arrive after it
        before = [(t, np.array(m.position)) for t, m in harness.joints if t < in_flight]
        during = [(t, np.array(m.position)) for t, m in harness.joints if in_flight <= t < stalled["end"]]
        assert before and len(during) > 10, "the face must keep being commanded during the stall"
        last_model_time, held = before[-1]
        # Held until the delay, easing from the first watchdog command after it (0.5 s of scheduling slack:
        # a watchdog waiting 3x its delay would start 1 s late).
        first_time = during[0][0] - last_model_time
        assert timeout - 0.05 <= first_time <= timeout + 0.5, first_time
        distances = [np.abs(q - profile.neutral).max() for _, q in during]
        assert all(b <= a + 1e-9 for a, b in zip(distances, distances[1:], strict=False))  # only toward neutral
        assert np.abs(held - profile.neutral).max() > 5e-3  # a pose away from neutral to begin with ...
        np.testing.assert_allclose(during[-1][1], profile.neutral, atol=1e-3)  # ... and neutral before the stall ends
        for (_, q0), (_, q1) in zip([before[-1]] + during, during, strict=False):
            assert np.all(np.abs(q1 - q0) <= profile.max_velocity * 0.1 + 1e-9)  # rate limited (dt cap 0.1 s)
        # Frames that queued up during the stall are dropped by the sensor-data QoS (keep last 5) ...
        assert node.session.totals()["dropped_frames"] > 0  # ... and counted from the gaps in the camera stamps
        assert node.session.totals()["input_gaps"] >= 1 and node.active
    finally:
        harness.close()


def test_recording_starts_and_stops_by_service_and_parameter(context, clip, tmp_path):
    srv = pytest.importorskip("std_srvs.srv")
    frames, samples, rate = clip
    node = make_node(context, tmp_path)
    harness = Harness(context, node)
    try:
        client = harness.tester.create_client(srv.SetBool, "/reaction_node/set_recording")
        assert client.wait_for_service(timeout_sec=5.0)
        future = client.call_async(srv.SetBool.Request(data=True))
        assert harness.wait(future.done, 5) and future.result().success
        assert node.recording.active and future.result().message.endswith(".mcap")
        harness.play(frames, samples, rate, count=10)
        harness.wait(lambda: len(harness.joints) >= 9)
        node.set_parameters([Parameter("record", value=False)])  # the parameter works as well
        assert not node.recording.active and node.last_recording.is_file()
        from react_ros.recording import read_messages

        assert any(m.topic == "/camera/image_raw" for m in read_messages(node.last_recording))
    finally:
        harness.close()


def test_backend_fallback_is_shown_on_diagnostics(context, tmp_path):
    """TensorRT asked for, its engine missing: the node runs on ONNX Runtime and /diagnostics says so (WARN)."""
    from react_ros.export.prepare import ensure_onnx_export

    ensure_onnx_export(None)  # what the fallback loads (react-ros run does this too)
    node = make_node(context, tmp_path, backend="tensorrt", fallback_backend="onnxruntime",
                     engine_dir=str(tmp_path / "no_engines"))
    levels: list = []
    harness = Harness(context, node)
    harness.tester.create_subscription(DiagnosticArray, "/diagnostics",
                                       lambda m: levels.append(m.status[0].level), 10)
    try:
        assert node.active
        assert harness.wait(lambda: bool(harness.diagnostics) and bool(levels), 5)
        d = harness.diagnostics[-1]
        assert d["backend"] == "onnxruntime" and d["requested_backend"] == "tensorrt"
        assert "tensorrt" in d["fallback_reason"].lower()
        assert levels[-1] == DiagnosticStatus.WARN
    finally:
        harness.close()

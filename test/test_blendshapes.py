"""The reaction as the 52 ARKit blendshapes: the mapping's directions on the demo clip, the profile's motion
safety, the VMC stream as a receiver sees it, and `react-ros run --vmc` end to end (topic, recording, VMC)."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.robot import MotionConfig, MotionController
from react_ros.robot.arkit import ARKIT_BLENDSHAPES, load_arkit_profile, mapping_table
from react_ros.robot.vmc import VmcSender, parse_address

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("pythonosc")


def demo_clip_attributes() -> np.ndarray:
    """The bundled demo clip's speaker attributes (the clip is rendered from these, same seed)."""
    from react_ros.data.synthetic.people import make_script, speaker_from_script

    length = 480
    script = make_script(np.random.default_rng((0, 0)), length)
    return speaker_from_script(np.random.default_rng((0, 0, 0)), script, length).attributes


def weights_over_time(reactions: np.ndarray) -> np.ndarray:
    """The commanded weights at 30 fps through the profile's motion safety (smoothing, velocity limits)."""
    controller = MotionController(load_arkit_profile(), MotionConfig())
    return np.array([controller.update(frame, k / schema.FPS) for k, frame in enumerate(reactions)])


def shape(weights: np.ndarray, name: str) -> np.ndarray:
    return weights[..., ARKIT_BLENDSHAPES.index(name)]


def test_profile_is_the_52_arkit_shapes_at_rest_on_a_neutral_face():
    profile = load_arkit_profile()
    assert len(profile.names) == 52 and tuple(profile.names) == ARKIT_BLENDSHAPES
    assert np.all(profile.map(schema.neutral_frame()) == 0.0)
    assert np.all(profile.lower == 0.0) and np.all(profile.upper == 1.0)


@pytest.mark.parametrize("au, rises, stays", [
    ("AU12", ("mouthSmileLeft", "mouthSmileRight"), ("mouthFrownLeft", "mouthFrownRight")),
    ("AU1", ("browInnerUp",), ("browDownLeft", "browDownRight")),
    ("AU2", ("browOuterUpLeft", "browOuterUpRight"), ("browDownLeft", "browDownRight")),
    ("AU26", ("jawOpen",), ("mouthClose", "mouthPressLeft")),
    ("AU4", ("browDownLeft", "browDownRight"), ("browInnerUp", "browOuterUpLeft")),
    ("AU15", ("mouthFrownLeft", "mouthFrownRight"), ("mouthSmileLeft", "mouthSmileRight")),
])
def test_raising_an_au_on_every_demo_clip_frame_raises_its_shapes_and_no_opposite(au, rises, stays):
    profile = load_arkit_profile()
    frames = demo_clip_attributes()
    raised = frames.copy()
    raised[:, schema.index_of(au)] = np.minimum(raised[:, schema.index_of(au)] + 0.3, 1.0)
    room = raised[:, schema.index_of(au)] - frames[:, schema.index_of(au)] > 0.05  # frames the AU could rise on
    before = np.array([profile.map(f) for f in frames])
    after = np.array([profile.map(f) for f in raised])
    for name in rises:
        unsaturated = room & (shape(before, name) < 0.95)
        assert unsaturated.sum() > 100
        assert np.all(shape(after, name)[unsaturated] > shape(before, name)[unsaturated] + 0.01), name
    for name in stays:
        assert np.all(shape(after, name) <= shape(before, name) + 1e-9), name


@pytest.mark.parametrize("au, names", [("AU1", ("browInnerUp",)), ("AU2", ("browOuterUpLeft", "browOuterUpRight")),
                                       ("AU26", ("jawOpen",))])
def test_the_commanded_weights_follow_the_demo_clips_aus_over_time(au, names):
    frames = demo_clip_attributes()
    weights = weights_over_time(frames)
    drive = frames[:, schema.index_of(au)]
    assert drive.max() - drive.min() > 0.5  # the clip moves this AU
    for name in names:
        corr = np.corrcoef(drive, shape(weights, name))[0, 1]  # other inputs (AU25, expressions) drive it too
        assert corr > 0.75, (name, corr)
        high, low = drive > np.quantile(drive, 0.9), drive <= np.quantile(drive, 0.5)
        assert shape(weights, name)[high].mean() > shape(weights, name)[low].mean() + 0.2


def test_a_smile_is_eased_in_within_the_velocity_limits_and_out_by_the_watchdog():
    profile = load_arkit_profile()
    controller = MotionController(profile, MotionConfig())
    smile = schema.neutral_frame()
    smile[schema.index_of("AU12")] = 1.0
    previous = controller.positions.copy()
    for k in range(1, 31):
        now = k / schema.FPS
        positions = controller.update(smile, now)
        assert np.all(np.abs(positions - previous) <= profile.max_velocity / schema.FPS + 1e-9)
        previous = positions
    assert shape(positions, "mouthSmileLeft") > 0.85
    for k in range(31, 120):  # no more input: the watchdog takes the face back to rest
        positions = controller.tick(k / schema.FPS)
    assert controller.at_neutral() and shape(positions, "mouthSmileLeft") == 0.0


def test_the_docs_show_the_profiles_mapping_table():
    assert mapping_table() in (ROOT / "docs" / "human_face.md").read_text()


def test_a_profile_that_is_not_the_arkit_set_is_rejected(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nkind: joints\njoints:\n  - {name: smile, inputs: {AU12: 1.0}, min: 0, max: 1}\n")
    with pytest.raises(ValueError, match="52 ARKit blendshapes"):
        load_arkit_profile(path)


def test_vmc_addresses_parse_or_say_what_is_wrong():
    assert parse_address("10.0.0.5:40000") == ("10.0.0.5", 40000)
    assert parse_address("avatar-pc") == ("avatar-pc", 39539)
    assert parse_address(":40001") == ("127.0.0.1", 40001)
    with pytest.raises(ValueError, match="must be a number"):
        parse_address("host:abc")
    with pytest.raises(ValueError, match="outside"):
        parse_address("host:70000")


class VmcReceiver:
    """A VMC marionette in the test: collects every applied frame as {name: weight}."""

    def __init__(self) -> None:
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        self.frames: list[dict[str, float]] = []
        self._pending: dict[str, float] = {}
        self.applied = threading.Event()
        dispatcher = Dispatcher()
        dispatcher.map("/VMC/Ext/Blend/Val", self._value)
        dispatcher.map("/VMC/Ext/Blend/Apply", self._apply)
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _value(self, address, name, weight) -> None:
        self._pending[name] = weight

    def _apply(self, address) -> None:
        self.frames.append(self._pending)
        self._pending = {}
        self.applied.set()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    vmc = VmcReceiver()
    yield vmc
    vmc.close()


def test_a_vmc_receiver_sees_each_frame_whole_and_applied(receiver):
    profile = load_arkit_profile()
    smile = schema.neutral_frame()
    smile[schema.index_of("AU12")] = 1.0
    weights = profile.map(smile)
    sender = VmcSender("127.0.0.1", receiver.port)
    sender.send(profile.names, weights)
    assert receiver.applied.wait(5.0)
    frame = receiver.frames[0]
    assert list(frame) == list(ARKIT_BLENDSHAPES)  # every shape, in order, before the Apply
    assert frame["mouthSmileLeft"] == pytest.approx(weights[ARKIT_BLENDSHAPES.index("mouthSmileLeft")], abs=1e-6)
    assert frame["mouthSmileLeft"] > 0.8 and frame["mouthFrownLeft"] == 0.0
    receiver.applied.clear()
    sender.send(["jawOpen"], [float("nan")])  # a bad value never reaches the avatar as NaN
    assert receiver.applied.wait(5.0) and receiver.frames[1] == {"jawOpen": 0.0}
    with pytest.raises(ValueError, match="names but"):
        sender.send(["jawOpen"], [0.1, 0.2])
    sender.close()


def test_react_ros_run_vmc_publishes_records_and_streams_the_blendshapes(tmp_path, receiver):
    pytest.importorskip("rclpy")
    from react_ros.recording import read_messages

    out = tmp_path / "run"
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 100)), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "react_ros.cli", "run", "--fast", "--backend", "onnxruntime", "--seconds", "6",
         "--vmc", f"127.0.0.1:{receiver.port}", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    mcap = next(out.glob("*.mcap"))
    profile = load_arkit_profile()
    reactions, commands, paired = [], [], []  # paired: the command published with each reaction
    for message in read_messages(mcap):
        if message.topic == "/react_ros/reaction":
            reactions.append(np.array(message.message.data))
            paired.append(commands[-1])  # the node records a frame's command, then its reaction
        elif message.topic == "/react_ros/joint_commands":
            assert tuple(message.message.name) == ARKIT_BLENDSHAPES  # names + weights, stamped
            assert message.message.header.stamp.sec > 0
            commands.append(np.array(message.message.position))
    assert len(reactions) >= 170 and len(commands) >= len(reactions)
    # The avatar saw the same face commands the topic carried, ending at rest (the shutdown ease).
    assert len(receiver.frames) >= len(reactions)
    last = receiver.frames[-1]
    assert list(last) == list(ARKIT_BLENDSHAPES)
    assert np.allclose([last[n] for n in ARKIT_BLENDSHAPES], commands[-1], atol=1e-6)
    assert np.allclose(commands[-1], 0.0, atol=1e-3)
    # Each commanded weight is the profile's map of the published reaction, smoothed and rate-limited at the
    # node's own clock (and eased towards rest by the watchdog whenever a loaded machine makes a frame wait
    # longer than input_timeout_s: at load 13 on 2 cores the commands kept 43 % of the swing): where the map
    # asks for more, the robot commanded more.
    mapped = np.array([profile.map(r) for r in reactions])
    paired = np.array(paired)
    moving = [k for k in range(52) if np.std(mapped[:, k]) > 0.01]
    assert moving, "the demo model's reactions moved no blendshape"
    for k in moving:
        high, low = mapped[:, k] >= np.quantile(mapped[:, k], 0.75), mapped[:, k] <= np.quantile(mapped[:, k], 0.25)
        assert paired[high, k].mean() > paired[low, k].mean() + 0.1 * (mapped[high, k].mean() - mapped[low, k].mean()), \
            ARKIT_BLENDSHAPES[k]

"""Cameras and microphones (`react_ros.capture`, `react-ros run --camera N --mic`): frames from a (fake) device
through the frame source and the camera node, and a clear error naming the device when it is not there or pyaudio
is not installed. This machine has no camera and no microphone, so devices are fakes or indices that do not exist."""
from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from react_ros.capture import DeviceError, OpenCVFrames, check_camera, check_microphone, open_frames, open_microphone

MISSING_CAMERA = 57  # no machine the tests run on has 58 cameras


class FakeCapture:
    """cv2.VideoCapture's shape over a list of frames (a camera that gives `frames`, then nothing)."""

    def __init__(self, frames, opened: bool = True, fps: float = 25.0) -> None:
        self.frames, self.opened, self.fps = list(frames), opened, fps
        self.released = False

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return self.opened

    def read(self):
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def get(self, prop):
        return self.fps if prop == 5 else 0.0

    def set(self, prop, value):
        return False

    def release(self):
        self.released = True


def frames(n: int = 3) -> list[np.ndarray]:
    return [np.full((48, 64, 3), 10 * k, np.uint8) for k in range(n)]


def test_a_fake_camera_gives_its_frames_in_order_then_none():
    opened = []

    def opener(source):
        opened.append(source)
        return FakeCapture(frames())

    source = open_frames("2", opener)  # a string of digits is a camera index, as on the command line
    assert opened == [2] and source.is_camera and source.rate == 25.0
    assert [int(source.read()[0, 0, 0]) for _ in range(3)] == [0, 10, 20]
    assert source.read() is None
    assert not source.rewind()  # a camera cannot be rewound
    source.release()
    assert source.capture.released


def test_a_missing_or_silent_camera_is_an_error_naming_it():
    with pytest.raises(DeviceError, match="camera 3: cannot be opened"):
        open_frames(3, lambda index: FakeCapture([], opened=False))
    with pytest.raises(DeviceError, match="camera 4: opened but gave no frame"):
        check_camera(4, lambda index: FakeCapture([]))
    assert check_camera(5, lambda index: FakeCapture(frames(1))) == (64, 48)
    with pytest.raises(DeviceError, match=f"camera {MISSING_CAMERA}"):  # the real OpenCV, no such device
        check_camera(MISSING_CAMERA)


def test_video_files_play_and_rewind(tmp_path):
    from react_ros.data.democlip import default_clip

    video, _ = default_clip()
    source = open_frames(video)
    first = source.read()
    assert first is not None and first.dtype == np.uint8 and not source.is_camera
    assert source.rewind()
    np.testing.assert_array_equal(source.read(), first)
    source.release()
    with pytest.raises(DeviceError, match="video file not found"):
        open_frames(tmp_path / "missing.mp4")


class FakePyAudio:
    """pyaudio's module shape: one input device (index 1, 'USB mic'); index 0 is an output."""

    paInt16, paContinue = 8, 0
    streams: list = []

    class PyAudio:
        def get_default_input_device_info(self):
            return self.get_device_info_by_index(1)

        def get_device_info_by_index(self, index):
            devices = {0: {"name": "speakers", "maxInputChannels": 0}, 1: {"name": "USB mic", "maxInputChannels": 1}}
            if index not in devices:
                raise OSError("Invalid device index")
            return devices[index]

        def open(self, **kwargs):
            stream = FakeStream(kwargs)
            FakePyAudio.streams.append(stream)
            return stream

        def terminate(self):
            pass


class FakeStream:
    def __init__(self, kwargs) -> None:
        self.kwargs, self.started = kwargs, False

    def start_stream(self):
        self.started = True


def test_microphone_checks_name_the_device():
    assert check_microphone(-1, FakePyAudio) == "USB mic"
    with pytest.raises(DeviceError, match="microphone 5: no such input device"):
        check_microphone(5, FakePyAudio)
    with pytest.raises(DeviceError, match="microphone 0: 'speakers' has no input channels"):
        check_microphone(0, FakePyAudio)


def test_microphone_chunks_arrive_as_int16_with_the_first_sample_stamp():
    chunks = []
    _, stream = open_microphone(1, 16000, 1, 512, lambda pcm, stamp: chunks.append((pcm, stamp)),
                                clock=lambda: 100.0, pyaudio_module=FakePyAudio)
    assert stream.started and stream.kwargs["input_device_index"] == 1 and stream.kwargs["rate"] == 16000
    data = np.arange(512, dtype="<i2").tobytes()
    assert stream.kwargs["stream_callback"](data, 512, {}, 0) == (None, FakePyAudio.paContinue)
    pcm, stamp = chunks[0]
    assert pcm.shape == (512, 1) and pcm.dtype == np.int16 and pcm[3, 0] == 3
    assert stamp == pytest.approx(100.0 - 512 / 16000)  # captured one chunk before the callback ran


def test_missing_pyaudio_is_an_error_saying_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyaudio", None)  # import pyaudio -> ImportError, installed or not
    with pytest.raises(DeviceError, match=r"pyaudio.*react_ros\[audio\]"):
        check_microphone()


def test_run_with_a_missing_device_exits_non_zero_naming_it(monkeypatch, capsys):
    from react_ros.cli import main

    assert main(["run", "--camera", str(MISSING_CAMERA), "--out", "unused"]) == 2
    assert f"camera {MISSING_CAMERA}" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    assert main(["run", "--mic", "--out", "unused"]) == 2
    assert "pyaudio" in capsys.readouterr().err


def test_camera_node_publishes_a_fake_camera_frames(monkeypatch):
    rclpy = pytest.importorskip("rclpy")
    from rclpy.parameter import Parameter

    import react_ros.nodes.camera_node as camera_node

    monkeypatch.setattr(camera_node, "open_frames", lambda source: open_frames(source, lambda i: FakeCapture(frames())))
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=random.randint(1, 100))
    try:
        node = camera_node.CameraNode(context=context, manual=True,
                                      parameter_overrides=[Parameter("device", value=6), Parameter("rate", value=0.0)])
        seen = []
        node.frame_hooks.append(lambda frame, stamp, index: seen.append((int(frame[0, 0, 0]), index)))
        while (frame := node.read()) is not None:
            node.publish_frame(frame, stamp=1.0 + len(seen))
        assert node.rate == 25.0  # rate 0: the device's own
        assert seen == [(0, 0), (10, 1), (20, 2)]
        assert [index for _, index, _ in node.history] == [0, 1, 2]  # cameras are in the history too
        node.destroy_node()
    finally:
        context.try_shutdown()


def test_a_file_played_at_another_rate_keeps_its_timing():
    """A 24 fps file played at 30 fps: output frame k shows the file frame on screen at k / 30 s (so about one in
    five is repeated, none skipped), and the clip lasts as long as it does in the file."""
    from react_ros.capture import ResampledFrames, resampled_count

    source = OpenCVFrames.__new__(OpenCVFrames)  # a file source without a file: the fake capture's frames
    source.capture, source.is_camera, source.rate = FakeCapture(frames(24), fps=24.0), False, 24.0
    played = ResampledFrames(source, 30.0)
    shown = []
    while (frame := played.read()) is not None:
        shown.append((int(frame[0, 0, 0]) // 10, played.file_index))
    assert len(shown) == resampled_count(24, 24.0, 30.0) == 30  # one second either way
    for k, (value, index) in enumerate(shown):
        assert value == index == int(k * 24 / 30)  # the frame on screen at k / 30 s
    faster = ResampledFrames(OpenCVFrames(0, lambda i: FakeCapture(frames(20), fps=60.0)), 30.0)
    assert [int(faster.read()[0, 0, 0]) // 10 for _ in range(10)] == list(range(0, 20, 2))  # 60 fps: every other
    with pytest.raises(ValueError, match="rate"):
        ResampledFrames(source, 0.0)

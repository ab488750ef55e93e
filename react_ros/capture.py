"""Where the speaker's frames and audio come from: a video file or an OpenCV camera, a WAV file or a microphone.

`open_frames(source)` gives a `FrameSource` (read() -> BGR uint8 frame or None at the end, rate, release()) for a
video file path or an OpenCV camera index; `open_microphone(...)` starts a pyaudio input stream (the `[audio]`
extra, imported only here and only when asked for). A camera or microphone that is not there, or pyaudio not
installed, is a `DeviceError` whose message names the device and what to do — never a hang or a traceback deep
in a driver. The camera node and `react-ros run --camera N --mic` use these; tests pass a fake `opener`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["DeviceError", "FrameSource", "OpenCVFrames", "ResampledFrames", "resampled_count", "open_frames", "check_camera", "open_microphone",
           "check_microphone"]

DEFAULT_RATE = 30.0


class DeviceError(ValueError):
    """A camera, microphone or capture library that is not there (a ValueError: the CLIs report bad input as
    a message and exit status 2)."""


class FrameSource(Protocol):
    rate: float  # frames per second the source delivers (a file's own rate, a camera's reported rate)
    is_camera: bool

    def read(self) -> np.ndarray | None: ...

    def rewind(self) -> bool: ...

    def release(self) -> None: ...


class OpenCVFrames:
    """A video file or a camera through an OpenCV VideoCapture (or anything with its isOpened/read/get/set/release)."""

    def __init__(self, source: str | int, opener: Callable = None) -> None:
        if opener is None:
            import cv2

            opener = cv2.VideoCapture
        self.source = source
        self.is_camera = isinstance(source, int)
        if not self.is_camera and not Path(source).is_file():
            raise DeviceError(f"video file not found: {source}")
        self.capture = opener(source)
        if self.capture is None or not self.capture.isOpened():
            if self.is_camera:
                raise DeviceError(f"camera {source}: cannot be opened (no such device, no permission, or in use; "
                                  f"on Linux the cameras are /dev/video*)")
            raise DeviceError(f"video file {source}: cannot be opened (not a video OpenCV can read)")
        rate = _prop(self.capture, 5)  # cv2.CAP_PROP_FPS
        self.rate = rate if 1.0 <= rate <= 240.0 else DEFAULT_RATE

    def read(self) -> np.ndarray | None:
        ok, frame = self.capture.read()
        if not ok or frame is None:
            return None
        return frame

    def rewind(self) -> bool:
        """Back to the first frame (files only)."""
        return not self.is_camera and bool(self.capture.set(1, 0))  # cv2.CAP_PROP_POS_FRAMES

    def release(self) -> None:
        self.capture.release()


class ResampledFrames:
    """A video file played at another frame rate with the right timing: output frame k (at k / rate seconds) is the
    file frame on screen at that time (index floor(k * file_rate / rate)), so a 23.976 fps clip played at the
    model's 30 fps repeats about one frame in five instead of running 1.25x too fast. `file_index`: the index in
    the file of the frame read last."""

    def __init__(self, source: FrameSource, rate: float) -> None:
        if not rate > 0:
            raise ValueError(f"ResampledFrames: rate must be > 0, got {rate!r}")
        self.source, self.rate, self.file_rate = source, float(rate), float(source.rate)
        self.is_camera = False
        self._start()

    def _start(self) -> None:
        self.emitted, self.file_index, self._frame = 0, -1, None

    def read(self) -> np.ndarray | None:
        wanted = int(np.floor(self.emitted * self.file_rate / self.rate + 1e-6))
        while self.file_index < wanted:
            frame = self.source.read()
            if frame is None:
                return None
            self._frame, self.file_index = frame, self.file_index + 1
        self.emitted += 1
        return self._frame

    def rewind(self) -> bool:
        self._start()
        return self.source.rewind()

    def release(self) -> None:
        self.source.release()


def resampled_count(frames: int, file_rate: float, rate: float) -> int:
    """How many frames a `frames`-long file at `file_rate` gives when played at `rate` (ResampledFrames)."""
    return int(np.ceil(frames * rate / file_rate - 1e-6))


def _prop(capture, prop: int) -> float:
    try:
        return float(capture.get(prop) or 0.0)
    except Exception:  # noqa: BLE001 (a driver that cannot report it)
        return 0.0


def open_frames(source: str | Path | int, opener: Callable = None) -> OpenCVFrames:
    """A FrameSource for a video file path or an OpenCV camera index (an int, or a string of digits)."""
    if isinstance(source, str) and source.strip().isdigit():
        source = int(source)
    return OpenCVFrames(source if isinstance(source, int) else str(source), opener)


def check_camera(index: int, opener: Callable = None) -> tuple[int, int]:
    """Open camera `index`, read one frame, release it: (width, height), or a DeviceError naming the camera."""
    frames = open_frames(int(index), opener)
    try:
        frame = frames.read()
    finally:
        frames.release()
    if frame is None:
        raise DeviceError(f"camera {index}: opened but gave no frame (in use by another program, or not a camera)")
    return int(frame.shape[1]), int(frame.shape[0])


def _pyaudio(module=None):
    if module is not None:
        return module
    try:
        import pyaudio  # noqa: PLC0415 (optional: the [audio] extra)
    except ImportError as error:
        raise DeviceError("the microphone needs pyaudio, which is not installed: pip install 'react_ros[audio]' "
                          "(on Debian/Ubuntu first: apt-get install portaudio19-dev)") from error
    return pyaudio


def check_microphone(device_index: int = -1, pyaudio_module=None) -> str:
    """The name of input device `device_index` (-1: the default input), or a DeviceError naming it."""
    pyaudio = _pyaudio(pyaudio_module)
    audio = pyaudio.PyAudio()
    try:
        try:
            info = (audio.get_default_input_device_info() if device_index < 0
                    else audio.get_device_info_by_index(device_index))
        except (OSError, ValueError) as error:
            which = "the default microphone" if device_index < 0 else f"microphone {device_index}"
            raise DeviceError(f"{which}: no such input device ({error}); list them with "
                              "python3 -m react_ros.capture") from error
        if int(info.get("maxInputChannels", 0)) < 1:
            raise DeviceError(f"microphone {device_index}: {info.get('name')!r} has no input channels")
        return str(info.get("name", device_index))
    finally:
        audio.terminate()


def open_microphone(device_index: int, rate: int, channels: int, frames_per_buffer: int,
                    on_chunk: Callable[[np.ndarray, float], None], clock: Callable[[], float] = None,
                    pyaudio_module=None):
    """Start capturing S16 PCM from input `device_index` (-1: default); `on_chunk(pcm (n, channels) int16,
    capture stamp of its first sample)` runs on pyaudio's thread. Returns (pyaudio instance, stream); stop
    with `stream.stop_stream(); stream.close(); instance.terminate()`."""
    import time

    pyaudio = _pyaudio(pyaudio_module)
    clock = clock or time.time
    check_microphone(device_index, pyaudio)
    audio = pyaudio.PyAudio()

    def callback(data, frame_count, time_info, status):
        stamp = clock() - frame_count / rate  # capture time of the first sample (approximately)
        on_chunk(np.frombuffer(data, "<i2").reshape(-1, channels), stamp)
        return None, pyaudio.paContinue

    try:
        stream = audio.open(format=pyaudio.paInt16, channels=channels, rate=rate, input=True,
                            input_device_index=None if device_index < 0 else device_index,
                            frames_per_buffer=frames_per_buffer, stream_callback=callback)
        stream.start_stream()
    except (OSError, ValueError) as error:
        audio.terminate()
        raise DeviceError(f"microphone {device_index}: cannot capture {channels} channel(s) at {rate} Hz "
                          f"({error})") from error
    return audio, stream


def _list_devices() -> None:
    pyaudio = _pyaudio()
    audio = pyaudio.PyAudio()
    try:
        for index in range(audio.get_device_count()):
            info = audio.get_device_info_by_index(index)
            if int(info.get("maxInputChannels", 0)) > 0:
                print(f"{index}: {info.get('name')} ({int(info.get('maxInputChannels'))} ch, "
                      f"{int(info.get('defaultSampleRate', 0))} Hz)")
    finally:
        audio.terminate()


if __name__ == "__main__":  # python3 -m react_ros.capture: the microphones pyaudio sees
    _list_devices()

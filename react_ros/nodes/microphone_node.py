"""Microphone node: pyaudio capture (when installed) or a WAV file -> audio chunks on a topic.

Messages are `std_msgs/UInt8MultiArray` of raw S16LE PCM with a layout naming samples, channels,
sample_rate and the capture stamp of the first sample (see react_ros/nodes/common.py and docs/ros.md).

Parameters (config/reaction.yaml, section `microphone_node`):
    wav_file (str, "")        play this file instead of capturing (mono or multi-channel, any rate)
    device_index (int, -1)    pyaudio input device (-1 = the default input)
    sample_rate (int, 16000)  capture rate (a WAV file keeps its own rate)
    channels (int, 1)         capture channels
    chunk_ms (float, 32.0)    chunk length
    loop (bool, false)        replay the file when it ends
    topic (str, /audio)
    reliability (str, best_effort), depth (int, 5)   publisher QoS (sensor data)
Every parameter has its type and range on its descriptor and is read-only (read once at start); a value of the
wrong type or out of range stops the node with exit status 1 and a message naming it (nodes/parameters.py).
"""
from __future__ import annotations

import sys
import threading
import time

import numpy as np
from rclpy.node import Node
from std_msgs.msg import UInt8MultiArray

from react_ros.nodes.common import input_qos, make_audio_msg
from react_ros.nodes.parameters import declare

PARAMETERS = {
    "wav_file": ("", "play this WAV file instead of capturing"),
    "device_index": (-1, "pyaudio input device (-1 = the default input)"),
    "sample_rate": (16000, "capture rate (a WAV file keeps its own rate)"),
    "channels": (1, "capture channels"),
    "chunk_ms": (32.0, "chunk length in milliseconds"),
    "loop": (False, "replay the file when it ends"),
    "topic": ("/audio", "audio topic"),
    "reliability": ("best_effort", "publisher QoS: best_effort (sensor data) | reliable"),
    "depth": (5, "publisher QoS: queue depth (keep last)"),
}
RANGES = {"device_index": (-1, 1024), "sample_rate": (8000, 384000), "channels": (1, 16), "chunk_ms": (1.0, 1000.0),
          "depth": (1, 1000)}


class MicrophoneNode(Node):
    def __init__(self, name: str = "microphone_node", manual: bool = False, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self._stream = None  # opened below, after the parameters are checked
        declare(self, PARAMETERS, RANGES, read_only=PARAMETERS)  # read once: a change needs a restart
        p = self.get_parameter
        self.wav_file = str(p("wav_file").value)
        self.loop = bool(p("loop").value)
        self.publisher = self.create_publisher(UInt8MultiArray, str(p("topic").value),
                                               input_qos(p("reliability").value, p("depth").value))
        self.published = 0
        self.finished = False
        self._stream = None
        chunk_s = float(p("chunk_ms").value) / 1000.0
        if self.wav_file:
            from react_ros.data.audio_io import read_wav

            samples, rate = read_wav(self.wav_file)  # float32 in [-1, 1]
            self.samples = np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)
            self.sample_rate = int(rate)
            self.chunk = max(1, int(round(chunk_s * self.sample_rate)))
            self.position = 0
            self.origin: float | None = None  # wall time of sample 0 of the current pass
            self.timer = None if manual else self.create_timer(chunk_s, self._on_timer)
            self.get_logger().info(f"playing {self.wav_file} ({self.sample_rate} Hz) on {p('topic').value}")
        else:
            self.timer = None
            self._open_pyaudio(int(p("device_index").value), int(p("sample_rate").value), int(p("channels").value),
                               chunk_s)

    # ------------------------------------------------------------------------------------------ file

    def publish_until(self, sample_end: int, origin: float) -> int:
        """Publish the file's samples up to `sample_end` in chunks, stamped origin + index / rate."""
        count = 0
        while self.position < min(sample_end, len(self.samples)):
            stop = min(self.position + self.chunk, sample_end, len(self.samples))
            chunk = self.samples[self.position:stop]
            self.publisher.publish(make_audio_msg(chunk, self.sample_rate, origin + self.position / self.sample_rate))
            self.position = stop
            self.published += 1
            count += 1
        return count

    def _on_timer(self) -> None:
        if self.finished:
            return
        now = time.time()
        if self.origin is None:
            self.origin = now
        due = int((now - self.origin) * self.sample_rate)
        due -= due % self.chunk  # whole chunks only, so every chunk has the configured length
        self.publish_until(due, self.origin)
        if self.position >= len(self.samples):
            if self.loop:
                self.position, self.origin = 0, None
            else:
                self.finished = True
                self.get_logger().info(f"end of {self.wav_file} after {self.published} chunks")

    # ------------------------------------------------------------------------------------------ device

    def _open_pyaudio(self, device: int, rate: int, channels: int, chunk_s: float) -> None:
        from react_ros.capture import open_microphone  # DeviceError when pyaudio or the device is missing

        self.sample_rate = rate
        lock = threading.Lock()

        def on_chunk(pcm, stamp) -> None:
            with lock:
                self.publisher.publish(make_audio_msg(pcm, rate, stamp))
                self.published += 1

        self._audio, self._stream = open_microphone(device, rate, channels, max(1, int(round(chunk_s * rate))),
                                                    on_chunk)
        self.get_logger().info(f"capturing microphone {device} at {rate} Hz, {channels} channel(s)")

    def destroy_node(self) -> None:
        if self._stream is not None:
            self._stream.stop_stream()
            self._stream.close()
            self._audio.terminate()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    from react_ros.nodes import run_node

    return run_node(MicrophoneNode, args)


if __name__ == "__main__":
    sys.exit(main())

"""Camera node: OpenCV capture from a device index or a video file -> sensor_msgs/Image (bgr8).

Parameters (config/reaction.yaml, section `camera_node`):
    device (int, 0)          camera index, used when `video_file` is empty
    video_file (str, "")     a video file to play instead of a camera
    rate (float, 30.0)       frames per second published (0 = the file's own rate); a file at another rate is
                             resampled to it with the right timing (capture.ResampledFrames: a 23.976 fps
                             clip at 30 fps repeats about one frame in five, it does not play 1.25x fast)
    loop (bool, false)       replay the file when it ends
    topic (str, /camera/image_raw), frame_id (str, camera)
    width, height (int, 0)   resize before publishing (0 = as captured)
    reliability (str, best_effort), depth (int, 5)   publisher QoS (sensor data; `reliable` for subscribers
                             that only take reliable publishers)

Every parameter has its type and range on its descriptor and is read-only (read once at start); a value of the
wrong type or out of range stops the node with exit status 1 and a message naming it (nodes/parameters.py).
Stamps are the time the frame was read (the capture time for a camera). A file plays in real time at
`rate`; when it ends without `loop` the node stops publishing and sets `finished`.
"""
from __future__ import annotations

import sys
import time

import cv2
from rclpy.node import Node
from sensor_msgs.msg import Image

from react_ros.capture import ResampledFrames, open_frames
from react_ros.nodes.common import bgr_to_image, input_qos
from react_ros.nodes.parameters import declare

PARAMETERS = {
    "device": (0, "camera index, used when video_file is empty"),
    "video_file": ("", "a video file to play instead of a camera"),
    "rate": (30.0, "frames per second published (0 = the file's own rate)"),
    "loop": (False, "replay the file when it ends"),
    "topic": ("/camera/image_raw", "sensor_msgs/Image topic"),
    "frame_id": ("camera", "header.frame_id of the images"),
    "width": (0, "resize to this width before publishing (0 = as captured)"),
    "height": (0, "resize to this height before publishing (0 = as captured)"),
    "reliability": ("best_effort", "publisher QoS: best_effort (sensor data) | reliable"),
    "depth": (5, "publisher QoS: queue depth (keep last)"),
}
RANGES = {"device": (0, 255), "rate": (0.0, 1000.0), "width": (0, 16384), "height": (0, 16384), "depth": (1, 1000)}


class CameraNode(Node):
    def __init__(self, name: str = "camera_node", manual: bool = False, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.frames = None  # opened below, after the parameters are checked
        declare(self, PARAMETERS, RANGES, read_only=PARAMETERS)  # read once: a change needs a restart
        p = self.get_parameter
        self.video_file = str(p("video_file").value)
        self.loop = bool(p("loop").value)
        self.frame_id = str(p("frame_id").value)
        self.size = (int(p("width").value), int(p("height").value))
        qos = input_qos(p("reliability").value, p("depth").value)  # a bad value fails before the device opens
        source = self.video_file if self.video_file else int(p("device").value)
        self.frames = open_frames(source)  # capture.DeviceError naming the camera or file when it is not there
        rate = float(p("rate").value)
        if rate <= 0:
            rate = self.frames.rate
        self.rate = rate
        if self.video_file and abs(rate - self.frames.rate) > 1e-3:
            self.get_logger().info(f"{self.video_file}: {self.frames.rate:.3f} fps resampled to {rate:.3f} fps")
            self.frames = ResampledFrames(self.frames, rate)
        self.publisher = self.create_publisher(Image, str(p("topic").value), qos)
        self.published = 0
        self.finished = False
        self.frame_index = -1  # index in the file of the last frame read
        self.history: list[tuple[float, int, float]] = []  # (stamp, frame index, wall time) of published frames
        self.frame_hooks: list = []  # hook(frame, stamp, frame index) per published frame (react-ros run --camera)
        self.timer = None if manual else self.create_timer(1.0 / rate, self._on_timer)
        self.get_logger().info(f"publishing {source!r} at {rate:.1f} fps on {p('topic').value}")

    def read(self):
        """The next BGR frame, or None at the end of a file (rewinds when `loop`)."""
        frame = self.frames.read()
        if frame is None and self.video_file and self.loop and self.frames.rewind():
            self.frame_index = -1
            frame = self.frames.read()
        if frame is None:
            return None
        self.frame_index = getattr(self.frames, "file_index", self.frame_index + 1)
        if self.size[0] > 0 and self.size[1] > 0:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        return frame

    def publish_frame(self, frame, stamp: float | None = None) -> None:
        now = time.time()
        stamp = now if stamp is None else stamp
        self.publisher.publish(bgr_to_image(frame, stamp, self.frame_id))
        self.published += 1
        if len(self.history) < 1_000_000:
            self.history.append((stamp, self.frame_index, now))
        for hook in self.frame_hooks:
            hook(frame, stamp, self.frame_index)

    def _on_timer(self) -> None:
        if self.finished:
            return
        frame = self.read()
        if frame is None:
            self.finished = True
            self.get_logger().info(f"end of {self.video_file} after {self.published} frames")
            return
        self.publish_frame(frame)

    def destroy_node(self) -> None:
        if self.frames is not None:
            self.frames.release()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    from react_ros.nodes import run_node

    return run_node(CameraNode, args)


if __name__ == "__main__":
    sys.exit(main())

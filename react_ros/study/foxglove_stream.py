"""A live stream of a study session to the Foxglove app (optional: `pip install react_ros[foxglove]`).

`FoxgloveStream` serves a Foxglove WebSocket server (the `foxglove-sdk` package) and, per frame of the study
runner (`StudyRunner.frame_listeners`), logs JSON messages shaped like the recorded ROS messages, so the
shipped layout (config/foxglove/react_ros_layout.json) plots the same paths live and from a recorded MCAP:

    /react_ros/reaction, /react_ros/features/speaker   {layout: {dim: [{label, size, stride}]}, data: [25]}
                                                       (Float32MultiArray: `.data[7]` is AU12)
    /react_ros/joint_commands                          {header, name, position, velocity} (JointState)
    /react_ros/study/live                              condition, active source, status, frame, time left,
                                                       latency, face/voice present (live only)

Open it in Foxglove: "Open connection" -> Foxglove WebSocket -> ws://HOST:PORT, then import the layout.
"""
from __future__ import annotations

import time

from react_ros import schema

__all__ = ["FoxgloveStream", "TOPICS"]

_ARRAY = {"type": "object", "properties": {
    "layout": {"type": "object", "properties": {"dim": {"type": "array", "items": {"type": "object", "properties": {
        "label": {"type": "string"}, "size": {"type": "integer"}, "stride": {"type": "integer"}}}},
        "data_offset": {"type": "integer"}}},
    "data": {"type": "array", "items": {"type": "number"}}}}
_JOINTS = {"type": "object", "properties": {
    "header": {"type": "object", "properties": {"stamp": {"type": "object", "properties": {
        "sec": {"type": "integer"}, "nanosec": {"type": "integer"}}}, "frame_id": {"type": "string"}}},
    "name": {"type": "array", "items": {"type": "string"}},
    "position": {"type": "array", "items": {"type": "number"}},
    "velocity": {"type": "array", "items": {"type": "number"}}}}
_LIVE_KEYS = {"status": "string", "participant": "string", "condition": "string", "active": "string",
              "position": "integer", "frame": "integer", "frames": "integer", "time_left_s": "number",
              "latency_ms": "number", "face_present": "boolean", "audio_present": "boolean"}
_LIVE = {"type": "object", "properties": {key: {"type": kind} for key, kind in _LIVE_KEYS.items()}}
TOPICS = {"/react_ros/reaction": _ARRAY, "/react_ros/features/speaker": _ARRAY,
          "/react_ros/joint_commands": _JOINTS, "/react_ros/study/live": _LIVE}


def _array(values, label: str) -> dict:
    values = [float(v) for v in values]
    return {"layout": {"dim": [{"label": label, "size": len(values), "stride": len(values)}], "data_offset": 0},
            "data": values}


class FoxgloveStream:
    """A Foxglove WebSocket server with the study's channels; `publish(live)` logs one frame."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8766, name: str = "react_ros") -> None:
        import foxglove  # the optional extra: a clear ImportError names it

        self.context = foxglove.Context()
        self.channels = {topic: foxglove.Channel(topic, schema=json_schema, message_encoding="json",
                                                 context=self.context)
                         for topic, json_schema in TOPICS.items()}
        self.server = foxglove.start_server(name=name, host=host, port=port, context=self.context)
        self.errors = 0  # frames that could not be streamed (never raised: the session goes on)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def publish(self, live: dict) -> None:
        """One frame of `StudyRunner.live` (the runner calls this after every frame); never raises."""
        try:
            self._publish(live)
        except Exception:  # noqa: BLE001 (a viewer must not stop a participant's session)
            self.errors += 1

    def _publish(self, live: dict) -> None:
        now = time.time_ns()
        labels = ",".join(schema.ATTRIBUTE_NAMES)
        log = {topic: channel.log for topic, channel in self.channels.items()}
        log["/react_ros/reaction"](_array(live["reaction"], labels), log_time=now)
        log["/react_ros/features/speaker"](_array(live["speaker"], labels), log_time=now)
        joints = live.get("joints", {})
        log["/react_ros/joint_commands"]({
            "header": {"stamp": {"sec": now // 1_000_000_000, "nanosec": now % 1_000_000_000}, "frame_id": "face"},
            "name": list(joints), "position": [float(v) for v in joints.values()], "velocity": []}, log_time=now)
        log["/react_ros/study/live"]({key: live[key] for key in _LIVE_KEYS if key in live}, log_time=now)

    def stop(self) -> None:
        self.server.stop()

"""The reaction node's MCAP recording of an experiment session: where it goes, its metadata, and writes that
never stop the face (a full disk is counted as `record_errors`, not raised)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path


class SessionRecording:
    def __init__(self, on_error: Callable[[Exception], None]) -> None:
        self.recorder = None
        self.last_path: Path | None = None
        self._on_error = on_error

    @property
    def active(self) -> bool:
        return self.recorder is not None

    def start(self, output_dir: str | Path, participant: str, condition: str, metadata: dict,
              raw_media: bool, media_topics: tuple[str, ...]) -> Path:
        from react_ros.recording import McapRecorder

        if self.recorder is not None:
            return self.recorder.path
        name = "_".join(x for x in ("session", time.strftime("%Y%m%d-%H%M%S"), participant, condition) if x)
        path = Path(output_dir) / f"{name}.mcap"
        for k in range(2, 1000):  # a second recording within the same second must not overwrite the first
            if not path.exists():
                break
            path = Path(output_dir) / f"{name}_{k}.mcap"
        recorder = McapRecorder(path, metadata, raw_media=raw_media)
        recorder.mark_raw_media(*media_topics)
        self.recorder = recorder
        return path

    def stop(self):
        """Close the recording; returns the closed recorder (None when none was open)."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()
            self.last_path = recorder.path
        return recorder

    def write_reaction(self, topic: str, msg, output) -> None:
        """A reaction frame and the speaker features it was made from."""
        if self.recorder is None:
            return
        from react_ros import schema
        from react_ros.nodes.common import array_msg

        labels = ",".join(schema.ATTRIBUTE_NAMES)
        self.write(topic, "std_msgs/msg/Float32MultiArray", msg)
        self.write("/react_ros/features/speaker", "std_msgs/msg/Float32MultiArray",
                   array_msg(output.speaker, labels + f",face_present={int(output.face_present)}"
                             f",presence={getattr(output, 'presence', '')}"))
        self.write("/react_ros/features/audio", "std_msgs/msg/Float32MultiArray",
                   array_msg(output.audio_features, f"log_mel,audio_present={int(output.audio_present)}"))

    def write(self, topic: str, datatype: str, msg) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        try:
            recorder.write(topic, datatype, msg)
        except Exception as error:  # noqa: BLE001 (a full disk must not stop the face)
            self._on_error(error)


def session_metadata(participant: str, condition: str, seed, node_name: str, info: dict, parameters: dict,
                     profile) -> dict:
    return {
        "session": {"participant_id": participant, "condition": condition, "seed": str(seed),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "node": node_name},
        "model": {k: str(v) for k, v in info.items()},
        "parameters": {k: json.dumps(v) for k, v in parameters.items()},
        "robot_profile": {"name": profile.name, "source": profile.source, "joints": ",".join(profile.names)},
    }


def diagnostics_record(msg) -> dict:
    """A DiagnosticArray as the plain dict the recorder serialises (rclpy gives `level` as bytes)."""
    return {"header": {"stamp": {"sec": msg.header.stamp.sec, "nanosec": msg.header.stamp.nanosec}, "frame_id": ""},
            "status": [{"level": int.from_bytes(s.level, "little") if isinstance(s.level, bytes) else int(s.level),
                        "name": s.name, "message": s.message, "hardware_id": s.hardware_id,
                        "values": [{"key": kv.key, "value": kv.value} for kv in s.values]} for s in msg.status]}


class RecordingControl:
    """The reaction node's recording switches: the `record` parameter and the ~/set_recording service.
    Mixed into ReactionNode, which provides `param`, `session`, `recording` and the logger."""

    def _on_parameters(self, parameters):
        from rcl_interfaces.msg import SetParametersResult

        for parameter in parameters:
            if parameter.name == "record" and self.active:
                try:
                    self.start_recording() if parameter.value else self.stop_recording()
                except Exception as error:  # noqa: BLE001
                    return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _on_set_recording(self, request, response):
        try:
            self.start_recording() if request.data else self.stop_recording()
            response.success = True
            response.message = str(self.recording.recorder.path) if self.recording.active else "stopped"
        except Exception as error:  # noqa: BLE001
            response.success, response.message = False, str(error)
        return response

    def start_recording(self) -> Path:
        from react_ros.nodes.reaction_params import PARAMETERS

        participant, condition = str(self.param("participant_id")), str(self.param("condition"))
        metadata = session_metadata(participant, condition, self.param("seed"), self.get_fully_qualified_name(),
                                    self.session.info, {key: self.param(key) for key in PARAMETERS},
                                    self.session.profile)
        path = self.recording.start(self.param("output_dir"), participant, condition, metadata,
                                    bool(self.param("record_raw_media")),
                                    (self._image_input()[1], self.param("audio_topic")))
        self.get_logger().info(f"recording to {path}")
        return path

    def stop_recording(self) -> None:
        recorder = self.recording.stop()
        if recorder is not None:
            self.get_logger().info(f"recording closed: {recorder.path} ({sum(recorder.counts.values())} messages)")

    @property
    def last_recording(self) -> Path | None:
        return self.recording.last_path

    def _on_record_error(self, error: Exception) -> None:
        if self.session is not None:
            self.session.count("record_errors")
        self.get_logger().warning(f"recording: {error}", throttle_duration_sec=5.0)

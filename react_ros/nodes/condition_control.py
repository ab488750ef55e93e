"""The reaction node's study conditions (react_ros/study/live.py) while it runs: the `condition` parameter
switches at the next camera frame (an unknown name is rejected with the known ones as the reason), the active
condition is published on `~/condition` (std_msgs/String, transient local: a late subscriber gets it), and
every switch is logged, written to the recording (/react_ros/study/events, JSON with its time; a recording
also starts with the active condition) and shown on /diagnostics (`condition`). Mixed into ReactionNode before RecordingControl; it provides `param`, `session`,
`recording` and the logger."""
from __future__ import annotations

import json
import time

EVENT_TOPIC = "/react_ros/study/events"  # the study runner's event topic, same JSON


class ConditionControl:
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String

        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._condition_publisher = self.create_publisher(String, "~/condition", latched)
        self.add_on_set_parameters_callback(self._on_condition_parameters)

    @property
    def conditions(self):
        """The session's ConditionedSource (None before configure)."""
        source = getattr(getattr(self, "session", None), "source", None)
        return source if hasattr(source, "switcher") else None

    def _attach_conditions(self, graphs) -> None:
        """At configure: the conditions from `conditions_file` (a study YAML; '' = model, mime, neutral),
        starting in `condition` ('' = model). Raises (configure fails) on a bad file or an unknown name."""
        from react_ros.study.live import attach_conditions, node_sources
        from react_ros.study.studyfile import load_study

        path = str(self.param("conditions_file"))
        model = dict(self.session.info, seed=int(self.param("seed")))  # what the node's own model runs
        sources = node_sources(float(self.param("mime_delay_s")), load_study(path) if path else None, graphs, model)
        attach_conditions(self.session, sources, str(self.param("condition")), int(self.param("seed")),
                          self._on_switch)

    def _on_condition_parameters(self, parameters):
        from rcl_interfaces.msg import SetParametersResult

        for parameter in parameters:
            if parameter.name == "condition" and self.conditions is not None:
                try:
                    self.conditions.request(str(parameter.value) or "model", "parameter")
                except ValueError as error:
                    return SetParametersResult(successful=False, reason=str(error))
            elif parameter.name in ("conditions_file", "mime_delay_s") and self.conditions is not None:
                return SetParametersResult(successful=False, reason=f"{parameter.name} is read at configure")
        return SetParametersResult(successful=True)

    def start_recording(self):
        """The recording, opened with the active condition as its first event (a switch requested just before
        may take effect after it: that switch is then recorded too)."""
        path = super().start_recording()
        if self.conditions is not None:
            record = {"type": "condition", "time_ns": time.time_ns(), "current": self.conditions.active}
            self.recording.write(EVENT_TOPIC, "std_msgs/msg/String", {"data": json.dumps(record)})
        return path

    def _on_switch(self, event) -> None:
        """A switch took effect (on the input thread, at the frame it applies to)."""
        from std_msgs.msg import String

        self._condition_publisher.publish(String(data=event.current))
        record = {"type": "switch", "time_ns": event.time_ns, "frame": event.frame, "previous": event.previous,
                  "current": event.current, "reason": event.reason}
        self.recording.write(EVENT_TOPIC, "std_msgs/msg/String", {"data": json.dumps(record)})
        self.get_logger().info(f"condition: {event.previous} -> {event.current} ({event.reason})")

"""The reaction node (a managed lifecycle node): speaker camera + microphone in, the robot's facial reaction out.

Everything between the messages is a ReactionSession (online/session.py, no ROS); this node maps parameters
(reaction_params.py) to its configuration, messages to arrays and back, and publishes. configure: the model on
`backend` (else `fallback_backend`: /diagnostics shows requested_backend, fallback_reason), profile, publishers,
conditions. activate: inputs, session start, recording if `record`. deactivate / shutdown: the face eases to
neutral, the recording closes. `autostart` (default) configures and activates at once: a configuration error
then raises ConfigError (exit 1 with the reason); without autostart /diagnostics says ERROR with the reason.
  in   image_topic (sensor_msgs/Image; or CompressedImage on image_topic/compressed: `image_transport`), audio_topic (UInt8MultiArray S16LE, nodes/common.py; or audio_common)
  out  reaction_topic (Float32MultiArray, 25 labelled values), reaction_stamped_topic (JointState: the same,
       with the camera frame's stamp), joint_topic (JointState: the profile's joints),
       face_image_topic (Image bgr8, screen faces), /diagnostics every `diagnostics_period_s`
  srv  ~/set_recording (std_srvs/SetBool, when installed; also `record`); `condition` switches (condition_control.py)
One reaction per camera frame, with its stamp; a bad message is counted, never fatal (docs/ros.md)."""
from __future__ import annotations

import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import Float32MultiArray

from react_ros import schema
from react_ros.nodes import common
from react_ros.nodes.common import BadMessage, ConfigError, bgr_to_image
from react_ros.nodes.condition_control import ConditionControl
from react_ros.nodes.parameters import declare
from react_ros.nodes.reaction_params import (
    LIVE,
    PARAMETERS,
    RANGES,
    READ_ONLY,
    check_config,
    check_values,
    sampling_overrides,
    session_config,
)
from react_ros.nodes.session_recording import RecordingControl, SessionRecording, diagnostics_record
from react_ros.online import SessionDiagnostics
from react_ros.online.watchdog import WatchdogThread

try:  # managed node where rclpy has lifecycle support (it does in the pip wheels and Jazzy)
    from rclpy.lifecycle import LifecycleNode as _BaseNode
    from rclpy.lifecycle import TransitionCallbackReturn
except ImportError:  # pragma: no cover - very old rclpy
    from rclpy.node import Node as _BaseNode

    class TransitionCallbackReturn:  # type: ignore[no-redef]
        SUCCESS, FAILURE, ERROR = "success", "failure", "error"

LABELS = ",".join(schema.ATTRIBUTE_NAMES)


class ReactionNode(ConditionControl, RecordingControl, _BaseNode):
    def __init__(self, name: str = "reaction_node", **kwargs) -> None:
        super().__init__(name, **kwargs)
        declare(self, PARAMETERS, RANGES, READ_ONLY)  # ConfigError (exit 1) for a wrong type or out of range
        problem = check_values({key: self.param(key) for key in PARAMETERS})
        if problem:
            raise ConfigError(problem)
        self.session = None  # ReactionSession, made in configure
        self.recording = SessionRecording(self._on_record_error)
        self.last_diagnostics: dict[str, str] = {}
        # In-process observers (the bringup's summary): fn(command, publish wall time) after each reaction frame.
        self.output_hooks: list = []
        self._inputs, self._outputs, self._watchdog, self.config_error = [], {}, None, ""
        self._stamps = common.ExactStamps()  # commands carry their camera frame's stamp exactly
        # /diagnostics from the start: an unconfigured or misconfigured node says so (ERROR with the reason).
        self._diagnostics_out = self.create_publisher(DiagnosticArray, self.param("diagnostics_topic"), common.reliable_qos())
        self.create_timer(float(self.param("diagnostics_period_s")), self._guarded("diagnostics", self._diagnostics))
        self.add_on_set_parameters_callback(self._on_parameters)
        self.add_on_set_parameters_callback(self._check_parameters)  # added last: called before the others
        try:
            from std_srvs.srv import SetBool

            self.create_service(SetBool, "~/set_recording", self._on_set_recording)
        except ImportError:
            pass
        if self.param("autostart"):
            self.trigger_configure()
            if self.session is None:
                raise ConfigError(self.config_error or "configure failed")
            self.trigger_activate()

    def param(self, name: str):
        return self.get_parameter(name).value

    def _check_parameters(self, parameters):
        """`ros2 param set`: rclpy has applied types and ranges; refuse what contradicts another parameter, and a
        change that would silently not take effect because the node read the parameter at configure."""
        from rcl_interfaces.msg import SetParametersResult

        values = {key: self.param(key) for key in PARAMETERS} | {p.name: p.value for p in parameters}
        problem = check_values(values)
        held = [p.name for p in parameters if p.name in PARAMETERS and p.name not in LIVE]
        if not problem and held and self.session is not None:
            problem = (f"{', '.join(held)} is read at configure/activate: deactivate and clean up the node "
                       "(ros2 lifecycle set), set it, configure again (or restart with it)")
        return SetParametersResult(successful=not problem, reason=problem)

    @property
    def active(self) -> bool:
        return self.session is not None and self.session.active

    # ------------------------------------------------------------------------------------- lifecycle

    def on_configure(self, state=None):
        from react_ros.model.card import run_setting
        from react_ros.online import ReactionSession
        from react_ros.runtime import load_graphs

        try:
            profile = check_config(self.param)  # before the (slow) backend: a typo fails at once
            self._audio_msg = common.audio_message_type(str(self.param("audio_type")))
            loaded = load_graphs(self.param("backend"), self.param("model_dir") or None,
                                 self.param("engine_dir") or None, int(self.param("threads")),
                                 fallback=self.param("fallback_backend") or None)
            if loaded.info.get("fallback_reason"):
                self.get_logger().warning(f"backend {self.param('backend')!r} cannot load "
                                          f"({loaded.info['fallback_reason']}); running on {loaded.info['backend']}")
            sampling = run_setting(loaded.info.get("model_dir"), str(self.param("face_frontend")),  # the one resolver
                                   sampling_overrides(self.param)).sampling
            self.session = ReactionSession.from_loaded(loaded, sampling, session_config(self.param))
            self._attach_conditions(loaded.graphs)
        except Exception as error:  # noqa: BLE001
            self.config_error = common.clip_text(str(error), 400)[1:-1]
            self.get_logger().error(f"configure failed: {self.config_error}")
            self.session = None
            return TransitionCallbackReturn.FAILURE
        self.config_error = ""
        qos = common.reliable_qos()
        self._outputs = {"reaction": self.create_publisher(Float32MultiArray, self.param("reaction_topic"), qos),
                         "stamped": self.create_publisher(JointState, self.param("reaction_stamped_topic"), qos),
                         "joints": self.create_publisher(JointState, self.param("joint_topic"), qos)}
        if self.session.render:
            self._outputs["face"] = self.create_publisher(Image, self.param("face_image_topic"), qos)
        self.get_logger().info(f"configured: backend {self.session.info.get('backend')}, profile {profile.name} "
                               f"({len(profile.names)} joints), sampling {sampling}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state=None):
        if self.session is None:
            return TransitionCallbackReturn.FAILURE
        inputs = MutuallyExclusiveCallbackGroup()
        self.session.start(int(self.param("seed")))
        qos = {"reliability": str(self.param("input_reliability")), "depth": int(self.param("input_depth"))}
        self._inputs = [common.create_input_subscription(self, kind, topic, self._guarded(what, fn),
                                                         callback_group=inputs, **qos)
                        for kind, topic, what, fn in ((*self._image_input(), "image dropped", self._image),
                                                      (self._audio_msg, self.param("audio_topic"), "audio dropped",
                                                       self._audio))]
        self._watchdog = WatchdogThread(self._guarded("watchdog", self._watchdog_step),
                                        1.0 / float(self.param("watchdog_rate_hz"))).start()
        if self.param("record"):
            self.start_recording()
        self.get_logger().info(f"active: {self.param('image_topic')} + {self.param('audio_topic')} -> {self.param('joint_topic')}")
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state=None):
        self.shutdown_gracefully()
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state=None):
        for publisher in self._outputs.values():
            self.destroy_publisher(publisher)
        self._outputs, self.session = {}, None
        return TransitionCallbackReturn.SUCCESS

    on_shutdown = on_deactivate  # both: stop input, ease to neutral, close the recording

    def shutdown_gracefully(self) -> None:
        """Stop input, ease the face to neutral (within the velocity limits), close the recording."""
        if self.active:
            self.session.stop()
            for subscription in self._inputs:
                self.destroy_subscription(subscription)
            self._watchdog = self._watchdog and self._watchdog.stop()  # stop() returns None
            self._inputs = []
            if "joints" in self._outputs:
                for command in self.session.ease_to_neutral(rate_hz=50.0, max_s=2.0):
                    self._publish_joints(command)
                    time.sleep(0.02)
        self.stop_recording()

    # ------------------------------------------------------------------------------------- messages in

    def _image_input(self):
        """(message type, topic) of the camera input: image_transport's compressed topic is <image_topic>/compressed."""
        if self.param("image_transport") == "compressed":
            return CompressedImage, self.param("image_topic").rstrip("/") + "/compressed"
        return Image, self.param("image_topic")

    def _image(self, msg) -> None:
        kind, topic = self._image_input()
        self.recording.write(topic, f"sensor_msgs/msg/{kind.__name__}", msg)
        try:
            image = common.compressed_to_bgr(msg) if isinstance(msg, CompressedImage) else common.image_to_bgr(msg)
        except BadMessage as error:
            # Counted and dropped here, before the session: a bad message must not take a good frame's place
            # (its stamp would make the next good frame look out of order; its time would delay it).
            for counter in ("images", "bad_images", error.reason):
                self.session.count(counter)
            self.get_logger().warning(f"{self.param('image_topic')}: {error}", throttle_duration_sec=5.0)
            return
        self.session.on_image(image, self._stamps.seconds(msg.header.stamp), self._publish_reaction)

    def _audio(self, msg) -> None:
        read = common.audio_common_from_msg if "audio_common" in self.param("audio_type") else common.audio_from_msg
        try:
            pcm, rate, stamp = read(msg, int(self.param("audio_sample_rate")))
        except BadMessage as error:
            self.get_logger().warning(f"{self.param('audio_topic')}: {error}", throttle_duration_sec=5.0)
            self.session.on_audio(None, 0, None, bad_reason=error.reason)
            return
        self.recording.write(self.param("audio_topic"), "std_msgs/msg/UInt8MultiArray", msg)
        self.session.on_audio(pcm, rate, stamp)

    def _guarded(self, what: str, handler):
        def call(*args) -> None:
            try:
                handler(*args)
            except Exception as error:  # noqa: BLE001 (never die on a message or a timer)
                if self.session is not None:
                    self.session.count("errors")
                self.get_logger().warning(f"{what}: {error}", throttle_duration_sec=5.0)

        return call

    # ------------------------------------------------------------------------------------- messages out

    def _publish_reaction(self, command) -> None:
        output = command.output
        msg = common.array_msg(output.reaction, LABELS)
        self._outputs["reaction"].publish(msg)
        stamp = self._stamps.stamp(command.stamp)
        self._outputs["stamped"].publish(common.joint_state_msg(schema.ATTRIBUTE_NAMES, output.reaction, stamp))
        self._publish_joints(command)
        published = time.time()
        for hook in self.output_hooks:
            hook(command, published)
        self.recording.write_reaction(self.param("reaction_topic"), msg, output)

    def _publish_joints(self, command) -> None:
        """The face: joint commands and, for screen faces, the rendered image."""
        stamp = self._stamps.stamp(command.stamp)
        msg = common.joint_state_msg(self.session.profile.names, command.positions, stamp, command.velocities)
        self._outputs["joints"].publish(msg)
        self.recording.write(self.param("joint_topic"), "sensor_msgs/msg/JointState", msg)  # every command
        if command.face is not None:
            self._outputs["face"].publish(bgr_to_image(command.face, stamp, "face"))

    def _watchdog_step(self) -> None:
        command = self.session.tick()
        if command is not None:
            if command.gap_started:
                self.get_logger().warning("no input: easing the face to neutral")
            self._publish_joints(command)

    def _diagnostics(self) -> None:
        snapshot = self.diagnostics_snapshot()
        backend = str((self.session.info if self.session else {}).get("backend", ""))
        msg = common.diagnostics_msg(f"react_ros: {self.get_name()}", snapshot, backend, self.get_clock().now().to_msg())
        self._diagnostics_out.publish(msg)
        self.recording.write(self.param("diagnostics_topic"), "diagnostic_msgs/msg/DiagnosticArray",
                             diagnostics_record(msg))

    def diagnostics_snapshot(self):
        snapshot = self.session.diagnostics() if self.session else SessionDiagnostics.unconfigured(self.config_error)
        snapshot.values["recording"] = str(self.recording.recorder.path) if self.recording.active else "off"
        self.last_diagnostics = snapshot.values
        return snapshot

    def diagnostics(self) -> dict[str, str]:
        """Key/values of the diagnostics message (also kept in `last_diagnostics`)."""
        return self.diagnostics_snapshot().values


def main(args: list[str] | None = None) -> int:
    from react_ros.nodes import run_node

    return run_node(ReactionNode, args)


if __name__ == "__main__":
    sys.exit(main())

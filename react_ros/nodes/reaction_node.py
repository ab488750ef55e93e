"""The reaction node (a managed lifecycle node): speaker camera + microphone in, the robot's facial reaction out.

configure: loads the model on the backend (`backend`, falling back to `fallback_backend`), the robot profile,
           publishers.  activate: subscribes the inputs, starts generation (and recording if `record`).
deactivate / shutdown: stops input, eases the face to neutral, closes the recording.
With `autostart` (default) the node configures and activates itself; a lifecycle manager sets it false.

Topics (names are parameters, defaults below):
  in   /camera/image_raw              sensor_msgs/Image (sensor-data QoS)
  in   /audio                         std_msgs/UInt8MultiArray S16LE (see nodes/common.py) or audio_common_msgs
  out  /react_ros/reaction            std_msgs/Float32MultiArray: 25 values, dim[0].label = comma-joined names
  out  /react_ros/joint_commands      sensor_msgs/JointState: the profile's joints (position, velocity)
  out  /react_ros/face_image          sensor_msgs/Image bgr8: the rendered face (screen faces)
  out  /diagnostics                   diagnostic_msgs/DiagnosticArray, every `diagnostics_period_s`
  srv  ~/set_recording                std_srvs/SetBool (when std_srvs is installed; else the `record` parameter)

One reaction frame goes out per camera frame, stamped with that frame's stamp. A bad message never stops
the node: it is dropped or treated as "no face" and counted in diagnostics (unknown_encoding, empty_image,
bad_image_size, odd_audio_bytes, bad_audio_layout, empty_audio, bad_stamps, errors). When no frame has
arrived for `input_timeout_s` (camera gone, generator stalled) the watchdog eases the face to the
profile's neutral pose; after `reset_after_gap_s` without input the next frame starts a fresh context.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, UInt8MultiArray

from react_ros import schema
from react_ros.nodes.common import (
    BadMessage,
    audio_common_from_msg,
    audio_from_msg,
    bgr_to_image,
    image_to_bgr,
    reliable_qos,
    seconds_to_stamp,
    sensor_qos,
    stamp_to_seconds,
)

try:  # managed node where rclpy has lifecycle support (it does in the pip wheels and Jazzy)
    from rclpy.lifecycle import LifecycleNode as _BaseNode
    from rclpy.lifecycle import TransitionCallbackReturn

    LIFECYCLE = True
except ImportError:  # pragma: no cover - very old rclpy
    from rclpy.node import Node as _BaseNode

    LIFECYCLE = False

    class TransitionCallbackReturn:  # type: ignore[no-redef]
        SUCCESS, FAILURE, ERROR = "success", "failure", "error"

LABELS = ",".join(schema.ATTRIBUTE_NAMES)

# name: (default, description)
PARAMETERS: dict[str, tuple[object, str]] = {
    "autostart": (True, "configure and activate at start (false: wait for a lifecycle manager)"),
    "image_topic": ("/camera/image_raw", "speaker camera, sensor_msgs/Image"),
    "audio_topic": ("/audio", "speaker microphone"),
    "audio_type": ("uint8_array", "uint8_array (built-in layout) | audio_common_stamped | audio_common"),
    "audio_sample_rate": (16000, "rate of audio messages that do not say theirs"),
    "reaction_topic": ("/react_ros/reaction", "25-d reaction, std_msgs/Float32MultiArray"),
    "joint_topic": ("/react_ros/joint_commands", "face commands, sensor_msgs/JointState"),
    "face_image_topic": ("/react_ros/face_image", "rendered face, sensor_msgs/Image"),
    "diagnostics_topic": ("/diagnostics", "diagnostic_msgs/DiagnosticArray"),
    "backend": ("onnxruntime", "torch | onnxruntime | tensorrt"),
    "fallback_backend": ("torch", "backend used when `backend` cannot load ('' = none)"),
    "model_dir": ("", "model bundle directory ('' = the shipped demo model)"),
    "engine_dir": ("", "exported ONNX models / TensorRT engines ('' = the default)"),
    "threads": (1, "CPU threads for inference"),
    "sampler": ("", "dpm | ddim ('' = the model card's setting)"),
    "steps": (0, "sampling steps (0 = the model card's setting)"),
    "temperature": (-1.0, "initial-noise scale, lower = less diverse (< 0 = the model card's setting)"),
    "guidance": (-1.0, "classifier-free guidance (< 0 = the model card's setting)"),
    "noise_correlation": (-1.0, "noise correlation between windows, 0..1: higher = a steadier style per sample, "
                                "less appropriate (< 0 = the model card's setting)"),
    "seed": (0, "sampling seed: the same seed and input give the same reactions"),
    "samples": (1, "reactions sampled per frame (batched)"),
    "sample_index": (0, "which sample drives the face"),
    "crop_mode": ("full_frame", "full_frame (input is a face crop) | haar (camera scene)"),
    "robot_profile": ("screen_face", "profile name in config/robots or a YAML path"),
    "face_image": ("auto", "publish the rendered face: auto (screen profiles) | true | false"),
    "face_image_size": (256, "rendered face size in pixels"),
    "smoothing_s": (0.06, "joint smoothing time constant"),
    "input_timeout_s": (0.5, "no camera frame for this long: ease to neutral"),
    "reset_after_gap_s": (3.0, "a gap this long starts a fresh speaker context"),
    "watchdog_rate_hz": (30.0, "command rate while easing to neutral"),
    "diagnostics_period_s": (1.0, "diagnostics period"),
    "record": (False, "record the session to MCAP (settable at run time)"),
    "record_raw_media": (True, "also record camera images and microphone audio (false: features only)"),
    "participant_id": ("", "recorded as session metadata"),
    "condition": ("", "experimental condition, recorded as session metadata"),
    "output_dir": ("out/sessions", "where recordings go"),
}


class ReactionNode(_BaseNode):
    def __init__(self, name: str = "reaction_node", **kwargs) -> None:
        super().__init__(name, **kwargs)
        for key, (default, description) in PARAMETERS.items():
            self.declare_parameter(key, default, ParameterDescriptor(description=description))
        self.counters: Counter[str] = Counter()
        self.pipeline = None
        self.recorder = None
        self.last_recording: Path | None = None
        self.active = False
        self.last_diagnostics: dict[str, str] = {}
        self.info: dict = {}
        self._pipeline_lock = threading.Lock()
        self._motion_lock = threading.Lock()
        self._input_subscriptions: list = []
        self._active_timers: list = []
        self._outputs: dict = {}
        self._last_image_mono: float | None = None
        self._was_stale = True
        self._period = Counter()
        self._latency: dict[str, deque] = {}
        # In-process observers (the bringup's summary): fn(output, joint positions, display reaction, wall time)
        # called right after the frame's messages were published.
        self.output_hooks: list = []
        self._stamps: deque[float] = deque(maxlen=31)
        self.add_on_set_parameters_callback(self._on_parameters)
        self._service = None
        try:
            from std_srvs.srv import SetBool

            self._service = self.create_service(SetBool, "~/set_recording", self._on_set_recording)
        except ImportError:
            pass
        if self.param("autostart"):
            self.trigger_configure()
            if self.pipeline is not None:
                self.trigger_activate()

    def param(self, name: str):
        return self.get_parameter(name).value

    # ------------------------------------------------------------------------------------- lifecycle

    def on_configure(self, state=None):
        try:
            self._configure()
        except Exception as error:  # noqa: BLE001
            self.get_logger().error(f"configure failed: {error}")
            self.pipeline = None
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        from react_ros.face.renderer import FaceRenderer
        from react_ros.online import PipelineConfig, ReactionPipeline
        from react_ros.robot import MotionConfig, MotionController, RobotProfile, load_profile

        loaded = load_backend(self.param("backend"), self.param("fallback_backend"), self.param("model_dir"),
                              self.param("engine_dir"), int(self.param("threads")), self.get_logger())
        sampling = sampling_config(loaded.info.get("model_dir"), self.param("sampler"), int(self.param("steps")),
                                   float(self.param("temperature")), float(self.param("guidance")),
                                   float(self.param("noise_correlation")))
        config = PipelineConfig(samples=int(self.param("samples")), sample_index=int(self.param("sample_index")),
                                seed=int(self.param("seed")), crop_mode=str(self.param("crop_mode")))
        self.pipeline = ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn, sampling, config)
        self.info = dict(loaded.info, sampler=sampling.sampler, steps=sampling.steps,
                         temperature=sampling.temperature, guidance=sampling.guidance,
                         noise_correlation=sampling.noise_correlation)
        self.profile = load_profile(self.param("robot_profile"))
        motion = MotionConfig(smoothing_s=float(self.param("smoothing_s")),
                              stale_after_s=float(self.param("input_timeout_s")))
        self.motion = MotionController(self.profile, motion)
        face_image = str(self.param("face_image")).lower()
        self.render = self.profile.render if face_image == "auto" else face_image in ("true", "1", "yes")
        self.display = MotionController(RobotProfile.identity(), motion) if self.render else None
        self.renderer = FaceRenderer(int(self.param("face_image_size"))) if self.render else None
        qos = reliable_qos()
        self._outputs = {
            "reaction": self.create_publisher(Float32MultiArray, self.param("reaction_topic"), qos),
            "joints": self.create_publisher(JointState, self.param("joint_topic"), qos),
            "diagnostics": self.create_publisher(DiagnosticArray, self.param("diagnostics_topic"), qos),
        }
        if self.render:
            self._outputs["face"] = self.create_publisher(Image, self.param("face_image_topic"), qos)
        self.get_logger().info(f"configured: backend {self.info.get('backend')}, profile {self.profile.name} "
                               f"({len(self.profile.names)} joints), sampling {sampling}")

    def on_activate(self, state=None):
        if self.pipeline is None:
            return TransitionCallbackReturn.FAILURE
        inputs, timers = MutuallyExclusiveCallbackGroup(), MutuallyExclusiveCallbackGroup()
        self.pipeline.reset(int(self.param("seed")))
        self.motion.reset()
        audio_type, audio_msg = self._audio_message_type()
        self._audio_type = audio_type
        self._input_subscriptions = [
            self.create_subscription(Image, self.param("image_topic"), self._on_image, sensor_qos(),
                                     callback_group=inputs),
            self.create_subscription(audio_msg, self.param("audio_topic"), self._on_audio, sensor_qos(),
                                     callback_group=inputs),
        ]
        self._active_timers = [
            self.create_timer(1.0 / float(self.param("watchdog_rate_hz")), self._on_watchdog, callback_group=timers),
            self.create_timer(float(self.param("diagnostics_period_s")), self._publish_diagnostics,
                              callback_group=timers),
        ]
        self.active = True
        self._last_image_mono = None
        if self.param("record"):
            self.start_recording()
        self.get_logger().info(f"active: {self.param('image_topic')} + {self.param('audio_topic')} -> "
                               f"{self.param('joint_topic')}")
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state=None):
        self._stop_inputs()
        self._ease_to_neutral()
        self.stop_recording()
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state=None):
        for publisher in self._outputs.values():
            self.destroy_publisher(publisher)
        self._outputs = {}
        self.pipeline = None
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state=None):
        self.shutdown_gracefully()
        return TransitionCallbackReturn.SUCCESS

    def shutdown_gracefully(self) -> None:
        """Stop input, ease the face to neutral (within the velocity limits), close the recording."""
        if self.active:
            self._stop_inputs()
            self._ease_to_neutral()
        self.stop_recording()

    def _stop_inputs(self) -> None:
        self.active = False
        for subscription in self._input_subscriptions:
            self.destroy_subscription(subscription)
        for timer in self._active_timers:
            self.destroy_timer(timer)
        self._input_subscriptions, self._active_timers = [], []

    def _ease_to_neutral(self) -> None:
        if self.pipeline is None or "joints" not in self._outputs:
            return
        with self._motion_lock:
            for positions in self.motion.ease_to_neutral(time.monotonic(), rate_hz=50.0, max_s=2.0):
                self._publish_joints(positions, np.zeros_like(positions), time.time())
                time.sleep(0.02)

    def _audio_message_type(self):
        kind = str(self.param("audio_type"))
        if kind in ("audio_common_stamped", "audio_common"):
            try:
                from audio_common_msgs.msg import AudioData, AudioDataStamped

                return kind, AudioDataStamped if kind == "audio_common_stamped" else AudioData
            except ImportError:
                self.get_logger().error("audio_common_msgs is not installed; using the uint8_array layout")
        return "uint8_array", UInt8MultiArray

    # ------------------------------------------------------------------------------------- inputs

    def _on_image(self, msg: Image) -> None:
        try:
            self._handle_image(msg)
        except Exception as error:  # noqa: BLE001 (never die on a message)
            self.counters["errors"] += 1
            self.get_logger().warning(f"image dropped: {error}", throttle_duration_sec=5.0)

    def _handle_image(self, msg: Image) -> None:
        received = time.time()
        mono = time.monotonic()
        self.counters["images"] += 1
        self._period["images"] += 1
        try:
            image = image_to_bgr(msg)
        except BadMessage as error:
            self.counters[error.reason] += 1
            self.counters["bad_images"] += 1
            self.get_logger().warning(f"{self.param('image_topic')}: {error}", throttle_duration_sec=5.0)
            image = None  # the frame still counts: a frame without a usable face
        stamp = stamp_to_seconds(msg.header.stamp)
        if stamp <= 0.0:
            stamp = received
        if self._last_image_mono is not None and mono - self._last_image_mono > float(self.param("reset_after_gap_s")):
            with self._pipeline_lock:
                self.pipeline.reset(int(self.param("seed")))
            self.counters["context_resets"] += 1
            self._stamps.clear()
        self._count_missed(stamp)
        self._last_image_mono = mono
        if self.recorder is not None:
            self._record(self.param("image_topic"), "sensor_msgs/msg/Image", msg)
        with self._pipeline_lock:
            before = self.pipeline.stats.bad_stamps
            output = self.pipeline.push_image(image, stamp, emit=self._emit)
            if output is not None:  # stage latencies, including the window computed after the emit
                for stage, seconds in output.latency.items():
                    self._add_latency(stage, seconds)
            if self.pipeline.stats.bad_stamps != before:
                self.counters["bad_stamps"] += 1

    def _count_missed(self, stamp: float) -> None:
        """Camera frames lost on the way (best-effort QoS, a busy node), estimated from gaps in the stamps: a gap
        of more than 1.8 median frame intervals counts round(gap / interval) - 1 frames (timer jitter of a
        file player stays below that; gaps longer than 10 s are input gaps, not drops)."""
        if len(self._stamps) >= 5:
            interval = float(np.median(np.diff(np.array(self._stamps))))
            gap = stamp - self._stamps[-1]
            if interval > 0 and 1.8 * interval < gap < 10.0:
                self.counters["dropped_frames"] += int(round(gap / interval)) - 1
        self._stamps.append(stamp)

    def _on_audio(self, msg) -> None:
        try:
            self.counters["audio_chunks"] += 1
            received = time.time()
            try:
                if self._audio_type == "uint8_array":
                    pcm, rate, stamp = audio_from_msg(msg, int(self.param("audio_sample_rate")))
                else:
                    pcm, rate, stamp = audio_common_from_msg(msg, int(self.param("audio_sample_rate")))
            except BadMessage as error:
                self.counters[error.reason] += 1
                self.counters["bad_audio"] += 1
                self.get_logger().warning(f"{self.param('audio_topic')}: {error}", throttle_duration_sec=5.0)
                return
            if stamp is None or stamp <= 0:
                stamp = received - len(pcm) / rate
            if self.recorder is not None:
                self._record(self.param("audio_topic"), "std_msgs/msg/UInt8MultiArray", msg)
            with self._pipeline_lock:
                before = self.pipeline.stats.bad_audio
                self.pipeline.push_audio(pcm, rate, stamp)
                if self.pipeline.stats.bad_audio != before:
                    self.counters["bad_audio"] += 1
        except Exception as error:  # noqa: BLE001
            self.counters["errors"] += 1
            self.get_logger().warning(f"audio dropped: {error}", throttle_duration_sec=5.0)

    # ------------------------------------------------------------------------------------- outputs

    def _emit(self, output) -> None:
        """One reaction frame: publish the reaction, the joint commands and the face image, record them."""
        now_mono = time.monotonic()
        reaction = output.reaction
        msg = Float32MultiArray()
        msg.layout.dim = [MultiArrayDimension(label=LABELS, size=schema.REACTION_DIM, stride=schema.REACTION_DIM)]
        msg.data = [float(v) for v in reaction]
        self._outputs["reaction"].publish(msg)
        with self._motion_lock:
            positions = self.motion.update(reaction, now_mono)
            velocities = self.motion.velocities.copy()
            self._was_stale = False
        self._publish_joints(positions, velocities, output.stamp)
        e2e = time.time() - output.stamp
        self._add_latency("end_to_end", e2e)
        self._period["outputs"] += 1
        self._period["face_present"] += int(output.face_present)
        self._period["audio_present"] += int(output.audio_present)
        shown = None
        if self.render:
            with self._motion_lock:
                shown = self.display.update(reaction, now_mono)
            self._publish_face(shown, output.stamp)
        published = time.time()
        for hook in self.output_hooks:
            hook(output, positions, shown, published)
        if self.recorder is not None:
            self._record(self.param("reaction_topic"), "std_msgs/msg/Float32MultiArray", msg)
            self._record("/react_ros/features/speaker", "std_msgs/msg/Float32MultiArray",
                         _array_msg(output.speaker, LABELS + f",face_present={int(output.face_present)}"))
            self._record("/react_ros/features/audio", "std_msgs/msg/Float32MultiArray",
                         _array_msg(output.audio_features, f"log_mel,audio_present={int(output.audio_present)}"))

    def _publish_joints(self, positions, velocities, stamp: float) -> JointState:
        msg = JointState()
        msg.header.stamp = seconds_to_stamp(stamp)
        msg.name = list(self.profile.names)
        msg.position = [float(v) for v in positions]
        msg.velocity = [float(v) for v in velocities]
        self._outputs["joints"].publish(msg)
        self.counters["commands"] += 1
        if self.recorder is not None:  # every command, including the watchdog's and the shutdown easing
            self._record(self.param("joint_topic"), "sensor_msgs/msg/JointState", msg)
        return msg

    def _publish_face(self, shown: np.ndarray, stamp: float) -> None:
        reaction = schema.clip_to_range(np.asarray(shown, np.float32))  # identity profile: positions = reaction
        self._outputs["face"].publish(bgr_to_image(self.renderer.render(reaction), stamp, "face"))

    def _on_watchdog(self) -> None:
        """While input is stale (camera gone, generator stalled): ease to neutral, one step per tick."""
        try:
            now = time.monotonic()
            with self._motion_lock:
                if not self.motion.is_stale(now):
                    return
                if not self._was_stale:
                    self._was_stale = True
                    self.counters["input_gaps"] += 1
                    self.get_logger().warning("no input: easing the face to neutral")
                positions = self.motion.tick(now)
                velocities = self.motion.velocities.copy()
                shown = self.display.tick(now) if self.render else None
            self._publish_joints(positions, velocities, time.time())
            self.counters["watchdog_commands"] += 1
            if shown is not None:
                self._publish_face(shown, time.time())
        except Exception as error:  # noqa: BLE001
            self.counters["errors"] += 1
            self.get_logger().warning(f"watchdog: {error}", throttle_duration_sec=5.0)

    def _add_latency(self, stage: str, seconds: float) -> None:
        self._latency.setdefault(stage, deque(maxlen=20000)).append(seconds)

    def _publish_diagnostics(self) -> None:
        try:
            values = self.diagnostics()
            status = DiagnosticStatus()
            stale = values.get("stale") == "true"
            bad = any(int(values.get(k, "0")) for k in ("bad_images", "bad_audio", "errors"))
            status.level = DiagnosticStatus.WARN if (stale or bad) else DiagnosticStatus.OK
            status.name = f"react_ros: {self.get_name()}"
            status.message = "no input: face easing to neutral" if stale else "reacting"
            status.hardware_id = str(self.info.get("backend", ""))
            status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
            msg = DiagnosticArray()
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.status = [status]
            self._outputs["diagnostics"].publish(msg)
            if self.recorder is not None:
                self._record(self.param("diagnostics_topic"), "diagnostic_msgs/msg/DiagnosticArray",
                             {"header": {"stamp": {"sec": msg.header.stamp.sec, "nanosec": msg.header.stamp.nanosec},
                                         "frame_id": ""},
                              "status": [{"level": int.from_bytes(status.level, "little")
                                          if isinstance(status.level, bytes) else int(status.level),
                                          "name": status.name, "message": status.message,
                                          "hardware_id": status.hardware_id,
                                          "values": [{"key": k, "value": v} for k, v in values.items()]}]})
        except Exception as error:  # noqa: BLE001
            self.counters["errors"] += 1
            self.get_logger().warning(f"diagnostics: {error}", throttle_duration_sec=5.0)

    def diagnostics(self) -> dict[str, str]:
        """Key/values of the diagnostics message (also kept in `last_diagnostics`)."""
        period = float(self.param("diagnostics_period_s"))
        counts, self._period = self._period, Counter()
        outputs = counts["outputs"]
        values: dict[str, str] = {
            "state": "active" if self.active else "inactive",
            "rate_hz": f"{outputs / period:.2f}",
            "face_present": f"{counts['face_present'] / outputs:.2f}" if outputs else "0",
            "audio_present": f"{counts['audio_present'] / outputs:.2f}" if outputs else "0",
            "stale": "true" if self.motion.is_stale(time.monotonic()) else "false",
            "recording": str(self.recorder.path) if self.recorder is not None else "off",
        }
        for key in ("backend", "precision", "reaction_model_sha256", "estimator_sha256", "engine_sha256",
                    "sampler", "steps", "fallback_from"):
            if key in self.info:
                values[key] = str(self.info[key])
        for key, value in self.info.items():
            if key.endswith("_id") or key.endswith("sha256"):
                values.setdefault(key, str(value))
        for stage, samples in self._latency.items():
            if samples:
                array = np.array(samples) * 1000.0
                values[f"latency_{stage}_ms_median"] = f"{np.median(array):.2f}"
                values[f"latency_{stage}_ms_p99"] = f"{np.percentile(array, 99):.2f}"
        stats = self.pipeline.stats if self.pipeline is not None else None
        totals = Counter(self.counters)
        if stats is not None:
            totals["windows"] = stats.windows
            totals["audio_restarts"] = stats.audio_restarts
            totals["unreadable_images"] = stats.bad_images
            totals["errors"] += stats.errors
        for key in ("images", "audio_chunks", "commands", "watchdog_commands", "dropped_frames", "bad_images",
                    "bad_audio", "bad_stamps", "unknown_encoding", "empty_image", "bad_image_size", "odd_audio_bytes",
                    "bad_audio_layout", "empty_audio", "input_gaps", "context_resets", "errors", "windows",
                    "audio_restarts", "unreadable_images"):
            values[key] = str(totals.get(key, 0))
        self.last_diagnostics = values
        return values

    # ------------------------------------------------------------------------------------- recording

    def _on_parameters(self, parameters) -> SetParametersResult:
        for parameter in parameters:
            if parameter.name == "record" and self.active:
                try:
                    if parameter.value:
                        self.start_recording()
                    else:
                        self.stop_recording()
                except Exception as error:  # noqa: BLE001
                    return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _on_set_recording(self, request, response):
        try:
            if request.data:
                self.start_recording()
            else:
                self.stop_recording()
            response.success = True
            response.message = str(self.recorder.path) if self.recorder is not None else "stopped"
        except Exception as error:  # noqa: BLE001
            response.success, response.message = False, str(error)
        return response

    def start_recording(self) -> Path:
        from react_ros.recording import McapRecorder

        if self.recorder is not None:
            return self.recorder.path
        participant = str(self.param("participant_id"))
        condition = str(self.param("condition"))
        name = "_".join(x for x in ("session", time.strftime("%Y%m%d-%H%M%S"), participant, condition) if x)
        path = Path(self.param("output_dir")) / f"{name}.mcap"
        parameters = {key: self.param(key) for key in PARAMETERS}
        metadata = {
            "session": {"participant_id": participant, "condition": condition, "seed": str(self.param("seed")),
                        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "node": self.get_fully_qualified_name()},
            "model": {k: str(v) for k, v in self.info.items()},
            "parameters": {k: json.dumps(v) for k, v in parameters.items()},
            "robot_profile": {"name": self.profile.name, "source": self.profile.source,
                              "joints": ",".join(self.profile.names)},
        }
        recorder = McapRecorder(path, metadata, raw_media=bool(self.param("record_raw_media")))
        recorder.mark_raw_media(self.param("image_topic"), self.param("audio_topic"))
        self.recorder = recorder
        self.get_logger().info(f"recording to {path}")
        return path

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()
            self.last_recording = recorder.path
            self.get_logger().info(f"recording closed: {recorder.path} ({sum(recorder.counts.values())} messages)")

    def _record(self, topic: str, datatype: str, msg) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        try:
            recorder.write(topic, datatype, msg)
        except Exception as error:  # noqa: BLE001 (a full disk must not stop the face)
            self.counters["record_errors"] += 1
            self.get_logger().warning(f"recording: {error}", throttle_duration_sec=5.0)


def _array_msg(values, label: str) -> Float32MultiArray:
    msg = Float32MultiArray()
    values = np.asarray(values if values is not None else [], np.float32).reshape(-1)
    msg.layout.dim = [MultiArrayDimension(label=label, size=len(values), stride=len(values))]
    msg.data = [float(v) for v in values]
    return msg


def load_backend(backend: str, fallback: str, model_dir: str, engine_dir: str, threads: int, logger=None):
    """runtime.load_graphs with a fallback: when `backend` fails to load, `fallback` is loaded instead and
    the info says `fallback_from` (shown in diagnostics)."""
    from react_ros.runtime import load_graphs

    model = model_dir or None
    engines = engine_dir or None
    try:
        return load_graphs(backend, model_dir=model, engine_dir=engines, threads=threads, fallback=fallback or None)
    except Exception as error:  # noqa: BLE001
        if not fallback or fallback == backend:
            raise
        if logger is not None:
            logger.warning(f"backend {backend!r} failed ({error}); falling back to {fallback!r}")
        loaded = load_graphs(fallback, model_dir=model, engine_dir=engines, threads=threads)
        loaded.info = dict(loaded.info, fallback_from=backend)
        return loaded


def sampling_config(model_dir, sampler: str = "", steps: int = 0, temperature: float = -1.0,
                    guidance: float = -1.0, noise_correlation: float = -1.0):
    """The model card's tuned sampling setting, overridden by the parameters that are set."""
    from react_ros.model.bundle import CARD_FILE, default_model_dir
    from react_ros.model.generator import SamplingConfig

    card_path = Path(model_dir or default_model_dir()) / CARD_FILE
    values: dict = {}
    if card_path.is_file():
        try:
            values = dict(json.loads(card_path.read_text()).get("sampling", {}))
        except (ValueError, AttributeError):
            values = {}
    if sampler:
        values["sampler"] = sampler
    if steps > 0:
        values["steps"] = steps
    if temperature >= 0:
        values["temperature"] = temperature
    if guidance >= 0:
        values["guidance"] = guidance
    if noise_correlation >= 0:
        values["noise_correlation"] = noise_correlation
    known = set(SamplingConfig.__dataclass_fields__)
    return SamplingConfig(**{k: v for k, v in values.items() if k in known})


def main(args: list[str] | None = None) -> int:
    from react_ros.nodes.runtime import spin_nodes

    return spin_nodes([ReactionNode], args if args is not None else sys.argv)


if __name__ == "__main__":
    sys.exit(main())

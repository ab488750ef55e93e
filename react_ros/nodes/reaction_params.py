"""The reaction node's parameters and how they become a session configuration and a sampling setting."""
from __future__ import annotations

import math
from collections.abc import Callable

from react_ros.online import PipelineConfig, SessionConfig

# name: (default, description)
PARAMETERS: dict[str, tuple[object, str]] = {
    "autostart": (True, "configure and activate at start (false: wait for a lifecycle manager)"),
    "image_topic": ("/camera/image_raw", "speaker camera, sensor_msgs/Image"),
    "image_transport": ("raw", "raw (sensor_msgs/Image on image_topic) | compressed (sensor_msgs/CompressedImage on "
                               "image_topic + '/compressed', as image_transport publishes it)"),
    "audio_topic": ("/audio", "speaker microphone"),
    "audio_type": ("uint8_array", "uint8_array (built-in layout) | audio_common_stamped | audio_common"),
    "audio_sample_rate": (16000, "rate of audio messages that do not say theirs"),
    "input_reliability": ("best_effort", "camera/microphone subscriptions: best_effort (sensor data) | reliable"),
    "input_depth": (5, "camera/microphone subscriptions: queue depth (keep last)"),
    "max_stamp_skew_s": (10.0, "an input stamp further than this from the receive time is garbage and replaced "
                               "by it (0 = accept any clock, e.g. replays in simulated time)"),
    "reaction_topic": ("/react_ros/reaction", "25-d reaction, std_msgs/Float32MultiArray"),
    "reaction_stamped_topic": ("/react_ros/reaction_stamped", "25-d reaction with the camera frame's stamp, "
                                                               "sensor_msgs/JointState (attribute names, position)"),
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
    "crop_mode": ("full_frame", "haar front end: full_frame (input is a face crop) | haar (camera scene)"),
    "face_frontend": ("auto", "speaker front end: auto (the one the model card says it was trained on) | haar "
                              "(crop + CNN) | mesh (BlazeFace + FaceMesh, docs/perception.md)"),
    "check_smiles": (True, "mesh front end: read a smiling face that an expression net calls sad as distress, not a "
                           "smile (docs/perception.md; the net's training data: assets/face_models/README.md)"),
    "robot_profile": ("screen_face", "profile name in config/robots or a YAML path"),
    "face_image": ("auto", "publish the rendered face: auto (screen profiles) | true | false"),
    "face_image_size": (256, "rendered face size in pixels"),
    "face_style": ("cartoon", "rendered face: cartoon | human (a shaded 3D human-style face, docs/human_face.md)"),
    "smoothing_s": (0.06, "joint smoothing time constant"),
    "input_timeout_s": (0.15, "no reaction for this long: ease to neutral"),
    "reset_after_gap_s": (3.0, "a gap this long starts a fresh speaker context"),
    "watchdog_rate_hz": (50.0, "command rate while easing to neutral"),
    "diagnostics_period_s": (1.0, "diagnostics period"),
    "record": (False, "record the session to MCAP (settable at run time)"),
    "record_raw_media": (True, "also record camera images and microphone audio (false: features only)"),
    "participant_id": ("", "recorded as session metadata"),
    "condition": ("", "study condition, switchable at run time: model | mime | neutral | a conditions_file name "
                      "('' = model); recorded as session metadata"),
    "conditions_file": ("", "study YAML whose conditions the node can switch to ('' = model, mime, neutral)"),
    "mime_delay_s": (0.5, "delay of the built-in mime condition (the participant's face, this much later)"),
    "output_dir": ("out/sessions", "where recordings go"),
}

# Accepted values, inclusive (ROS 2 IntegerRange / FloatingPointRange on the descriptors; nodes/parameters.py).
# Each excludes what cannot work: a rate or period of 0 (a dead timer, a division by zero), a negative timeout,
# negative steps; the "unset" values (steps 0, temperature/guidance/noise_correlation < 0) stay inside.
RANGES: dict[str, tuple[float, float]] = {
    "audio_sample_rate": (1000, 384000),  # what the audio reader accepts from a message (nodes/common.py)
    "input_depth": (1, 1000),
    "max_stamp_skew_s": (0.0, 1e6),
    "threads": (1, 256),
    "steps": (0, 1000),
    "temperature": (-1.0, 10.0),
    "guidance": (-1.0, 100.0),
    "noise_correlation": (-1.0, 1.0),
    "seed": (0, 2**32 - 1),  # numpy's seeds
    "samples": (1, 64),
    "sample_index": (0, 63),  # and below `samples` (check_values)
    "face_image_size": (16, 4096),
    "smoothing_s": (0.0, 10.0),
    "input_timeout_s": (0.01, 60.0),
    "reset_after_gap_s": (0.1, 3600.0),
    "watchdog_rate_hz": (1.0, 1000.0),
    "diagnostics_period_s": (0.05, 3600.0),
    "mime_delay_s": (0.0, 10.0),
}
# Read once when the node starts: a change needs a restart.
READ_ONLY = ("autostart", "diagnostics_topic", "diagnostics_period_s")
# Take effect while the node runs (a switch, or the next recording). Every other parameter is read at configure or
# activate: a change is refused while the node is configured (it would silently do nothing).
LIVE = ("record", "condition", "participant_id", "output_dir", "record_raw_media")


def check_values(values: dict[str, object]) -> str:
    """Checks across parameters (each one's own range is on its descriptor): '' when fine, else the reason."""
    if int(values["sample_index"]) >= int(values["samples"]):
        return (f"sample_index {values['sample_index']} must be below samples ({values['samples']}): it picks one "
                "of the samples")
    if float(values["reset_after_gap_s"]) < float(values["input_timeout_s"]):
        return (f"reset_after_gap_s {values['reset_after_gap_s']} must be at least input_timeout_s "
                f"({values['input_timeout_s']}): the face eases to neutral before the context resets")
    return ""


def session_config(param: Callable[[str], object]) -> SessionConfig:
    """param(name) -> value of the node's parameter."""
    pipeline = PipelineConfig(samples=int(param("samples")), sample_index=int(param("sample_index")),
                              seed=int(param("seed")), crop_mode=str(param("crop_mode")),
                              face_frontend=str(param("face_frontend")), check_smiles=bool(param("check_smiles")))
    return SessionConfig(pipeline, robot_profile=str(param("robot_profile")), face_image=str(param("face_image")),
                         face_image_size=int(param("face_image_size")), face_style=str(param("face_style")),
                         smoothing_s=float(param("smoothing_s")),
                         input_timeout_s=float(param("input_timeout_s")),
                         reset_after_gap_s=float(param("reset_after_gap_s")),
                         diagnostics_period_s=float(param("diagnostics_period_s")),
                         max_stamp_skew_s=float(param("max_stamp_skew_s")) or math.inf)


def sampling_overrides(param: Callable[[str], object]) -> dict[str, object]:
    """The sampling parameters that are set (their "unset" values: '' / 0 / < 0) for model.card.sampling_setting."""
    steps, temperature = int(param("steps")), float(param("temperature"))
    guidance, correlation = float(param("guidance")), float(param("noise_correlation"))
    return {"sampler": str(param("sampler")) or None, "steps": steps if steps > 0 else None,
            "temperature": temperature if temperature >= 0 else None, "guidance": guidance if guidance >= 0 else None,
            "noise_correlation": correlation if correlation >= 0 else None}


CROP_MODES = ("full_frame", "haar")


def check_config(param: Callable[[str], object]):
    """The parameters that need no model, checked before the backend loads: the robot profile (returned), the
    crop mode, the image transport, the face style and the input QoS. Raises ConfigError with the reason."""
    from react_ros.nodes.common import IMAGE_TRANSPORTS, ConfigError, clip_text, input_qos
    from react_ros.robot import load_profile

    input_qos(str(param("input_reliability")), int(param("input_depth")))
    if str(param("image_transport")) not in IMAGE_TRANSPORTS:
        raise ConfigError(f"image_transport {clip_text(param('image_transport'))}: expected one of "
                          f"{', '.join(IMAGE_TRANSPORTS)}")
    if str(param("crop_mode")) not in CROP_MODES:
        raise ConfigError(f"crop_mode {clip_text(param('crop_mode'))}: expected one of {', '.join(CROP_MODES)}")
    from react_ros.online.face_style import FACE_STYLES

    if str(param("face_style")).strip().lower() not in FACE_STYLES:
        raise ConfigError(f"face_style {clip_text(param('face_style'))}: expected one of {', '.join(FACE_STYLES)}")
    try:
        return load_profile(str(param("robot_profile")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"robot_profile {clip_text(param('robot_profile'))}: {error}") from error

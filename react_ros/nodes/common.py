"""Message conversions and QoS shared by the nodes (rclpy and standard messages only).

Audio on the wire (the built-in microphone node's format, read by the reaction node): `std_msgs/UInt8MultiArray`
whose `data` is raw little-endian signed 16-bit PCM (S16LE), interleaved when there are several channels:
the same bytes as `audio_common_msgs/AudioData`. Its `layout.dim` names the stream (stride 0 marks a
metadata entry; receivers that ignore the layout still read plain S16LE):

    dim[0] label "samples"       size = samples per channel in this chunk   stride = bytes in the chunk
    dim[1] label "channels"      size = channels                            stride = bytes per frame
    dim[2] label "sample_rate"   size = samples per second (e.g. 16000)     stride = 0
    dim[3] label "stamp_sec"     size = capture time of the first sample, seconds part        stride = 0
    dim[4] label "stamp_nanosec" size = capture time of the first sample, nanoseconds part    stride = 0

A chunk without sample_rate uses the reaction node's `audio_sample_rate` parameter, one without a stamp the
time it was received minus its duration; channels default to 1. `audio_common_msgs/AudioDataStamped` (and
`AudioData`) are accepted too when that package is installed (`audio_type` parameter).
"""
from __future__ import annotations

import numpy as np

SENSOR_QOS_DEPTH = 5
RELIABILITY = ("best_effort", "reliable")
LOG_TEXT_LIMIT = 80  # characters of an input string that a log line or error may quote


class ConfigError(ValueError):
    """A parameter value the node cannot run with. Nodes let it propagate out of construction/configure so
    that the process exits non-zero with the message (react_ros.nodes.runtime.spin_nodes returns 1)."""


def input_qos(reliability: str = "best_effort", depth: int = SENSOR_QOS_DEPTH):
    """QoS of camera/microphone topics: the sensor-data profile (keep last, volatile; best effort, depth 5 by
    default) with the reliability and depth from parameters. Best effort drops frames rather than queueing
    stale ones; `reliable` for drivers that publish reliable-only, or when large best-effort images do not
    arrive (Fast DDS fragments them over UDP; see docs/ros.md on FASTDDS_BUILTIN_TRANSPORTS).
    A best-effort subscription matches both kinds of publisher; a reliable one only reliable publishers."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

    name = str(reliability).strip().lower().replace("-", "_")
    if name not in RELIABILITY:
        raise ConfigError(f"reliability {clip_text(reliability)}: expected one of {', '.join(RELIABILITY)}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 1000:
        raise ConfigError(f"QoS depth {clip_text(depth)}: expected an integer 1..1000")
    return QoSProfile(history=qos_profile_sensor_data.history, durability=qos_profile_sensor_data.durability,
                      depth=depth, reliability=ReliabilityPolicy.RELIABLE if name == "reliable"
                      else ReliabilityPolicy.BEST_EFFORT)


def sensor_qos():
    """Camera/microphone inputs: best effort, keep last 5 (rclpy's qos_profile_sensor_data)."""
    return input_qos()


def qos_overriding_options():
    """Pass as `qos_overriding_options=` to create_subscription/create_publisher so that the standard ROS 2
    `qos_overrides.<topic>.<subscription|publisher>.{reliability,depth,history}` parameters (set
    at start-up, e.g. in the params file) override the profile above."""
    from rclpy.qos_overriding_options import QoSOverridingOptions

    return QoSOverridingOptions.with_default_policies()


def create_input_subscription(node, msg_type, topic: str, callback, reliability: str = "best_effort",
                              depth: int = SENSOR_QOS_DEPTH, **kwargs):
    """A camera/microphone subscription: `input_qos(reliability, depth)` (ConfigError on bad values), which the
    standard `qos_overrides.<topic>.subscription.{reliability,depth,history}` parameters can override."""
    return node.create_subscription(msg_type, topic, callback, input_qos(reliability, depth),
                                    qos_overriding_options=qos_overriding_options(), **kwargs)


def clip_text(value, limit: int = LOG_TEXT_LIMIT) -> str:
    """repr() of an input value for a log line or error, at most about `limit` characters: encodings, frame ids
    and labels come from other programs and can be megabytes long."""
    text = repr(value) if not isinstance(value, (bytes, bytearray, memoryview)) else f"<{len(value)} bytes>"
    return text if len(text) <= limit else f"{text[:limit]}...(+{len(text) - limit} chars)"


AUDIO_TYPES = ("uint8_array", "audio_common_stamped", "audio_common")


def audio_message_type(kind: str):
    """The message class for the `audio_type` parameter. Raises ConfigError for an unknown type, or when the
    audio_common package it names is not installed (or is the incompatible package of the same name):
    subscribing another type on the same topic would only ever see nothing."""
    if kind == "uint8_array":
        from std_msgs.msg import UInt8MultiArray

        return UInt8MultiArray
    if kind not in AUDIO_TYPES:
        raise ConfigError(f"audio_type {clip_text(kind)}: expected one of {', '.join(AUDIO_TYPES)}")
    try:
        import audio_common_msgs.msg as messages  # noqa: PLC0415 (optional: ros-drivers/audio_common)
    except ImportError as error:
        raise ConfigError(f"audio_type {kind} needs audio_common_msgs (ros-drivers/audio_common), which is not "
                          "installed; use audio_type uint8_array with the built-in microphone node") from error
    name = "AudioDataStamped" if kind == "audio_common_stamped" else "AudioData"
    if not hasattr(messages, name):
        raise ConfigError(f"audio_type {kind}: the installed audio_common_msgs has no {name} (it is probably "
                          "mgonzs13/audio_common, a different package of the same name); react_ros reads "
                          "ros-drivers/audio_common's AudioData/AudioDataStamped")
    return getattr(messages, name)


def reliable_qos(depth: int = 10):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def stamp_to_seconds(stamp) -> float:
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


class ExactStamps:
    """The integer stamps (builtin_interfaces/Time) of recent input messages by their float seconds, so that an
    output carries its input's stamp exactly: a float near 1.8e9 s holds only about 0.24 us, so sec/nanosec ->
    seconds -> sec/nanosec can move a stamp by up to ~120 ns and exact-stamp matching (message_filters) fails."""

    def __init__(self, size: int = 256) -> None:
        from collections import OrderedDict

        self._stamps: OrderedDict = OrderedDict()
        self._size = size

    def seconds(self, stamp) -> float:
        """A message's stamp -> float seconds (for the library), remembering the exact stamp."""
        seconds = stamp_to_seconds(stamp)
        self._stamps[seconds] = stamp
        self._stamps.move_to_end(seconds)
        while len(self._stamps) > self._size:
            self._stamps.popitem(last=False)
        return seconds

    def stamp(self, seconds: float):
        """Float seconds -> the exact stamp of the input they came from, else the nearest nanosecond."""
        exact = self._stamps.get(seconds)
        return exact if exact is not None else seconds_to_stamp(seconds)


def as_stamp(value):
    """builtin_interfaces/Time as it is, or float seconds -> Time."""
    return seconds_to_stamp(value) if isinstance(value, (int, float, np.floating)) else value


def seconds_to_stamp(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(np.floor(seconds))
    nanosec = min(int(round((seconds - sec) * 1e9)), 999_999_999)
    return Time(sec=sec, nanosec=nanosec)


def array_msg(values, label: str):
    """A flat float32 array -> std_msgs/Float32MultiArray with one labelled dimension."""
    from std_msgs.msg import Float32MultiArray, MultiArrayDimension

    msg = Float32MultiArray()
    values = np.asarray(values if values is not None else [], np.float32).reshape(-1)
    msg.layout.dim = [MultiArrayDimension(label=label, size=len(values), stride=len(values))]
    msg.data = [float(v) for v in values]
    return msg


def joint_state_msg(names, positions, stamp, velocities=None):
    """sensor_msgs/JointState: a stamped, labelled vector (joint commands, or the 25-d reaction by name).
    stamp: builtin_interfaces/Time, or float seconds."""
    from sensor_msgs.msg import JointState

    msg = JointState()
    msg.header.stamp = as_stamp(stamp)
    msg.name = [str(name) for name in names]
    msg.position = [float(v) for v in positions]
    msg.velocity = [float(v) for v in velocities] if velocities is not None else []
    return msg


def diagnostics_msg(name: str, snapshot, hardware_id: str, stamp):
    """A session's diagnostics snapshot (online.SessionDiagnostics) -> diagnostic_msgs/DiagnosticArray at the
    snapshot's level (online/health.py: WARN while stale or after recent bad input, ERROR with the reason)."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(name=name, message=snapshot.message, hardware_id=hardware_id)
    status.level = bytes([int(snapshot.level)])
    status.values = [KeyValue(key=k, value=v) for k, v in snapshot.values.items()]
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = stamp
    return msg


# ------------------------------------------------------------------------------------------------ images

# encoding -> (values per pixel, bytes per value, OpenCV conversion to BGR or None). The names and the memory
# layouts are sensor_msgs/image_encodings.hpp's; the Bayer codes follow cv_bridge (OpenCV names a pattern by
# its second row: ROS bayer_rggb8 is OpenCV's BayerBG). "yuv422" is UYVY in ROS, "yuv422_yuy2" YUYV.
_FORMATS: dict[str, tuple[int, int, str | None]] = {
    "bgr8": (3, 1, None), "rgb8": (3, 1, "COLOR_RGB2BGR"), "bgra8": (4, 1, "COLOR_BGRA2BGR"),
    "rgba8": (4, 1, "COLOR_RGBA2BGR"), "mono8": (1, 1, None), "8UC1": (1, 1, None), "8UC3": (3, 1, None),
    "8UC4": (4, 1, "COLOR_BGRA2BGR"),
    "bgr16": (3, 2, None), "rgb16": (3, 2, "COLOR_RGB2BGR"), "bgra16": (4, 2, "COLOR_BGRA2BGR"),
    "rgba16": (4, 2, "COLOR_RGBA2BGR"), "mono16": (1, 2, None), "16UC1": (1, 2, None), "16UC3": (3, 2, None),
    "32FC1": (1, 4, None), "32FC3": (3, 4, None),
    **{f"bayer_{pattern}{bits}": (1, bits // 8, f"COLOR_Bayer{opencv}2BGR")
       for pattern, opencv in (("rggb", "BG"), ("bggr", "RG"), ("gbrg", "GR"), ("grbg", "GB")) for bits in (8, 16)},
    "yuv422": (2, 1, "COLOR_YUV2BGR_UYVY"), "uyvy": (2, 1, "COLOR_YUV2BGR_UYVY"),
    "yuv422_yuy2": (2, 1, "COLOR_YUV2BGR_YUYV"), "yuyv": (2, 1, "COLOR_YUV2BGR_YUYV"),
    "nv21": (1, 1, "COLOR_YUV2BGR_NV21"),  # a full-size Y plane, then half-height interleaved VU
}
ENCODINGS = tuple(_FORMATS)


class BadMessage(ValueError):
    """A message that cannot be used; `reason` is the diagnostics counter it goes to."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def image_to_bgr(msg) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) BGR uint8, (H, W) gray uint8, or float32 for 32FC images (0..1 or 0..255;
    NaN pixels are handled by the face cropper). Raises BadMessage."""
    encoding = str(msg.encoding)
    if encoding not in _FORMATS:
        raise BadMessage("unknown_encoding", f"image encoding {clip_text(encoding)} (supported: "
                                             f"{', '.join(ENCODINGS)})")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    data = memoryview(msg.data).cast("B") if not isinstance(msg.data, bytes) else msg.data
    if height <= 0 or width <= 0 or len(data) == 0:
        raise BadMessage("empty_image", f"{width}x{height} image with {len(data)} bytes")
    values, size, conversion = _FORMATS[encoding]
    rows = height * 3 // 2 if encoding == "nv21" else height
    subsampled = encoding in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv", "nv21")
    if (step < width * values * size or len(data) < step * rows or (subsampled and width % 2)
            or (encoding == "nv21" and height % 2)):
        raise BadMessage("bad_image_size", f"{width}x{height} {encoding} step {step} with {len(data)} bytes")
    pixels = np.frombuffer(data, np.uint8, count=step * rows).reshape(rows, step)[:, : width * values * size]
    if size == 4:
        floats = pixels.copy().view(">f4" if msg.is_bigendian else "<f4").reshape(height, width, values)
        return floats[:, :, 0] if values == 1 else floats
    if size == 2:
        pixels = pixels.copy().view(">u2" if msg.is_bigendian else "<u2").astype(np.uint16)  # native order
    image = pixels.reshape(rows, width, values) if not subsampled or encoding == "nv21" else \
        pixels.reshape(rows, width, 2)
    if conversion is not None:
        import cv2

        image = cv2.cvtColor(np.ascontiguousarray(image.squeeze(2) if values == 1 else image),
                             getattr(cv2, conversion))
    if image.dtype == np.uint16:  # 16-bit images keep their top 8 bits, after demosaicing at full depth
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    # A view of `bytes` data (messages decoded from a recording) is read-only: hand out a writable array.
    return image if image.flags.writeable and image.flags.c_contiguous else np.array(image, order="C")


IMAGE_TRANSPORTS = ("raw", "compressed")


def compressed_to_bgr(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage as image_transport's `compressed` plugin publishes it (format "jpeg", "png",
    or "<encoding>; jpeg compressed bgr8": it compressed bgr8, or mono8) -> BGR uint8 or gray. Raises BadMessage;
    compressedDepth is not a camera image."""
    import cv2

    form = str(msg.format).strip().lower()
    codec = form.split(";")[-1].split()[0] if form else "jpeg"
    if "compresseddepth" in form or codec not in ("jpeg", "jpg", "png"):
        raise BadMessage("unknown_encoding", f"compressed image format {clip_text(msg.format)} (supported: jpeg, png)")
    data = msg.data if isinstance(msg.data, bytes) else bytes(msg.data)
    if not data:
        raise BadMessage("empty_image", "compressed image with no bytes")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise BadMessage("bad_image_size", f"{len(data)} bytes that do not decode as {codec}")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return image


def bgr_to_compressed(image: np.ndarray, stamp_seconds: float, quality: int = 90, frame_id: str = ""):
    """(H, W, 3) BGR uint8 -> sensor_msgs/CompressedImage as image_transport's compressed plugin makes it."""
    import cv2
    from sensor_msgs.msg import CompressedImage

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    msg = CompressedImage(format="bgr8; jpeg compressed bgr8", data=encoded.tobytes())
    msg.header.stamp = seconds_to_stamp(stamp_seconds)
    msg.header.frame_id = frame_id
    return msg


def bgr_to_image(image: np.ndarray, stamp, frame_id: str = ""):
    """(H, W, 3) BGR uint8 -> sensor_msgs/Image bgr8. stamp: builtin_interfaces/Time, or float seconds."""
    from sensor_msgs.msg import Image

    image = np.ascontiguousarray(image, dtype=np.uint8)
    msg = Image()
    msg.header.stamp = as_stamp(stamp)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    if image.ndim == 2:
        msg.encoding, msg.step = "mono8", int(image.shape[1])
    else:
        msg.encoding, msg.step = "bgr8", int(image.shape[1] * 3)
    msg.data = image.tobytes()
    return msg


# ------------------------------------------------------------------------------------------------ audio

def make_audio_msg(samples: np.ndarray, sample_rate: int, stamp_seconds: float):
    """int16 (n,) or (n, channels) PCM -> std_msgs/UInt8MultiArray in the layout above."""
    from std_msgs.msg import MultiArrayDimension, UInt8MultiArray

    pcm = np.asarray(samples)
    if pcm.dtype != np.int16:
        pcm = np.round(np.clip(np.asarray(pcm, np.float64), -1.0, 1.0) * 32767).astype(np.int16)
    if pcm.ndim == 1:
        pcm = pcm[:, None]
    n, channels = pcm.shape
    sec = int(np.floor(stamp_seconds))
    nanosec = min(int(round((stamp_seconds - sec) * 1e9)), 999_999_999)
    msg = UInt8MultiArray()
    msg.layout.dim = [
        MultiArrayDimension(label="samples", size=n, stride=n * channels * 2),
        MultiArrayDimension(label="channels", size=channels, stride=channels * 2),
        MultiArrayDimension(label="sample_rate", size=int(sample_rate), stride=0),
        MultiArrayDimension(label="stamp_sec", size=sec, stride=0),
        MultiArrayDimension(label="stamp_nanosec", size=nanosec, stride=0),
    ]
    msg.data = pcm.astype("<i2").tobytes()
    return msg


def audio_from_msg(msg, default_rate: int) -> tuple[np.ndarray, int, float | None]:
    """std_msgs/UInt8MultiArray (layout above) -> (int16 (n, channels), sample_rate, stamp or None).
    Raises BadMessage for an odd byte count, a layout that does not match the data, or a bad rate."""
    dims = {d.label: int(d.size) for d in msg.layout.dim}
    data = msg.data if isinstance(msg.data, bytes) else bytes(msg.data)
    return _pcm_bytes(data, dims.get("channels", 1), dims.get("sample_rate", default_rate),
                      (dims["stamp_sec"] + dims.get("stamp_nanosec", 0) * 1e-9) if "stamp_sec" in dims else None,
                      dims.get("samples"))


def audio_common_from_msg(msg, default_rate: int, channels: int = 1) -> tuple[np.ndarray, int, float | None]:
    """audio_common_msgs AudioDataStamped (header + audio.data) or AudioData (data), raw S16LE."""
    stamp = None
    if hasattr(msg, "header"):
        stamp = stamp_to_seconds(msg.header.stamp) or None
        msg = msg.audio
    data = msg.data if isinstance(msg.data, bytes) else bytes(msg.data)
    return _pcm_bytes(data, channels, default_rate, stamp, None)


def _pcm_bytes(data: bytes, channels: int, rate: int, stamp: float | None,
               samples: int | None) -> tuple[np.ndarray, int, float | None]:
    if len(data) == 0:
        raise BadMessage("empty_audio", "audio chunk with no samples")
    if channels < 1 or channels > 16:
        raise BadMessage("bad_audio_layout", f"{channels} channels")
    if rate < 1000 or rate > 384000:
        raise BadMessage("bad_audio_layout", f"sample rate {rate}")
    if len(data) % (2 * channels):
        raise BadMessage("odd_audio_bytes", f"{len(data)} bytes is not a whole number of {channels}-channel "
                                            "S16LE frames")
    pcm = np.frombuffer(data, "<i2").reshape(-1, channels)
    if samples is not None and samples != len(pcm):
        raise BadMessage("bad_audio_layout", f"layout says {samples} samples, data holds {len(pcm)}")
    return pcm, rate, stamp

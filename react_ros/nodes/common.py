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


def sensor_qos():
    """Camera/microphone inputs: best effort, keep last 5 (rclpy's qos_profile_sensor_data)."""
    from rclpy.qos import qos_profile_sensor_data

    return qos_profile_sensor_data


def reliable_qos(depth: int = 10):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def stamp_to_seconds(stamp) -> float:
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


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


def diagnostics_msg(name: str, snapshot, hardware_id: str, stamp):
    """A session's diagnostics snapshot (online.SessionDiagnostics) -> diagnostic_msgs/DiagnosticArray:
    WARN while stale (no input) or after bad messages, errors or a backend fallback, else OK."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(name=name, message=snapshot.message, hardware_id=hardware_id)
    status.level = DiagnosticStatus.WARN if (snapshot.stale or snapshot.problems) else DiagnosticStatus.OK
    status.values = [KeyValue(key=k, value=v) for k, v in snapshot.values.items()]
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = stamp
    return msg


# ------------------------------------------------------------------------------------------------ images

_CHANNELS = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1, "8UC1": 1, "8UC3": 3, "mono16": 1,
             "16UC1": 1, "32FC1": 1, "32FC3": 3}
_DEPTH = {"mono16": 2, "16UC1": 2, "32FC1": 4, "32FC3": 4}


class BadMessage(ValueError):
    """A message that cannot be used; `reason` is the diagnostics counter it goes to."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def image_to_bgr(msg) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) BGR uint8 (or (H, W) gray). Raises BadMessage."""
    encoding = str(msg.encoding)
    if encoding not in _CHANNELS:
        raise BadMessage("unknown_encoding", f"image encoding {encoding!r} (supported: {', '.join(_CHANNELS)})")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    data = memoryview(msg.data).cast("B") if not isinstance(msg.data, bytes) else msg.data
    if height == 0 or width == 0 or len(data) == 0:
        raise BadMessage("empty_image", f"{width}x{height} image with {len(data)} bytes")
    channels = _CHANNELS[encoding]
    depth = _DEPTH.get(encoding, 1)
    if step < width * channels * depth or len(data) < step * height:
        raise BadMessage("bad_image_size", f"{width}x{height} {encoding} step {step} with {len(data)} bytes")
    rows = np.frombuffer(data, np.uint8, count=step * height).reshape(height, step)
    pixels = rows[:, : width * channels * depth]
    if depth == 2:
        dtype = ">u2" if msg.is_bigendian else "<u2"
        return (pixels.copy().view(dtype).reshape(height, width) >> 8).astype(np.uint8)
    if depth == 4:  # float images (0..1 or 0..255); NaN pixels are handled by the face cropper
        dtype = ">f4" if msg.is_bigendian else "<f4"
        return pixels.copy().view(dtype).reshape(height, width, channels).squeeze(2) if channels == 1 else \
            pixels.copy().view(dtype).reshape(height, width, channels).astype(np.float32)
    image = pixels.reshape(height, width, channels)
    import cv2

    if encoding in ("rgb8",):
        return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if encoding == "rgba8":
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGR)
    if encoding == "bgra8":
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if channels == 1:
        return image[:, :, 0].copy()
    return image.copy()


def bgr_to_image(image: np.ndarray, stamp_seconds: float, frame_id: str = ""):
    """(H, W, 3) BGR uint8 -> sensor_msgs/Image bgr8."""
    from sensor_msgs.msg import Image

    image = np.ascontiguousarray(image, dtype=np.uint8)
    msg = Image()
    msg.header.stamp = seconds_to_stamp(stamp_seconds)
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

"""Bad-input soak: >= 10,000 malformed camera and microphone messages mixed with valid ones, through the same
conversion functions and checks the nodes use (real ROS message objects, no transport). Nothing but
BadMessage may come out of a malformed message, every valid one converts to exactly its content, accepted
stamps stay sane and ordered, and the diagnostics level is back to OK once the input is clean again.

The same soak over real topics against a running reaction node is in test_soak_node (it needs the node).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("sensor_msgs")
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import MultiArrayDimension, UInt8MultiArray  # noqa: E402

from react_ros.nodes.common import ENCODINGS, BadMessage, audio_from_msg, bgr_to_image, image_to_bgr, make_audio_msg  # noqa: E402
from react_ros.online.health import OK, WARN, HealthLevel  # noqa: E402
from react_ros.online.stamps import StampChecker  # noqa: E402

MESSAGES = 12_000  # per stream
VALID_EVERY = 6
NOW = 1_796_000_000.0
GARBAGE_ENCODINGS = ["", "BGR8", "bgr", "yuv422_weird", "x" * 100_000, "mono8\0", "rgb8 ", "bayer_rggb", "ü"]
LABELS = ["samples", "channels", "sample_rate", "stamp_sec", "stamp_nanosec", "", "x" * 1000]


def malformed_image(rng: np.random.Generator) -> Image:
    msg = Image()
    names = list(ENCODINGS) + GARBAGE_ENCODINGS
    msg.encoding = names[int(rng.integers(len(names)))]
    msg.height, msg.width = (int(rng.choice([0, 1, 2, 3, 7, 16, 2**31, 2**32 - 1])) for _ in range(2))
    msg.step = int(rng.choice([0, 1, 3, 5, 24, 48, 2**32 - 1]))
    msg.is_bigendian = int(rng.integers(0, 2))
    msg.data = rng.integers(0, 256, int(rng.choice([0, 1, 5, 48, 192, 1000])), dtype=np.uint8).tobytes()
    return msg


def malformed_audio(rng: np.random.Generator) -> UInt8MultiArray:
    msg = UInt8MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=LABELS[int(rng.integers(len(LABELS)))], size=int(rng.choice([0, 1, 2, 3, 16000, 2**32 - 1])),
                                          stride=int(rng.integers(0, 4))) for _ in range(int(rng.integers(0, 6)))]
    msg.data = rng.integers(0, 256, int(rng.choice([0, 1, 3, 64, 1067])), dtype=np.uint8).tobytes()
    return msg


def test_camera_conversion_soak():
    rng = np.random.default_rng(0)
    reasons: Counter[str] = Counter()
    crashes, valid = [], 0
    for k in range(MESSAGES):
        if k % VALID_EVERY == 0:
            frame = rng.integers(0, 256, (int(rng.integers(1, 20)), int(rng.integers(1, 20)), 3), dtype=np.uint8)
            assert np.array_equal(image_to_bgr(bgr_to_image(frame, NOW)), frame)
            valid += 1
            continue
        msg = malformed_image(rng)
        try:
            image = image_to_bgr(msg)
            assert image.shape[:2] == (msg.height, msg.width)  # a malformed-looking message that is well formed
        except BadMessage as error:
            reasons[error.reason] += 1
            assert len(str(error)) < 2000  # input strings are not echoed whole
        except Exception as error:  # noqa: BLE001 (the soak's subject)
            crashes.append((msg.encoding[:20], msg.height, msg.width, msg.step, len(msg.data), repr(error)[:200]))
    assert not crashes, crashes[:5]
    assert valid == MESSAGES // VALID_EVERY
    assert {"unknown_encoding", "empty_image", "bad_image_size"} <= set(reasons)
    assert sum(reasons.values()) > MESSAGES * 0.7


def test_microphone_conversion_soak():
    rng = np.random.default_rng(1)
    reasons: Counter[str] = Counter()
    crashes = []
    for k in range(MESSAGES):
        if k % VALID_EVERY == 0:
            pcm = rng.integers(-32768, 32768, (int(rng.integers(1, 600)), int(rng.integers(1, 3))), dtype=np.int16)
            samples, rate, stamp = audio_from_msg(make_audio_msg(pcm, 48000, NOW + k), 16000)
            assert np.array_equal(samples, pcm) and rate == 48000 and stamp == pytest.approx(NOW + k)
            continue
        try:
            audio_from_msg(malformed_audio(rng), 16000)
        except BadMessage as error:
            reasons[error.reason] += 1
        except Exception as error:  # noqa: BLE001
            crashes.append(repr(error)[:200])
    assert not crashes, crashes[:5]
    assert {"empty_audio", "odd_audio_bytes", "bad_audio_layout"} <= set(reasons)


def test_stamp_and_health_soak():
    rng = np.random.default_rng(2)
    checker = StampChecker()
    health = HealthLevel(["bad_stamps"])
    counters: Counter[str] = Counter()
    accepted, last = 0, -math.inf
    garbage = [0.0, 1.0, 2.0**31 - 1, math.nan, math.inf, -1.0, NOW - 3600]
    for k in range(MESSAGES):
        received = NOW + k / 30
        if k % VALID_EVERY == 0:
            stamp = received - 0.002
        elif rng.random() < 0.5:
            stamp = float(rng.choice(garbage))
        else:  # replays of old frames and duplicates
            stamp = received - float(rng.choice([0.0, 0.002, 0.1, 1.0]))
        check = checker.check(stamp, received)
        counters["bad_stamps"] += check.bad
        if check.usable:
            # sender stamps strictly increase; a replaced one (receive time) comes after the last sender stamp
            assert check.stamp > last and abs(check.stamp - received) <= 10.0
            if not check.problem:
                last = check.stamp
            accepted += 1
    assert accepted >= MESSAGES // VALID_EVERY
    assert health.update(counters)[0] == WARN
    for k in range(MESSAGES, MESSAGES + 30):  # clean input again
        counters["bad_stamps"] += checker.check(NOW + k / 30, NOW + k / 30 + 0.002).bad
    assert counters["bad_stamps"] > 1000 and health.update(counters) == (OK, "reacting")

"""image_to_bgr on the encodings camera drivers publish: each test builds the wire bytes by hand from a known
colour (not with the conversion under test) and checks the colour comes back, so a swapped Bayer pattern,
UYVY/YUYV order, RGB/BGR order or byte order fails."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sensor_msgs")
from sensor_msgs.msg import Image  # noqa: E402

from react_ros.nodes.common import BadMessage, image_to_bgr  # noqa: E402

BGR = (30, 120, 220)  # a skin-like orange: every channel different
H, W = 8, 12


def _msg(encoding: str, pixels: np.ndarray, step: int | None = None, bigendian: bool = False) -> Image:
    raw = np.ascontiguousarray(pixels)
    data = raw.tobytes()
    msg = Image(encoding=encoding, height=H, width=W, is_bigendian=int(bigendian))
    msg.step = step if step is not None else len(data) // raw.shape[0]
    msg.data = data
    return msg


def _solid(order: str, dtype=np.uint8, scale: int = 1) -> np.ndarray:
    b, g, r = BGR
    values = {"b": b, "g": g, "r": r, "a": 255}
    return np.tile(np.array([values[c] * scale for c in order], dtype), (H, W, 1))


@pytest.mark.parametrize("encoding,order", [("bgr8", "bgr"), ("rgb8", "rgb"), ("bgra8", "bgra"), ("rgba8", "rgba"),
                                            ("8UC3", "bgr"), ("8UC4", "bgra")])
def test_8bit_colour_orders(encoding, order):
    image = image_to_bgr(_msg(encoding, _solid(order)))
    assert np.array_equal(image, _solid("bgr"))
    assert image.flags.writeable and image.flags.c_contiguous  # the face cropper may draw into it


def test_decoded_messages_with_bytes_give_writable_images():
    """Messages decoded from a recording (mcap_ros2) hold `bytes`: the image must not be a read-only view."""
    from types import SimpleNamespace

    for encoding, pixels in (("bgr8", _solid("bgr")), ("mono8", np.full((H, W), 77, np.uint8))):
        msg = SimpleNamespace(encoding=encoding, height=H, width=W, step=pixels.nbytes // H, is_bigendian=0,
                              data=pixels.tobytes())
        image = image_to_bgr(msg)
        assert np.array_equal(image, pixels) and image.flags.writeable


@pytest.mark.parametrize("encoding,order", [("bgr16", "bgr"), ("rgb16", "rgb"), ("rgba16", "rgba"), ("bgra16", "bgra")])
@pytest.mark.parametrize("bigendian", [False, True])
def test_16bit_colour_keeps_the_top_byte(encoding, order, bigendian):
    pixels = _solid(order, np.uint16, 256).astype(">u2" if bigendian else "<u2")
    assert np.array_equal(image_to_bgr(_msg(encoding, pixels, bigendian=bigendian)), _solid("bgr"))


def test_mono16_big_endian():
    pixels = np.full((H, W), 200 * 256 + 17, ">u2")
    assert np.array_equal(image_to_bgr(_msg("mono16", pixels, bigendian=True)), np.full((H, W), 200, np.uint8))


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
@pytest.mark.parametrize("bits", [8, 16])
def test_bayer_patterns_demosaic_to_the_right_colour(pattern, bits):
    b, g, r = BGR
    colour = {"r": r, "g": g, "b": b}
    mosaic = np.zeros((H, W), np.uint16 if bits == 16 else np.uint8)
    for index, channel in enumerate(pattern):  # the 2x2 cell, row by row
        mosaic[index // 2::2, index % 2::2] = colour[channel] * (256 if bits == 16 else 1)
    image = image_to_bgr(_msg(f"bayer_{pattern}{bits}", mosaic))
    assert image.shape == (H, W, 3)
    assert np.abs(image[2:-2, 2:-2].astype(int) - np.array(BGR)).max() <= 1  # a solid colour demosaics exactly


def _yuv() -> tuple[int, int, int]:
    b, g, r = BGR  # BT.601 video range, as cameras send it and OpenCV's YUV422/NV21 decoders expect
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return round(y), round(u), round(v)


@pytest.mark.parametrize("encoding,cell", [("yuv422", "uyvy"), ("uyvy", "uyvy"), ("yuv422_yuy2", "yuyv"),
                                           ("yuyv", "yuyv")])
def test_packed_yuv422(encoding, cell):
    y, u, v = _yuv()
    bytes_ = {"uyvy": [u, y, v, y], "yuyv": [y, u, y, v]}[cell]
    pixels = np.tile(np.array(bytes_, np.uint8), (H, W // 2))
    image = image_to_bgr(_msg(encoding, pixels))
    assert image.shape == (H, W, 3)
    assert np.abs(image.astype(int) - np.array(BGR)).max() <= 3


def test_nv21():
    y, u, v = _yuv()
    planes = np.concatenate([np.full((H, W), y, np.uint8), np.tile(np.array([v, u], np.uint8), (H // 2, W // 2))])
    image = image_to_bgr(_msg("nv21", planes))
    assert image.shape == (H, W, 3)
    assert np.abs(image.astype(int) - np.array(BGR)).max() <= 3


def test_row_padding_is_skipped():
    pixels = np.concatenate([_solid("rgb").reshape(H, W * 3), np.full((H, 4), 255, np.uint8)], axis=1)
    assert np.array_equal(image_to_bgr(_msg("rgb8", pixels)), _solid("bgr"))


def test_bad_sizes_and_encodings_are_bad_messages():
    with pytest.raises(BadMessage) as error:
        image_to_bgr(_msg("yuv422", np.zeros((H, W * 2 - 2), np.uint8), step=W * 2 - 2))
    assert error.value.reason == "bad_image_size"
    odd = Image(encoding="yuyv", height=2, width=3, step=6, data=bytes(12))
    with pytest.raises(BadMessage, match="bad_image_size"):
        image_to_bgr(odd)  # 4:2:2 needs an even width
    with pytest.raises(BadMessage) as error:
        image_to_bgr(Image(encoding="x" * 1_000_000, height=1, width=1, step=3, data=bytes(3)))
    assert error.value.reason == "unknown_encoding" and len(str(error.value)) < 1000  # not echoed whole

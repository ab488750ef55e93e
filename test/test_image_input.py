"""One reading of camera images for both front ends (perception/image.py): what the Haar crop reads, the face mesh
reads as the same picture, and what neither can read is None for both (the pipeline counts it as a bad image)."""
import cv2
import numpy as np
import pytest

from react_ros.perception.face_crop import to_gray_uint8
from react_ros.perception.image import as_uint8_image
from react_ros.perception.mesh_frontend import to_bgr_uint8

RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 256, (24, 32, 3)).astype(np.uint8)
GRAY = cv2.cvtColor(BGR, cv2.COLOR_BGR2GRAY)

READABLE = {
    "bgr uint8": (BGR, BGR),
    "bgra uint8": (np.dstack([BGR, np.full(BGR.shape[:2], 7, np.uint8)]), BGR),
    "gray": (GRAY, GRAY),
    "gray (H, W, 1)": (GRAY[:, :, None], GRAY),
    "uint16: its top byte": (BGR.astype(np.uint16) * 256 + 255, BGR),
    "float 0..1": (BGR / 255.0, BGR),
    "float 0..255": (BGR.astype(np.float64), BGR),
    "int32, clipped": (BGR.astype(np.int32) * 4 - 300, np.clip(BGR.astype(np.int32) * 4 - 300, 0, 255).astype(np.uint8)),
    "bool: 0/255": (BGR > 127, (BGR > 127).astype(np.uint8) * 255),
}


@pytest.mark.parametrize("name", READABLE)
def test_both_front_ends_read_every_encoding_as_the_same_picture(name):
    image, expected = READABLE[name]
    gray_expected = expected if expected.ndim == 2 else cv2.cvtColor(expected, cv2.COLOR_BGR2GRAY)
    bgr = to_bgr_uint8(image)
    assert bgr is not None and bgr.dtype == np.uint8 and bgr.shape == (*image.shape[:2], 3)
    if expected.ndim == 3:
        np.testing.assert_array_equal(bgr, expected)
    np.testing.assert_array_equal(to_gray_uint8(image), gray_expected)
    # the mesh's picture, made gray, is the crop's picture: the two front ends see the same frame
    assert np.abs(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(int) - gray_expected).max() <= 1


def test_non_finite_floats_are_black_not_an_error():
    image = BGR / 255.0
    image[0, 0] = np.nan
    image[1, 1] = np.inf
    out = as_uint8_image(image)
    assert out[0, 0].tolist() == [0, 0, 0] and out[1, 1].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(out[5:, 5:], BGR[5:, 5:])


@pytest.mark.parametrize("image", [None, "not an image", object(), np.zeros((0, 0, 3), np.uint8),
                                   np.zeros((8, 8, 7), np.uint8), np.zeros(8, np.uint8),
                                   np.zeros((8, 8, 3), np.complex64), np.array([["a", "b"]])],
                         ids=["none", "str", "object", "empty", "7 channels", "1-d", "complex", "strings"])
def test_what_neither_can_read_is_none_for_both(image):
    assert as_uint8_image(image) is None and to_gray_uint8(image) is None and to_bgr_uint8(image) is None


def test_the_mesh_leaves_out_images_too_small_to_hold_a_face():
    assert to_gray_uint8(np.zeros((8, 8, 3), np.uint8)) is not None
    assert to_bgr_uint8(np.zeros((8, 8, 3), np.uint8)) is None

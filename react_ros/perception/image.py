"""Any camera image a front end may be handed -> uint8, or None: the one place that decides what is readable.

Both front ends (the Haar face crop and the face mesh) and the online pipeline's `bad_images` counter read images
through `as_uint8_image`, so a frame one of them reads is a frame the other reads the same way, and a frame none
can read is counted once. Accepted: gray (H, W), (H, W, 1), BGR and BGRA, as uint8, uint16 (top byte), other
integers (clipped to 0..255), bool (0/255) or float (0..1 or 0..255; NaN/inf -> 0). Never raises.
"""
from __future__ import annotations

import numpy as np

__all__ = ["as_uint8_image"]


def as_uint8_image(image) -> np.ndarray | None:
    """(H, W) or (H, W, 3|4) contiguous uint8 from any of the accepted images; None if unusable."""
    if image is None:
        return None
    try:
        array = np.asarray(image)
    except Exception:  # noqa: BLE001 (anything that is not array-like is simply no image)
        return None
    if array.size == 0 or array.ndim not in (2, 3) or not (array.dtype == np.bool_ or _real_number(array.dtype)):
        return None
    if array.ndim == 3:
        if array.shape[2] == 1:
            array = array[:, :, 0]
        elif array.shape[2] not in (3, 4):
            return None
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        values = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if float(values.max()) <= 1.0 else 1.0  # 0..1 float images
        array = np.clip(values * scale, 0, 255).astype(np.uint8)
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def _real_number(dtype) -> bool:
    return np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)

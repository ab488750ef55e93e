"""A labelled grid of preset expressions, to eyeball the renderer.

    python -m react_ros.face.preview --out docs/face_expressions.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.face.renderer import FaceRenderer
from react_ros.face.video import tile

# name -> (attribute values by schema name, head pose (pitch, yaw, roll) in rad)
PRESETS: dict[str, tuple[dict[str, float], tuple[float, float, float]]] = {
    "neutral": ({"Neutral": 1.0}, (0.0, 0.0, 0.0)),
    "happy": ({"AU6": 0.9, "AU12": 1.0, "AU25": 0.6, "valence": 0.8, "arousal": 0.4, "Happy": 0.9,
               "Neutral": 0.1}, (0.0, 0.0, 0.0)),
    "sad": ({"AU1": 0.9, "AU4": 0.4, "AU15": 0.9, "AU17": 0.6, "valence": -0.7, "arousal": -0.4, "Sad": 0.9,
             "Neutral": 0.1}, (0.12, 0.0, 0.0)),
    "surprise": ({"AU1": 1.0, "AU2": 1.0, "AU25": 1.0, "AU26": 0.8, "arousal": 0.8, "Surprise": 0.9,
                  "Neutral": 0.1}, (-0.05, 0.0, 0.0)),
    "anger": ({"AU4": 1.0, "AU7": 0.8, "AU23": 0.7, "AU24": 0.6, "AU17": 0.4, "valence": -0.7, "arousal": 0.8,
               "Anger": 0.9, "Neutral": 0.1}, (0.05, 0.0, 0.0)),
    "disgust": ({"AU4": 0.4, "AU9": 1.0, "AU10": 0.9, "AU7": 0.4, "AU25": 0.3, "valence": -0.6, "Disgust": 0.9,
                 "Neutral": 0.1}, (0.0, -0.12, 0.0)),
    "talking": ({"AU12": 0.3, "AU25": 0.9, "AU26": 0.45, "AU2": 0.3, "valence": 0.2, "arousal": 0.3,
                 "Neutral": 0.7, "Happy": 0.3}, (0.0, 0.15, 0.0)),
    "head roll": ({"AU6": 0.3, "AU12": 0.6, "valence": 0.4, "Happy": 0.5, "Neutral": 0.5}, (0.0, 0.0, 0.3)),
}


def preset_reaction(name: str) -> np.ndarray:
    """The (25,) reaction frame of a preset (unnamed attributes are 0)."""
    values, _ = PRESETS[name]
    frame = np.zeros(schema.REACTION_DIM, dtype=np.float32)
    for attribute, value in values.items():
        frame[schema.index_of(attribute)] = value
    return frame


def preset_pose(name: str) -> tuple[float, float, float]:
    return PRESETS[name][1]


def expression_grid(size: int = 256, columns: int = 4) -> np.ndarray:
    """All presets rendered and tiled into rows of `columns` labelled faces."""
    renderer = FaceRenderer(size=size)
    names = list(PRESETS)
    rows = []
    for start in range(0, len(names), columns):
        chunk = names[start:start + columns]
        images = [renderer.render(preset_reaction(n), preset_pose(n)) for n in chunk]
        while len(images) < columns:  # pad the last row so every row has the same width
            images.append(np.full_like(images[0], renderer.background))
            chunk.append("")
        rows.append(tile(images, chunk))
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/face_expressions.png"))
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), expression_grid(args.size)):
        raise OSError(f"could not write {args.out}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

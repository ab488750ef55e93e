"""The screen face's style: `cartoon` (face/renderer.py) or `human` (face/human.py, a shaded 3D human-style face).

Both take the 25-d reaction. The human face reads it as the 52 ARKit blendshape weights through the
arkit_blendshapes robot profile's map (the same table that drives avatars over VMC), which is why the choice
is made here, above both face/ and robot/.
"""
from __future__ import annotations

__all__ = ["FACE_STYLES", "face_renderer"]

FACE_STYLES = ("cartoon", "human")


def face_renderer(style: str = "cartoon", size: int = 256):
    """A renderer with `render(reaction) -> BGR image`; ValueError names the styles on a typo."""
    name = str(style).strip().lower()
    if name == "cartoon":
        from react_ros.face.renderer import FaceRenderer

        return FaceRenderer(size)
    if name == "human":
        from react_ros.face.human import HumanFaceRenderer
        from react_ros.robot.arkit import load_arkit_profile

        return HumanFaceRenderer(size, weights_of=load_arkit_profile().map)
    raise ValueError(f"face_style {style!r}: expected one of {', '.join(FACE_STYLES)}")


def style_grid(size: int = 192, presets: tuple[str, ...] = ("neutral", "happy", "sad", "anger", "surprise",
                                                            "disgust")):
    """The preset expressions (face/preview.py) in both styles: cartoon above, human below, labelled."""
    import numpy as np

    from react_ros.face.preview import preset_pose, preset_reaction
    from react_ros.face.video import tile

    rows = []
    for style in FACE_STYLES:
        renderer = face_renderer(style, size)
        faces = []
        for name in presets:
            pose = preset_pose(name)
            # the cartoon takes (pitch, yaw, roll); the human face (yaw, pitch, roll)
            faces.append(renderer.render(preset_reaction(name), pose if style == "cartoon" else
                                         (pose[1], pose[0], pose[2])))
        rows.append(tile(faces, [f"{name} ({style})" for name in presets]))
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    import argparse

    import cv2

    parser = argparse.ArgumentParser(description="the preset expressions in both face styles, as one image")
    parser.add_argument("--out", default="docs/human_face.png")
    parser.add_argument("--size", type=int, default=192)
    args = parser.parse_args(argv)
    cv2.imwrite(args.out, style_grid(args.size))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

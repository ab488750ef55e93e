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

"""The 52 blendshapes of the human-style face as displacement fields on its 468-point FaceMesh mesh.

mouthSmileLeft/Right are measured: a real face's smile minus its neutral (assets/face_models/human_face.npz,
media_perception/human_face_asset.py), split into its halves. The others are authored from the ARKit definitions:
a few landmarks (lid rings, lip rings, brows, chin) are given a displacement and the mesh around them follows
with a Gaussian falloff (`spread`), limited to the part of the face the shape belongs to. Units: inter-ocular
distance (outer eye corners) = 1; x towards the subject's left, y down, z towards the viewer. Gaze and the
tongue move no vertex: the renderer draws them (iris offset, tongue in the mouth).
"""
from __future__ import annotations

import numpy as np

from react_ros.schema import ARKIT_BLENDSHAPES

__all__ = ["LANDMARKS", "blendshape_fields"]

# FaceMesh landmark groups; R = the subject's right (image left, x < 0), L = the subject's left.
LANDMARKS: dict[str, tuple[int, ...]] = {
    "upper_lid_R": (33, 246, 161, 160, 159, 158, 157, 173, 133),
    "lower_lid_R": (33, 7, 163, 144, 145, 153, 154, 155, 133),
    "upper_lid_L": (263, 466, 388, 387, 386, 385, 384, 398, 362),
    "lower_lid_L": (263, 249, 390, 373, 374, 380, 381, 382, 362),
    "upper_lip_outer": (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291),
    "upper_lip_inner": (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308),
    "lower_lip_outer": (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291),
    "lower_lip_inner": (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308),
    "brow_R": (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    "brow_L": (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
    "inner_brow": (107, 66, 55, 65, 336, 296, 285, 295),
    "outer_brow_R": (70, 63, 46, 53),
    "outer_brow_L": (300, 293, 276, 283),
    "corners": (61, 78, 291, 308),
    "chin": (152, 148, 377, 175, 199, 200, 176, 400),
    "cheek_R": (50, 101, 118, 117, 123, 187, 205),
    "cheek_L": (280, 330, 347, 346, 352, 411, 425),
    "nose_wing_R": (129, 98, 64, 48, 115, 220),
    "nose_wing_L": (358, 327, 294, 278, 344, 440),
}


def _side(vertices: np.ndarray, side: str) -> np.ndarray:
    """Weight 1 on the subject's `side` ('L': x > 0), 0 on the other, blended across the midline."""
    t = np.clip((vertices[:, 0] + 0.12) / 0.24, 0.0, 1.0)
    left = t * t * (3 - 2 * t)
    return left if side == "L" else 1.0 - left


def spread(vertices: np.ndarray, controls: dict[int, np.ndarray], radius: float,
           mask: np.ndarray | None = None) -> np.ndarray:
    """A smooth field: each control landmark keeps its displacement, the mesh around follows with a Gaussian
    falloff of `radius` (in the frontal plane); `mask` (0..1 per vertex) limits it to a part of the face."""
    index = np.fromiter(controls, int)
    moves = np.array([controls[k] for k in index], np.float64)
    d2 = ((vertices[:, None, :2] - vertices[None, index, :2]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * radius**2))
    field = (w @ moves) / (w.sum(1, keepdims=True) + 1e-12) * w.max(1, keepdims=True)
    field[index] = moves
    if mask is not None:
        field *= mask[:, None]
    return field


def _group(name: str) -> list[int]:
    return list(LANDMARKS[name])


def blendshape_fields(vertices: np.ndarray, smile: np.ndarray) -> np.ndarray:
    """(52, 468, 3) displacement at weight 1, in ARKIT_BLENDSHAPES order."""
    v = np.asarray(vertices, np.float64)
    n = len(v)
    fields = {name: np.zeros((n, 3)) for name in ARKIT_BLENDSHAPES}
    y_mouth = v[list(LANDMARKS["corners"]), 1].mean()
    y_eyes = v[[33, 263, 133, 362], 1].mean()
    upper_lip = np.zeros(n, bool)
    upper_lip[_group("upper_lip_outer") + _group("upper_lip_inner")] = True
    lower_lip = np.zeros(n, bool)
    lower_lip[_group("lower_lip_outer") + _group("lower_lip_inner")] = True
    lower_lip[list(LANDMARKS["corners"])] = False
    # Below the mouth: what the jaw carries (fading out towards the ears and up the cheeks).
    below = np.clip((v[:, 1] - (y_mouth - 0.02)) / 0.12, 0.0, 1.0) * np.clip((0.72 - np.abs(v[:, 0])) / 0.3, 0, 1)
    below[upper_lip] = 0.0
    below[lower_lip] = 1.0
    above_eyes = np.clip((y_eyes + 0.02 - v[:, 1]) / 0.06, 0.0, 1.0)
    mouth_area = np.clip((v[:, 1] - (y_eyes + 0.25)) / 0.1, 0.0, 1.0)

    # Jaw: a rotation (0.24 rad at weight 1) about a hinge behind the cheeks at ear height.
    hinge, angle = np.array([0.0, y_eyes + 0.2, -0.8]), 0.24
    rel = v - hinge
    turned = np.stack([rel[:, 0], np.cos(angle) * rel[:, 1] + np.sin(angle) * rel[:, 2],
                       -np.sin(angle) * rel[:, 1] + np.cos(angle) * rel[:, 2]], 1)
    fields["jawOpen"] = (turned - rel) * below[:, None]
    fields["jawForward"] = np.array([0.0, 0.0, 0.06]) * below[:, None]
    fields["jawLeft"] = np.array([0.07, 0.0, 0.0]) * below[:, None]
    fields["jawRight"] = np.array([-0.07, 0.0, 0.0]) * below[:, None]

    for side, sign in (("L", 1.0), ("R", -1.0)):
        half = _side(v, side)
        suffix = "Left" if side == "L" else "Right"
        corner = [291, 308] if side == "L" else [61, 78]
        fields[f"mouthSmile{suffix}"] = np.asarray(smile, np.float64) * half[:, None]
        for shape, move, radius in (("mouthFrown", (0.02 * sign, 0.10, -0.01), 0.16),
                                    ("mouthDimple", (-0.035 * sign, 0.0, -0.03), 0.10),
                                    ("mouthStretch", (0.06 * sign, 0.035, -0.01), 0.14)):
            fields[f"{shape}{suffix}"] = spread(v, {k: np.array(move) for k in corner}, radius, mouth_area) * half[:, None]
        lower = {k: np.array([0.0, 0.06, 0.0]) for k in LANDMARKS["lower_lip_outer"] + LANDMARKS["lower_lip_inner"]
                 if k not in LANDMARKS["corners"]}
        fields[f"mouthLowerDown{suffix}"] = spread(v, lower, 0.06, below) * half[:, None]
        upper = {k: np.array([0.0, -0.05, 0.01]) for k in LANDMARKS["upper_lip_outer"] + LANDMARKS["upper_lip_inner"]
                 if k not in LANDMARKS["corners"]}
        fields[f"mouthUpperUp{suffix}"] = spread(v, upper, 0.06, mouth_area * (1.0 - below)) * half[:, None]
        press = {k: np.array([0.0, 0.012, -0.01]) for k in LANDMARKS["upper_lip_outer"][1:-1]}
        press.update({k: np.array([0.0, -0.012, -0.01]) for k in LANDMARKS["lower_lip_outer"][1:-1]})
        fields[f"mouthPress{suffix}"] = spread(v, press, 0.04, mouth_area) * half[:, None]
        brow = _group(f"brow_{side}")
        fields[f"browDown{suffix}"] = spread(v, {k: np.array([-0.035 * sign, 0.085, -0.01]) for k in brow}, 0.12,
                                             above_eyes)
        fields[f"browOuterUp{suffix}"] = spread(v, {k: np.array([0.0, -0.08, 0.0]) for k in LANDMARKS[f"outer_brow_{side}"]},
                                                0.14, above_eyes)
        upper_lid, lower_lid = _group(f"upper_lid_{side}"), _group(f"lower_lid_{side}")
        opening = v[lower_lid] - v[upper_lid]
        above_lower = np.clip((v[lower_lid, 1].mean() - 0.01 - v[:, 1]) / 0.03, 0, 1)
        fields[f"eyeBlink{suffix}"] = spread(v, dict(zip(upper_lid[1:-1], opening[1:-1] * 0.97, strict=True)), 0.05,
                                             above_lower)
        fields[f"eyeWide{suffix}"] = spread(v, dict(zip(upper_lid[1:-1], -opening[1:-1] * 0.35, strict=True)), 0.06,
                                            above_lower)
        squint = dict(zip(lower_lid[1:-1], -opening[1:-1] * 0.45, strict=True))
        squint.update(zip(upper_lid[1:-1], opening[1:-1] * 0.2, strict=True))
        fields[f"eyeSquint{suffix}"] = spread(v, squint, 0.05)
        cheek = {k: np.array([0.0, -0.035, 0.02]) for k in LANDMARKS[f"cheek_{side}"]}
        fields[f"cheekSquint{suffix}"] = spread(v, cheek, 0.1)
        wing = {k: np.array([0.0, -0.035, 0.005]) for k in LANDMARKS[f"nose_wing_{side}"]}
        fields[f"noseSneer{suffix}"] = spread(v, wing, 0.07)
    fields["browInnerUp"] = spread(v, {k: np.array([0.0, -0.08, 0.0]) for k in LANDMARKS["inner_brow"]}, 0.12,
                                   above_eyes)
    lips = LANDMARKS["upper_lip_outer"] + LANDMARKS["lower_lip_outer"] + LANDMARKS["upper_lip_inner"] \
        + LANDMARKS["lower_lip_inner"]
    centre = v[list(LANDMARKS["corners"])].mean(0)
    fields["mouthPucker"] = spread(v, {k: np.array([-(v[k, 0] - centre[0]) * 0.35, 0.0, 0.06]) for k in lips}, 0.05,
                                   mouth_area)
    fields["mouthFunnel"] = spread(v, {k: np.array([-(v[k, 0] - centre[0]) * 0.2, (v[k, 1] - centre[1]) * 0.8, 0.05])
                                       for k in lips}, 0.05, mouth_area)
    fields["mouthLeft"] = spread(v, {k: np.array([0.07, 0.0, 0.0]) for k in lips}, 0.08, mouth_area)
    fields["mouthRight"] = spread(v, {k: np.array([-0.07, 0.0, 0.0]) for k in lips}, 0.08, mouth_area)
    fields["mouthClose"] = -fields["jawOpen"] * lower_lip[:, None] * 0.9
    fields["mouthRollLower"] = spread(v, {k: np.array([0.0, -0.025, -0.02]) for k in LANDMARKS["lower_lip_outer"][1:-1]},
                                      0.04, mouth_area)
    fields["mouthRollUpper"] = spread(v, {k: np.array([0.0, 0.025, -0.02]) for k in LANDMARKS["upper_lip_outer"][1:-1]},
                                      0.04, mouth_area)
    chin = {k: np.array([0.0, -0.035, 0.01]) for k in LANDMARKS["chin"] + LANDMARKS["lower_lip_outer"][1:-1]}
    fields["mouthShrugLower"] = spread(v, chin, 0.1, below)
    fields["mouthShrugUpper"] = spread(v, {k: np.array([0.0, -0.02, 0.0]) for k in LANDMARKS["upper_lip_outer"][1:-1]},
                                       0.05, mouth_area)
    for side, sign in (("L", 1.0), ("R", -1.0)):
        puff = {k: np.array([0.06 * sign, 0.0, 0.04]) for k in LANDMARKS[f"cheek_{side}"]}
        fields["cheekPuff"] = fields["cheekPuff"] + spread(v, puff, 0.15, mouth_area + 0.3)
    return np.stack([fields[name] for name in ARKIT_BLENDSHAPES]).astype(np.float32)

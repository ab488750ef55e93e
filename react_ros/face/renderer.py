"""A fast, friendly cartoon face drawn with OpenCV from FaceParams (or a 25-d reaction frame).

All geometry lives in face-local units (head half-width = 1, y down) and is projected per frame:
features sit on an ellipsoid, so yaw/pitch move them with their depth (the far eye compresses, the
nose moves most), the silhouette only squashes a little, and roll rotates the whole head about the neck.
Everything is drawn as anti-aliased polygons in 1/16-pixel fixed point, which keeps motion smooth
and a 256 px frame well under a few milliseconds on one core.

Paint order matters: the eye white, iris and pupil are drawn first and skin-coloured lid "covers" are
painted over them, which clips the iris to the lids without any per-pixel masking.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

from react_ros import schema
from react_ros.face.params import FaceParams, face_params_from_reaction

Color = tuple[int, int, int]

SHIFT = 4  # fixed-point bits for cv2 coordinates: sub-pixel positions, smooth animation
_ONE = 1 << SHIFT

# Face-local geometry (head half-width = 1).
HEAD_RY = 1.2
DEPTH = 0.85  # ellipsoid depth: how far features travel with yaw/pitch
PIVOT_Y = 0.95  # roll pivots near the neck
EYE_X, EYE_Y, EYE_RX, EYE_UP, EYE_LOW = 0.40, 0.0, 0.215, 0.17, 0.13
IRIS_R, PUPIL_R = 0.12, 0.06
# Brows sit low and move little, as real brows do: FaceMesh (the `mesh` front end) follows a brow only
# inside a narrow band above the eye (about 0.21-0.29 inter-ocular units); drawn higher it loses the brow
# and its brow landmarks fall back towards the eye, so a big cartoon raise read as a lowered brow.
BROW_Y, BROW_IN_X, BROW_OUT_X = -0.24, 0.15, 0.63
BROW_RAISE = 0.07  # inner (AU1) or outer (AU2) end lift at full raise: stays inside FaceMesh's band
BROW_LIFT = 0.05  # AU1 also lifts the whole brow a little (frontalis), which FaceMesh follows best
BROW_DROP, BROW_PULL = 0.16, 0.08  # AU4: inner end down and towards the nose
NOSE_Y = 0.33
MOUTH_Y, MOUTH_HALF_W = 0.66, 0.27
JAW_DROP = 0.26  # chin travel at jaw_open = 1

_N_CIRCLE = 48
_N_CURVE = 21


def _lerp_color(a: Color, b: Color, t: float) -> Color:
    t = min(max(t, 0.0), 1.0)
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class _Projector:
    """Face-local points -> fixed-point pixel coordinates for one head pose."""

    def __init__(self, params: FaceParams, center: tuple[float, float], scale: float) -> None:
        self.cy, self.sy = math.cos(params.head_yaw), math.sin(params.head_yaw)
        self.cp, self.sp = math.cos(params.head_pitch), math.sin(params.head_pitch)
        # Orthographic silhouette of the rotated ellipsoid: it narrows only slightly.
        self.wx = math.hypot(self.cy, DEPTH * self.sy)
        self.wy = math.hypot(self.cp, DEPTH / HEAD_RY * self.sp)
        cr, sr = math.cos(params.head_roll), math.sin(params.head_roll)
        # pixel = scale * R (p - pivot) + pivot_px, folded into one 2x3 affine in fixed point.
        px, py = center[0], center[1] + scale * PIVOT_Y
        rot = np.array([[cr, -sr], [sr, cr]]) * scale
        offset = np.array([px, py]) - rot @ np.array([0.0, PIVOT_Y])
        self.affine = np.hstack([rot, offset[:, None]]) * _ONE

    def _pixels(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a = self.affine
        out = np.empty((x.shape[0], 1, 2), dtype=np.int32)
        out[:, 0, 0] = np.rint(a[0, 0] * x + a[0, 1] * y + a[0, 2])
        out[:, 0, 1] = np.rint(a[1, 0] * x + a[1, 1] * y + a[1, 2])
        return out

    def rigid(self, pts: np.ndarray, z: np.ndarray | float) -> np.ndarray:
        """Points with explicit depth (ears, nose tip) rotated by yaw then pitch."""
        x, y = pts[:, 0], pts[:, 1]
        x1 = x * self.cy + z * self.sy
        z1 = z * self.cy - x * self.sy
        return self._pixels(x1, y * self.cp + z1 * self.sp)

    def surface(self, pts: np.ndarray, lift: float = 0.0) -> np.ndarray:
        """Points on the face surface (depth from the head ellipsoid, + lift for the nose)."""
        x, y = pts[:, 0], pts[:, 1]
        z = DEPTH * np.sqrt(np.clip(1.0 - x * x - (y / HEAD_RY) ** 2, 0.0, 1.0)) + lift
        return self.rigid(pts, z)

    def silhouette(self, pts: np.ndarray) -> np.ndarray:
        """Outline points: squash a little, and let the chin follow the turn (it sticks out)."""
        x, y = pts[:, 0], pts[:, 1]
        chin = 0.22 * _smoothstep((y - 0.3) / 0.9)
        return self._pixels(x * self.wx + self.sy * chin, y * self.wy + self.sp * chin)


class FaceRenderer:
    """Draws a cartoon face; `render` takes a 25-d reaction frame, `render_params` takes FaceParams."""

    def __init__(self, size: int = 256, background: Color = (40, 40, 40), skin: Color = (170, 205, 245),
                 hair: Color | None = (40, 52, 78), iris: Color = (150, 120, 50), shirt: Color | None = (150, 105, 70),
                 outline: bool = True) -> None:
        """Colours are BGR; hair=None draws no hair, shirt=None no neck and shoulders, outline=False no head rim."""
        if size < 32:
            raise ValueError(f"FaceRenderer: size must be >= 32 px, got {size}")
        self.size = int(size)
        self.background, self.skin, self.hair, self.iris, self.shirt = background, skin, hair, iris, shirt
        self.outline = outline
        self.scale = 0.29 * size
        self.center = (0.5 * size, 0.45 * size)
        self.px = size / 256.0
        self._thin = max(1, round(1.5 * self.px))
        self._line = max(1, round(2.5 * self.px))
        self._thick = max(1, round(3.5 * self.px))
        angles = np.linspace(0.0, 2.0 * np.pi, _N_CIRCLE, endpoint=False)
        self._circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        self._t = np.linspace(0.0, 1.0, _N_CURVE)
        self._bump = 1.0 - (2.0 * self._t - 1.0) ** 2  # 0 at both ends, 1 in the middle
        self._base = self._draw_base()

    # ------------------------------------------------------------------ public API

    def render(self, reaction: np.ndarray, head_pose: tuple[float, float, float] | np.ndarray | None = None,
               blink: float = 0.0) -> np.ndarray:
        """(25,) reaction frame -> (size, size, 3) uint8 BGR image."""
        return self.render_params(face_params_from_reaction(reaction, head_pose, blink))

    def render_sequence(self, reactions: np.ndarray, head_poses: np.ndarray | None = None,
                        blinks: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """(T, 25) reactions (+ optional (T, 3) head poses and (T,) blinks) -> one frame per step."""
        reactions = np.asarray(reactions, dtype=np.float32)
        if reactions.ndim != 2 or reactions.shape[1] != schema.REACTION_DIM:
            raise ValueError(f"render_sequence: expected reactions of shape (T, {schema.REACTION_DIM}), "
                             f"got {reactions.shape}")
        frames = reactions.shape[0]
        poses = None if head_poses is None else np.asarray(head_poses, dtype=np.float64)
        if poses is not None and poses.shape != (frames, 3):
            raise ValueError(f"render_sequence: head_poses must have shape ({frames}, 3), got {poses.shape}")
        blinks_ = np.zeros(frames) if blinks is None else np.asarray(blinks, dtype=np.float64).reshape(-1)
        if blinks_.shape[0] != frames:
            raise ValueError(f"render_sequence: blinks must have {frames} values, got {blinks_.shape[0]}")
        return (self.render(reactions[i], None if poses is None else poses[i], float(blinks_[i]))
                for i in range(frames))

    def render_params(self, params: FaceParams) -> np.ndarray:
        """FaceParams -> (size, size, 3) uint8 BGR image."""
        p = params.clipped()
        img = self._base.copy()
        proj = _Projector(p, self.center, self.scale)
        skin = _lerp_color(self.skin, (120, 150, 240), 0.35 * p.flush)  # warmer, redder with arousal/anger
        self._draw_head(img, p, proj, skin)
        for side in (-1.0, 1.0):
            self._draw_eye(img, p, proj, side, skin)
        self._draw_blush(img, p, proj)
        for side in (-1.0, 1.0):
            self._draw_brow(img, p, proj, side)
        self._draw_forehead(img, p, proj, skin)
        self._draw_nose(img, p, proj, skin)
        self._draw_mouth(img, p, proj, skin)
        return img

    def feature_box(self, name: str) -> tuple[int, int, int, int]:
        """Pixel box (x0, y0, x1, y1) around a feature of the frontal face: "brows", "eyes", "nose", "mouth".

        Generous enough to contain the feature over its whole range of motion (for tests, crops, overlays).
        """
        boxes = {  # face-local (x0, y0, x1, y1)
            "brows": (-0.75, -0.66, 0.75, -0.22),
            "eyes": (-0.7, -0.2, 0.7, 0.16),
            "nose": (-0.2, 0.1, 0.2, 0.45),
            "mouth": (-0.45, 0.46, 0.45, 1.15),
        }
        if name not in boxes:
            raise KeyError(f"feature_box: unknown feature {name!r}; known: {', '.join(boxes)}")
        x0, y0, x1, y1 = boxes[name]
        cx, cy, k = self.center[0], self.center[1], self.scale
        return int(cx + k * x0), int(cy + k * y0), int(np.ceil(cx + k * x1)), int(np.ceil(cy + k * y1))

    # ------------------------------------------------------------------ drawing helpers

    def _fill(self, img: np.ndarray, pts: np.ndarray, color: Color) -> None:
        cv2.fillPoly(img, [pts], color, cv2.LINE_AA, SHIFT)

    def _stroke(self, img: np.ndarray, pts: np.ndarray, color: Color, thickness: int, closed: bool = False) -> None:
        cv2.polylines(img, [pts], closed, color, thickness, cv2.LINE_AA, SHIFT)

    def _ellipse(self, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
        return self._circle * (rx, ry) + (cx, cy)

    def _draw_base(self) -> np.ndarray:
        """Background, neck and shoulders: they never move, so they are drawn once."""
        s = self.size
        img = np.empty((s, s, 3), dtype=np.uint8)
        img[:] = self.background
        if self.shirt is None:
            return img
        cx, cy, k = self.center[0], self.center[1], self.scale
        neck_color = _lerp_color(self.skin, (60, 80, 120), 0.25)
        neck = np.array([[cx - 0.36 * k, cy + 0.6 * k], [cx + 0.36 * k, cy + 0.6 * k],
                         [cx + 0.4 * k, s + 2.0], [cx - 0.4 * k, s + 2.0]])
        cv2.fillPoly(img, [np.rint(neck * _ONE).astype(np.int32)], neck_color, cv2.LINE_AA, SHIFT)
        shoulders = self._circle * (1.65 * k, 0.62 * k) + (cx, cy + 2.02 * k)
        cv2.fillPoly(img, [np.rint(shoulders * _ONE).astype(np.int32)], self.shirt, cv2.LINE_AA, SHIFT)
        collar = np.stack([cx + k * 0.42 * (2 * self._t - 1), cy + k * (1.42 + 0.2 * self._bump)], axis=1)
        cv2.fillPoly(img, [np.rint(collar * _ONE).astype(np.int32)], neck_color, cv2.LINE_AA, SHIFT)
        return img

    def _jaw(self, pts: np.ndarray, p: FaceParams) -> np.ndarray:
        """Open the jaw: everything below the cheeks drops, hinged near the ears."""
        if p.jaw_open <= 0.0:
            return pts
        out = pts.copy()
        out[:, 1] += JAW_DROP * p.jaw_open * _smoothstep((pts[:, 1] - 0.15) / (MOUTH_Y + 0.12 - 0.15))
        return out

    # ------------------------------------------------------------------ head, hair, ears

    def _draw_head(self, img: np.ndarray, p: FaceParams, proj: _Projector, skin: Color) -> None:
        line = _lerp_color(skin, (40, 60, 110), 0.55)
        for side in (-1.0, 1.0):
            ear = self._ellipse(side * 0.97, 0.12, 0.15, 0.22)
            self._fill(img, proj.rigid(ear, -0.1), skin)
            if self.outline:
                self._stroke(img, proj.rigid(ear, -0.1), line, self._thin, closed=True)
            # Inner-ear curve: the half of a small ellipse facing the cheek.
            a = np.linspace(-0.5 * np.pi, 0.5 * np.pi, 13)
            inner = np.stack([side * (0.96 + 0.06 * np.cos(a)), 0.12 + 0.11 * np.sin(a)], 1)
            self._stroke(img, proj.rigid(inner, -0.1), line, self._thin)
        head = self._circle * (1.0, HEAD_RY)
        head[:, 0] *= 1.0 - 0.13 * _smoothstep((head[:, 1] - 0.1) / 1.1)  # narrower jaw and chin
        head = self._jaw(head, p)
        head_px = proj.silhouette(head)
        self._fill(img, head_px, skin)
        if self.outline:
            self._stroke(img, head_px, line, self._line, closed=True)
        if self.hair is not None:
            self._draw_hair(img, proj)

    def _draw_hair(self, img: np.ndarray, proj: _Projector) -> None:
        # Outer edge on the silhouette, slightly outside it (volume); inner edge a swept fringe on the forehead.
        angles = np.linspace(np.pi * 1.04, np.pi * 1.96, 33)
        outer = np.stack([1.06 * np.cos(angles), HEAD_RY * 1.05 * np.sin(angles) + 0.02], axis=1)
        x = np.linspace(0.97, -0.97, 25)
        fringe_y = -0.78 + 0.36 * x ** 2 - 0.06 * np.abs(np.sin(2.2 * np.pi * (x + 0.15)))
        fringe = np.stack([x, fringe_y], axis=1)
        self._fill(img, np.concatenate([proj.silhouette(outer), proj.surface(fringe)]), self.hair)

    # ------------------------------------------------------------------ eyes

    def _eye_curves(self, p: FaceParams, side: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, upper lid y and lower lid y along the eye opening (inner to outer corner)."""
        t = self._t
        x = side * (EYE_X - EYE_RX + 2.0 * EYE_RX * t)
        arc = np.sqrt(self._bump)
        inner_w = 2.0 * np.clip(1.0 - 2.0 * t, 0.0, 1.0)  # t = 0 is the inner (nose-side) corner on both eyes
        squint = min(1.0, 1.4 * p.cheek_raise)
        low = EYE_Y + EYE_LOW * (1.0 - 1.35 * squint) * arc  # cheeks push the lower lid up (happy crescent)
        top = EYE_Y - EYE_UP * arc
        up = low + (top - low) * p.eye_open  # closing lowers the upper lid onto the lower one
        up = up + 0.06 * p.brow_lower * p.eye_open * inner_w * arc  # angry: the lid slants toward the nose
        low = np.maximum(low, up)
        return x, up, low

    def _draw_eye(self, img: np.ndarray, p: FaceParams, proj: _Projector, side: float, skin: Color) -> None:
        x, up, low = self._eye_curves(p, side)
        aperture = np.concatenate([np.stack([x, up], 1), np.stack([x, low], 1)[::-1]])
        gap = float((low - up).max())
        cx = side * EYE_X
        if gap > 0.01:
            self._fill(img, proj.surface(aperture), (250, 250, 250))
            iris_y = EYE_Y + 0.01
            self._fill(img, proj.surface(self._ellipse(cx, iris_y, IRIS_R, IRIS_R)), self.iris)
            self._fill(img, proj.surface(self._ellipse(cx, iris_y, PUPIL_R, PUPIL_R)), (25, 20, 20))
            glint = self._ellipse(cx + 0.04, iris_y - 0.045, 0.028, 0.028)
            self._fill(img, proj.surface(glint), (255, 255, 255))
            # Skin covers above the upper and below the lower lid hide the iris outside the opening.
            top = EYE_Y - 0.3
            bottom = EYE_Y + 0.2
            upper_cover = np.concatenate([np.stack([x, up], 1), [[x[-1], top], [x[0], top]]])
            lower_cover = np.concatenate([np.stack([x, low], 1), [[x[-1], bottom], [x[0], bottom]]])
            self._fill(img, proj.surface(upper_cover), skin)
            self._fill(img, proj.surface(lower_cover), skin)
        lid = (45, 40, 55)
        self._stroke(img, proj.surface(np.stack([x, up], 1)), lid, self._thick if gap > 0.02 else self._line)
        # Outer-corner lash flick gives the eye a friendly, finished look.
        corner = up[-1]  # x runs from the inner to the outer corner on both sides
        outer = np.array([[side * (EYE_X + EYE_RX), corner], [side * (EYE_X + EYE_RX + 0.07), corner - 0.06]])
        self._stroke(img, proj.surface(outer), lid, self._line)
        if gap > 0.02:
            lower_line = _lerp_color(skin, lid, 0.35 + 0.4 * p.cheek_raise)
            self._stroke(img, proj.surface(np.stack([x[2:-2], low[2:-2]], 1)), lower_line, self._thin)

    # ------------------------------------------------------------------ brows, forehead, cheeks

    def _draw_brow(self, img: np.ndarray, p: FaceParams, proj: _Projector, side: float) -> None:
        t = self._t
        lift = BROW_LIFT * p.brow_inner_raise
        inner_y = BROW_Y - BROW_RAISE * p.brow_inner_raise - lift + BROW_DROP * p.brow_lower
        outer_y = BROW_Y + 0.02 - BROW_RAISE * p.brow_outer_raise - lift + 0.03 * p.brow_lower
        inner_x = BROW_IN_X - BROW_PULL * p.brow_lower
        arch = 0.06 + 0.03 * p.brow_outer_raise - 0.04 * p.brow_lower
        x = side * (inner_x + (BROW_OUT_X - inner_x) * t)
        y = inner_y + (outer_y - inner_y) * t - arch * self._bump
        # Thick at the inner end, tapering outward; about as thick as a real brow (FaceMesh needs the mass).
        half = 0.5 * (0.12 - 0.05 * t)
        # Offset the centre line along its normal for a tapered stroke.
        dx, dy = np.gradient(x), np.gradient(y)
        norm = np.hypot(dx, dy) + 1e-9
        nx, ny = -dy / norm, dx / norm
        left = np.stack([x + nx * half, y + ny * half], 1)
        right = np.stack([x - nx * half, y - ny * half], 1)
        brow = np.concatenate([left, right[::-1]])
        color = _lerp_color(self.hair or (40, 52, 78), (0, 0, 0), 0.25)
        pts = proj.surface(brow)
        self._fill(img, pts, color)
        self._stroke(img, pts, color, 1, closed=True)  # rounds off the tapered ends

    def _draw_forehead(self, img: np.ndarray, p: FaceParams, proj: _Projector, skin: Color) -> None:
        line = (60, 80, 125)
        frown = p.brow_lower - 0.3
        if frown > 0.0:  # vertical creases between lowered brows
            color = _lerp_color(skin, line, 1.4 * frown)
            for side in (-1.0, 1.0):
                crease = np.array([[side * 0.07, BROW_Y - 0.02], [side * 0.05, BROW_Y + 0.12]])
                self._stroke(img, proj.surface(crease), color, self._thin)
        # No forehead line over raised brows: FaceMesh took it for the brow and read a raise as a lowering.

    def _draw_blush(self, img: np.ndarray, p: FaceParams, proj: _Projector) -> None:
        alpha = 0.12 + 0.45 * p.cheek_raise + 0.3 * p.flush
        polys = [proj.surface(self._ellipse(side * 0.56, EYE_Y + 0.3 - 0.06 * p.cheek_raise, 0.17, 0.1))
                 for side in (-1.0, 1.0)]
        # Blend only inside the blush bounding box: cheap and leaves the rest of the frame untouched.
        allpts = np.concatenate(polys)[:, 0] >> SHIFT
        x0, y0 = np.maximum(allpts.min(0) - 2, 0)
        x1, y1 = np.minimum(allpts.max(0) + 3, self.size)
        if x1 <= x0 or y1 <= y0:
            return
        roi = img[y0:y1, x0:x1]
        overlay = roi.copy()
        offset = np.array([x0, y0], dtype=np.int32) << SHIFT
        cv2.fillPoly(overlay, [q - offset for q in polys], (140, 130, 245), cv2.LINE_AA, SHIFT)
        cv2.addWeighted(overlay, min(alpha, 0.75), roi, 1.0 - min(alpha, 0.75), 0.0, dst=roi)

    # ------------------------------------------------------------------ nose

    def _draw_nose(self, img: np.ndarray, p: FaceParams, proj: _Projector, skin: Color) -> None:
        lift = 0.03 * p.nose_wrinkle + 0.02 * p.upper_lip_raise
        line = _lerp_color(skin, (50, 70, 120), 0.6)
        shade = _lerp_color(skin, (60, 90, 150), 0.22)
        tip = self._ellipse(0.0, NOSE_Y - lift - 0.02, 0.1 + 0.015 * p.nose_wrinkle, 0.075)
        self._fill(img, proj.surface(tip, lift=0.1), shade)
        # Nostril curve: a soft "u" under the tip whose wings flare as the nose wrinkles.
        t = self._t
        x = (t * 2.0 - 1.0) * (0.11 + 0.02 * p.nose_wrinkle)
        y = NOSE_Y - lift + 0.045 + 0.035 * self._bump - 0.03 * np.abs(2 * t - 1) ** 3
        self._stroke(img, proj.surface(np.stack([x, y], 1), lift=0.08), line, self._line)
        if p.nose_wrinkle > 0.1:  # wrinkles across the bridge
            color = _lerp_color(skin, line, 0.3 + 0.7 * p.nose_wrinkle)
            xs = np.linspace(-0.06, 0.06, 7)
            for y0 in (0.14, 0.2)[: 1 + int(1.6 * p.nose_wrinkle)]:
                pts = np.stack([xs, y0 - lift + 2.5 * xs ** 2], 1)
                self._stroke(img, proj.surface(pts, lift=0.05), color, self._thin)

    # ------------------------------------------------------------------ mouth

    def _mouth_curves(self, p: FaceParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, upper-lip y and lower-lip y from the left to the right mouth corner (before the jaw drop)."""
        t, bump = self._t, self._bump
        sm, dp, pr = p.smile, p.lip_corner_depress, p.lip_press
        half_w = MOUTH_HALF_W + 0.07 * sm - 0.07 * pr + 0.02 * dp - 0.09 * p.jaw_open * (1.0 - sm)
        corner = MOUTH_Y - 0.015 - 0.14 * sm + 0.12 * dp + 0.01 * pr
        left_y, right_y = corner, corner - 0.08 * p.smirk
        x = -half_w + 2.0 * half_w * t + 0.03 * p.smirk * t
        base = left_y + (right_y - left_y) * t
        corner_avg = 0.5 * (left_y + right_y)
        upper_mid = MOUTH_Y - 0.04 * p.chin_raise
        # Upper-lip raise lifts a flat-topped, one-sided sneer rather than a round arch.
        sneer = 0.07 * p.upper_lip_raise * (bump ** 0.4 + 0.5 * np.exp(-(((t - 0.3) / 0.18) ** 2)))
        up = base + (upper_mid - corner_avg) * bump - sneer
        opening = (0.08 * p.lip_part + 0.03 * p.upper_lip_raise) * (1.0 - 0.8 * pr)
        grin = 0.12 * sm * min(1.0, 4.0 * opening)  # an open smile sags into a D shape
        lower_mid = upper_mid + opening + grin + 0.02 * p.upper_lip_raise - 0.03 * p.chin_raise * (1.0 - p.lip_part)
        low = base + (lower_mid - corner_avg) * bump ** 0.6
        return x, up, np.maximum(low, up)

    def _draw_mouth(self, img: np.ndarray, p: FaceParams, proj: _Projector, skin: Color) -> None:
        x, up, low = self._mouth_curves(p)
        # The jaw carries the lower lip: drop its middle most, the corners least.
        low = low + JAW_DROP * p.jaw_open * self._bump ** 0.5 * 0.95
        lip = (75, 70, 175)
        self._draw_folds(img, p, proj, skin, x, up)
        gap = float((low - up).max())
        upper = np.stack([x, up], 1)
        if gap < 0.012:
            thickness = self._thick if p.lip_press > 0.4 else self._line
            self._stroke(img, proj.surface(upper), _lerp_color(lip, (40, 30, 90), p.lip_press), thickness)
        else:
            lower = np.stack([x, low], 1)
            outline = proj.surface(np.concatenate([upper, lower[::-1]]))
            self._fill(img, outline, (45, 35, 115))
            teeth_low = np.minimum(up + 0.035 + 0.04 * max(p.smile, p.upper_lip_raise), low)
            teeth = np.concatenate([upper, np.stack([x, teeth_low], 1)[::-1]])
            self._fill(img, proj.surface(teeth), (240, 243, 248))
            if gap > 0.12:  # a tongue shows in a wide-open mouth
                tongue_top = np.maximum(low - 0.45 * (low - up) * self._bump, teeth_low)
                tongue = np.concatenate([np.stack([x, tongue_top], 1), lower[::-1]])
                self._fill(img, proj.surface(tongue), (125, 115, 225))
            self._stroke(img, outline, lip, self._line, closed=True)
        self._draw_corners_and_chin(img, p, proj, skin, x, up, low)

    def _draw_folds(self, img: np.ndarray, p: FaceParams, proj: _Projector, skin: Color,
                    x: np.ndarray, up: np.ndarray) -> None:
        """Nasolabial folds from the nose wings to just outside the mouth corners (smile, sneer)."""
        strength = max(p.upper_lip_raise, 0.7 * p.nose_wrinkle) - 0.4
        if strength <= 0.0:
            return
        color = _lerp_color(skin, (60, 85, 140), 0.25 + 0.6 * strength)
        s = np.linspace(0.0, 0.55, 7)  # only the upper part: the full fold reads as a moustache
        for side, cx, cy in ((-1.0, x[0], up[0]), (1.0, x[-1], up[-1])):
            start = np.array([side * 0.2, NOSE_Y + 0.01])
            end = np.array([cx + side * 0.1, cy])
            pts = start + (end - start) * s[:, None]
            pts[:, 0] += side * 0.08 * np.sin(np.pi * s)  # bow outward around the mouth
            self._stroke(img, proj.surface(pts), color, self._thin)

    def _draw_corners_and_chin(self, img: np.ndarray, p: FaceParams, proj: _Projector, skin: Color,
                               x: np.ndarray, up: np.ndarray, low: np.ndarray) -> None:
        line = (60, 80, 130)
        if p.smile > 0.3:  # ")" brackets around the corners: bunched cheeks of a smile
            color = _lerp_color(skin, line, 0.2 + 0.7 * (p.smile - 0.3))
            a = np.linspace(-1.0, 1.0, 7)
            for i, side in ((0, -1.0), (-1, 1.0)):
                pts = np.stack([x[i] + side * (0.045 + 0.03 * (1.0 - a ** 2)), up[i] - 0.01 + 0.055 * a], 1)
                self._stroke(img, proj.surface(pts), color, self._thin)
        if p.lip_press > 0.4:  # short ticks at the corners of pressed lips
            color = _lerp_color(skin, line, 0.3 + 0.5 * p.lip_press)
            for i, side in ((0, -1.0), (-1, 1.0)):
                tick = np.array([[x[i] + side * 0.01, up[i] - 0.025], [x[i] + side * 0.01, up[i] + 0.025]])
                self._stroke(img, proj.surface(tick), color, self._thin)
        # Lower-lip contour and the chin-raiser bulge: both sit on the jaw.
        mid = float(low[_N_CURVE // 2])
        if p.lip_press < 0.5:
            xs = np.linspace(-0.07, 0.07, 7)
            contour = np.stack([xs, mid + 0.075 - 1.5 * xs ** 2], 1)
            self._stroke(img, proj.surface(contour), _lerp_color(skin, line, 0.3), self._thin)
        if p.chin_raise > 0.2:
            xs = np.linspace(-0.1, 0.1, 9)
            chin = np.stack([xs, mid + 0.2 + 3.0 * xs ** 2], 1)
            self._stroke(img, proj.surface(chin), _lerp_color(skin, line, p.chin_raise), self._thin)

"""A human-style 3D face on the CPU: the 468-point FaceMesh mesh, 52 blendshapes, shaded, at 256x256.

The mesh (assets/face_models/human_face.npz): MediaPipe's FaceMesh triangulation (Apache-2.0) with a neutral
shape measured from a real face by the project's own front end, and a real smile
(media_perception/human_face_asset.py); the other blendshapes are authored fields (face/human_shapes.py).

Per frame: vertices = neutral + weights @ fields; an optional head pose turns them; orthographic projection;
normals light the skin (ambient + Lambert from the upper left, averaged at the vertices so the facets soften); triangles facing away are culled
and the rest painted far to near (cv2.fillConvexPoly, 1/16-pixel fixed point). The mouth interior (teeth,
tongue) and the eyes (white, iris, pupil; the iris follows the eyeLook shapes) are painted first: the mesh has
holes there, so its lids and lips clip them without any masking, as in the cartoon renderer. Lips and brows
are coloured by which triangles lie inside their FaceMesh outlines.

`render(reaction)` needs `weights_of` (reaction -> 52 weights; online/face_style.py passes the
arkit_blendshapes profile's map); `render_weights(weights)` draws the weights themselves.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy import sparse

from react_ros.face.human_shapes import LANDMARKS, blendshape_fields
from react_ros.schema import ARKIT_BLENDSHAPES

__all__ = ["HumanFaceModel", "HumanFaceRenderer", "MESH_FILE"]

MESH_FILE = Path(__file__).resolve().parents[1] / "assets" / "face_models" / "human_face.npz"
SHIFT = 4
_ONE = 1 << SHIFT
Color = tuple[int, int, int]
_INDEX = {name: k for k, name in enumerate(ARKIT_BLENDSHAPES)}


class HumanFaceModel:
    """The mesh: neutral vertices (468, 3), triangles (T, 3) facing the viewer, 52 displacement fields."""

    def __init__(self, path: str | Path = MESH_FILE) -> None:
        with np.load(path) as data:
            self.vertices = data["vertices"].astype(np.float32)
            self.triangles = data["triangles"].astype(np.int32)
            self.smile = data["smile"].astype(np.float32)
        self.fields = blendshape_fields(self.vertices, self.smile)  # (52, 468, 3)
        rows = self.triangles.reshape(-1)  # vertex x triangle incidence: sums triangle normals at each vertex
        columns = np.repeat(np.arange(len(self.triangles)), 3)
        self.incidence = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)),
                                           shape=(len(self.vertices), len(self.triangles)))
        self._flat_fields = self.fields.reshape(len(ARKIT_BLENDSHAPES), -1)
        self.lip_triangles = self._inside(LANDMARKS["upper_lip_outer"] + LANDMARKS["lower_lip_outer"][::-1][1:-1],
                                          exclude=LANDMARKS["upper_lip_inner"] + LANDMARKS["lower_lip_inner"][::-1][1:-1])
        self.brow_triangles = self._inside(LANDMARKS["brow_R"]) | self._inside(LANDMARKS["brow_L"])

    def _inside(self, outline, exclude=()) -> np.ndarray:
        """Triangles whose centroid (neutral, frontal) lies inside the outline (and outside `exclude`)."""
        centroids = self.vertices[self.triangles].mean(1)[:, :2]

        def within(ring) -> np.ndarray:
            polygon = self.vertices[list(ring), :2].astype(np.float32)
            return np.array([cv2.pointPolygonTest(polygon, (float(x), float(y)), False) >= 0 for x, y in centroids])

        inside = within(outline)
        return inside & ~within(exclude) if exclude else inside

    def deform(self, weights: np.ndarray) -> np.ndarray:
        """(468, 3) vertices for 52 weights (clipped to [0, 1]; NaN counts as 0)."""
        w = np.nan_to_num(np.asarray(weights, np.float32).reshape(len(ARKIT_BLENDSHAPES)), nan=0.0)
        return self.vertices + (np.clip(w, 0.0, 1.0) @ self._flat_fields).reshape(self.vertices.shape)


@lru_cache(maxsize=2)
def _model(path: str) -> HumanFaceModel:
    return HumanFaceModel(path)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return (r_roll @ r_pitch @ r_yaw).astype(np.float32)


class HumanFaceRenderer:
    """weights (52,) or a reaction (25,) -> (size, size, 3) BGR uint8 image of a shaded human-style face."""

    def __init__(self, size: int = 256, weights_of: Callable[[np.ndarray], np.ndarray] | None = None,
                 skin: Color = (130, 160, 205), background: Color = (40, 40, 40), mesh: str | Path = MESH_FILE,
                 light: tuple[float, float, float] = (-0.35, -0.55, 1.0)) -> None:
        if size < 32:
            raise ValueError(f"human face size {size}: at least 32 pixels")
        self.size = size
        self.model = _model(str(mesh))
        self.weights_of = weights_of
        self.skin = np.array(skin, np.float32)
        self.lip = np.array((95, 95, 170), np.float32)
        self.brow = np.array((45, 55, 70), np.float32)
        self.hair = (35, 45, 60)
        light_dir = np.array(light, np.float32)
        self.light = light_dir / np.linalg.norm(light_dir)
        self.scale = size * 0.40  # pixels per inter-ocular unit: the face (about 2 units tall) fills 4/5
        self.centre = np.array([size / 2, size * 0.54], np.float32)
        base = np.tile(self.skin, (len(self.model.triangles), 1))
        base[self.model.lip_triangles] = self.lip
        base[self.model.brow_triangles] = self.brow
        self.base_colors = base
        self._background = self._draw_background(background)

    # ------------------------------------------------------------------------------------- public

    def render(self, reaction: np.ndarray, head_pose=None) -> np.ndarray:
        if self.weights_of is None:
            raise ValueError("HumanFaceRenderer.render(reaction) needs weights_of (reaction -> 52 blendshape weights); "
                             "use render_weights, or online.face_style.face_renderer('human')")
        return self.render_weights(self.weights_of(np.asarray(reaction, np.float32)), head_pose)

    def render_weights(self, weights: np.ndarray, head_pose=None) -> np.ndarray:
        """weights: 52 ARKit blendshape weights (schema.ARKIT_BLENDSHAPES order); head_pose: (yaw, pitch, roll) rad."""
        weights = np.asarray(weights, np.float32).reshape(-1)
        if weights.shape != (len(ARKIT_BLENDSHAPES),):
            raise ValueError(f"human face: expected {len(ARKIT_BLENDSHAPES)} blendshape weights, got {weights.size}")
        weights = np.clip(np.nan_to_num(weights, nan=0.0), 0.0, 1.0)
        points = self.model.deform(weights)
        if head_pose is not None:
            points = points @ _rotation(*map(float, head_pose)).T
        xy = points[:, :2] * self.scale + self.centre
        fixed = np.round(xy * _ONE).astype(np.int32)
        image = self._background.copy()
        self._draw_mouth(image, fixed, weights)
        self._draw_eyes(image, xy, fixed, weights)
        self._draw_mesh(image, points, fixed)
        return image

    # ------------------------------------------------------------------------------------- parts

    def _draw_background(self, background: Color) -> np.ndarray:
        """Neck, hair and the back of the head around where the face mesh goes (a face is not a floating mask)."""
        size, s, (cx, cy) = self.size, self.scale, self.centre
        image = np.full((size, size, 3), background, np.uint8)
        neck = self.skin * 0.62
        cv2.rectangle(image, (int(cx - 0.5 * s), int(cy + 0.5 * s)), (int(cx + 0.5 * s), size), neck.tolist(), -1)
        cv2.ellipse(image, (int(cx), size + int(0.35 * s)), (int(1.6 * s), int(0.7 * s)), 0, 180, 360,
                    (90, 70, 60), -1, cv2.LINE_AA)  # shoulders (a shirt)
        cv2.ellipse(image, (int(cx), int(cy - 0.15 * s)), (int(0.92 * s), int(1.2 * s)), 0, 0, 360, self.hair, -1,
                    cv2.LINE_AA)
        for side in (-1, 1):  # ears
            cv2.ellipse(image, (int(cx + side * 0.8 * s), int(cy - 0.1 * s)), (int(0.12 * s), int(0.25 * s)), 0, 0,
                        360, (self.skin * 0.8).tolist(), -1, cv2.LINE_AA)
        return image

    def _draw_mouth(self, image: np.ndarray, fixed: np.ndarray, weights: np.ndarray) -> None:
        upper, lower = list(LANDMARKS["upper_lip_inner"]), list(LANDMARKS["lower_lip_inner"])
        ring = fixed[upper + lower[::-1][1:-1]]
        cv2.fillPoly(image, [ring], (35, 30, 85), cv2.LINE_AA, SHIFT)
        width = max(1, int(abs(fixed[308, 0] - fixed[78, 0])))
        teeth = np.concatenate([fixed[upper], fixed[upper[::-1]] + np.array([0, int(width * 0.16)])])
        cv2.fillPoly(image, [teeth], (215, 225, 232), cv2.LINE_AA, SHIFT)
        out = float(weights[_INDEX["tongueOut"]])
        if out + weights[_INDEX["jawOpen"]] > 0.05:  # the tongue lies on the floor of the mouth (out with tongueOut)
            floor = fixed[14] / _ONE  # the middle of the lower lip's inner edge, in pixels
            half_width, half_height = 0.3 * width / _ONE, (0.10 + 0.25 * out) * width / _ONE
            centre = np.round((floor + np.array([0.0, (out - 0.4) * half_height])) * _ONE).astype(int)
            axes = (int(round(half_width * _ONE)), int(round(half_height * _ONE)))
            cv2.ellipse(image, tuple(centre.tolist()), axes, 0, 0, 360, (105, 105, 195), -1, cv2.LINE_AA, SHIFT)

    def _draw_eyes(self, image: np.ndarray, xy: np.ndarray, fixed: np.ndarray, weights: np.ndarray) -> None:
        for side, suffix, direction in (("R", "Right", -1.0), ("L", "Left", 1.0)):
            upper, lower = list(LANDMARKS[f"upper_lid_{side}"]), list(LANDMARKS[f"lower_lid_{side}"])
            cv2.fillPoly(image, [fixed[upper + lower[::-1][1:-1]]], (225, 230, 235), cv2.LINE_AA, SHIFT)
            corner_out, corner_in = xy[upper[0]], xy[upper[-1]]
            width = float(np.linalg.norm(corner_out - corner_in))
            centre = (corner_out + corner_in) / 2 + np.array([0.0, -0.04 * width])
            look_x = weights[_INDEX[f"eyeLookOut{suffix}"]] - weights[_INDEX[f"eyeLookIn{suffix}"]]
            look_y = weights[_INDEX[f"eyeLookDown{suffix}"]] - weights[_INDEX[f"eyeLookUp{suffix}"]]
            centre = centre + np.array([direction * look_x * 0.25 * width, look_y * 0.2 * width])
            c = tuple(int(round(v * _ONE)) for v in centre)
            cv2.circle(image, c, int(0.26 * width * _ONE), (45, 75, 105), -1, cv2.LINE_AA, SHIFT)
            cv2.circle(image, c, int(0.12 * width * _ONE), (20, 20, 25), -1, cv2.LINE_AA, SHIFT)
            highlight = tuple(int(round((v - 0.07 * width) * _ONE)) for v in centre)
            cv2.circle(image, highlight, int(0.05 * width * _ONE), (235, 240, 245), -1, cv2.LINE_AA, SHIFT)

    def _draw_mesh(self, image: np.ndarray, points: np.ndarray, fixed: np.ndarray) -> None:
        tri = self.model.triangles
        a, b, c = points[tri[:, 0]], points[tri[:, 1]], points[tri[:, 2]]
        normals = -np.cross(b - a, c - a)  # y is down: the viewer-facing normal is minus the cross product
        length = np.linalg.norm(normals, axis=1)
        visible = normals[:, 2] > 1e-7 * length.max()
        # Smooth light: each vertex averages its triangles' (area-weighted) normals, each triangle takes the mean
        # light of its corners, so neighbours share most of their light and the facets soften.
        vertex_normals = self.model.incidence @ normals
        vertex_normals /= np.maximum(np.linalg.norm(vertex_normals, axis=1), 1e-12)[:, None]
        vertex_light = np.clip(vertex_normals @ self.light, 0.0, 1.0)
        light = 0.38 + 0.62 * vertex_light[tri].mean(axis=1)
        colors = np.clip(self.base_colors * light[:, None], 0, 255).astype(np.int32)
        depth = (a[:, 2] + b[:, 2] + c[:, 2])
        order = np.flatnonzero(visible)
        order = order[np.argsort(depth[order], kind="stable")]  # far first
        corners = fixed[tri[order]]
        fill = cv2.fillConvexPoly
        for polygon, color in zip(corners, colors[order].tolist(), strict=True):
            fill(image, polygon, color, cv2.LINE_8, SHIFT)

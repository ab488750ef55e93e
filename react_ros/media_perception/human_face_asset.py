"""Build the human-style face's mesh (react_ros/assets/face_models/human_face.npz) from real faces.

    python -m react_ros.media_perception.human_face_asset --wheel mediapipe-0.10.14-...whl --video single_face.mp4 \
        --neutral 0:16 --smile 22:66

- triangles: MediaPipe's FaceMesh tessellation (`FACEMESH_TESSELATION` in the wheel's
  mediapipe/python/solutions/face_mesh_connections.py, Apache-2.0) lists edges; every 3-cycle of edges is a
  triangle unless an edge would then border three triangles (then the one that covers another landmark in the
  frontal view goes). The result is a disc with exactly three holes: the two eyes and the mouth.
- neutral: the project's own front end (BlazeFace + FaceMesh, perception/face_models.py) on the `--neutral`
  frames of a real face, each frame aligned to the first on landmarks that a smile does not move, averaged,
  turned frontal, made left-right symmetric, scaled to an inter-ocular distance (outer eye corners) of 1.
- smile: the measured displacement from the neutral to the `--smile` frames (mean), made symmetric: the real
  field behind mouthSmileLeft/Right (the other shapes are authored, face/human_shapes.py).
Axes: x towards the subject's left (image right), y down, z towards the viewer.
"""
from __future__ import annotations

import argparse
import ast
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "assets" / "face_models" / "human_face.npz"
TESSELATION = "mediapipe/python/solutions/face_mesh_connections.py"
STABLE = (10, 151, 9, 8, 168, 6, 133, 362, 33, 263, 234, 454)  # forehead, nose bridge, eye corners, temples
RIGHT_OUTER, LEFT_OUTER, FOREHEAD, CHIN = 33, 263, 10, 152


def tessellation_edges(wheel: str | Path) -> set[tuple[int, int]]:
    """FaceMesh's edge list, read (not imported) from the mediapipe wheel."""
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read(TESSELATION).decode())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "FACEMESH_TESSELATION":
            pairs = ast.literal_eval(node.value.args[0])
            return {tuple(sorted(pair)) for pair in pairs}
    raise ValueError(f"{wheel}: no FACEMESH_TESSELATION in {TESSELATION}")


def _covers_a_landmark(triangle, points: np.ndarray) -> bool:
    a, b, c = points[list(triangle)]
    v0, v1, v2 = c - a, b - a, points - a
    d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
    d20, d21 = v2 @ v0, v2 @ v1
    den = d00 * d11 - d01 * d01
    u, v = (d11 * d20 - d01 * d21) / den, (d00 * d21 - d01 * d20) / den
    inside = (u > 1e-6) & (v > 1e-6) & (u + v < 1 - 1e-6)
    inside[list(triangle)] = False
    return bool(inside.any())


def triangles_from_edges(edges: set[tuple[int, int]], frontal: np.ndarray) -> np.ndarray:
    """(T, 3) triangles, oriented so that their normals point to the viewer (+z) in `frontal` (x right, y down)."""
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    triangles = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}

    def edge_uses() -> Counter:
        return Counter(e for t in triangles for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))

    while over := [e for e, n in edge_uses().items() if n > 2]:
        sharing = sorted(t for t in triangles if over[0][0] in t and over[0][1] in t)
        covering = [t for t in sharing if _covers_a_landmark(t, frontal[:, :2])]
        triangles.discard((covering or sharing)[0])
    out = np.array(sorted(triangles), np.int32)
    a, b, c = (frontal[out[:, k]] for k in range(3))
    normal_z = np.cross(b - a, c - a)[:, 2]  # y down: a viewer-facing triangle has negative z here
    flip = normal_z > 0
    out[flip] = out[flip][:, [0, 2, 1]]
    return out


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation and translation that best map `source` onto `target` (Umeyama)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s)
    d = np.eye(3)
    d[2, 2] = np.sign(np.linalg.det(u @ vt))
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sigma) @ d) / (s**2).sum())
    return scale, rotation, mu_t - scale * rotation @ mu_s


def align(frames: np.ndarray) -> np.ndarray:
    """Each (468, 3) frame mapped onto the first by a similarity fitted on the STABLE landmarks."""
    reference = frames[0][list(STABLE)]
    out = []
    for frame in frames:
        scale, rotation, shift = _similarity(frame[list(STABLE)], reference)
        out.append(scale * frame @ rotation.T + shift)
    return np.array(out)


def frontal(points: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, float]]:
    """Points in the face's own frame: x along the eye line, y from forehead to chin, z towards the viewer;
    centred, inter-ocular distance 1. Returns the points and (centre, rotation, scale) to apply to fields."""
    x = points[LEFT_OUTER] - points[RIGHT_OUTER]
    x /= np.linalg.norm(x)
    y = points[CHIN] - points[FOREHEAD]
    y -= x * (x @ y)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    rotation = np.stack([x, y, z])
    centre = points.mean(0)
    scale = 1.0 / np.linalg.norm(points[LEFT_OUTER] - points[RIGHT_OUTER])
    out = (points - centre) @ rotation.T * scale
    if out[1, 2] < out[:, 2].mean():  # the nose tip (1) must be nearest the viewer
        out[:, 2] *= -1
        rotation[2] *= -1
    return out, (centre, rotation, scale)


def mirror_pairs(points: np.ndarray) -> np.ndarray:
    """For each landmark, its left-right twin (itself on the midline): the one-to-one matching of the points to
    their mirror images (x -> -x) with the least total distance (nearest neighbours alone pair some twice)."""
    from scipy.optimize import linear_sum_assignment

    mirrored = points * np.array([-1.0, 1.0, 1.0])
    distance = np.linalg.norm(points[:, None, :] - mirrored[None, :, :], axis=2)
    return linear_sum_assignment(distance)[1].astype(np.int32)


def symmetric(field: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The mean of a point field and its mirror image (twin's value with x negated)."""
    twin = field[pairs] * np.array([-1.0, 1.0, 1.0])
    return (field + twin) / 2.0


def landmarks_of_video(video: str | Path) -> np.ndarray:
    """(frames, 468, 3) FaceMesh landmarks (pixels) of the largest face in every frame."""
    from react_ros.face.video import iter_video
    from react_ros.perception.face_models import (
        BlazeFaceDetector,
        FaceMeshLandmarker,
        roi_from_detection,
        roi_from_landmarks,
    )

    detector, landmarker, out = BlazeFaceDetector(), FaceMeshLandmarker(), []
    for frame in iter_video(video):
        faces = detector.detect(frame)
        if not faces:
            raise ValueError(f"{video}: no face in frame {len(out)}")
        first = landmarker.landmarks(frame, roi_from_detection(max(faces, key=lambda f: f.area)))
        out.append(landmarker.landmarks(frame, roi_from_landmarks(first.points)).points)  # refined on itself
    return np.array(out, np.float64)


def build(wheel: str | Path, video: str | Path, neutral: slice, smile: slice) -> dict[str, np.ndarray]:
    frames = align(landmarks_of_video(video))
    neutral_mean, (centre, rotation, scale) = frontal(frames[neutral].mean(0))
    pairs = mirror_pairs(neutral_mean)
    vertices = symmetric(neutral_mean, pairs)
    smiled = (frames[smile].mean(0) - centre) @ rotation.T * scale
    smile_field = symmetric(smiled - neutral_mean, pairs)
    triangles = triangles_from_edges(tessellation_edges(wheel), vertices)
    return {"vertices": vertices.astype(np.float32), "triangles": triangles, "mirror": pairs,
            "smile": smile_field.astype(np.float32)}


def _frames(text: str) -> slice:
    start, _, stop = text.partition(":")
    return slice(int(start), int(stop))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True, help="mediapipe-0.10.14 wheel (pip download --no-deps)")
    parser.add_argument("--video", required=True, help="a real face that starts neutral and then smiles")
    parser.add_argument("--neutral", type=_frames, default=slice(0, 16), help="neutral frames START:STOP")
    parser.add_argument("--smile", type=_frames, default=slice(22, 66), help="smiling frames START:STOP")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    arrays = build(args.wheel, args.video, args.neutral, args.smile)
    np.savez_compressed(args.out, **arrays)
    print(f"{args.out}: {len(arrays['vertices'])} vertices, {len(arrays['triangles'])} triangles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

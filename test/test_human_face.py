"""The human-style face: its mesh (FaceMesh topology, measured neutral), blendshape fields that move the right
parts the right way, a renderer whose faces the project's own FaceMesh front end reads as the expressions meant,
and the face_style switch."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from react_ros import schema
from react_ros.face.human import MESH_FILE, HumanFaceModel, HumanFaceRenderer
from react_ros.face.preview import preset_reaction
from react_ros.online.face_style import face_renderer

A = schema.ARKIT_BLENDSHAPES


@pytest.fixture(scope="module")
def model():
    return HumanFaceModel()


def weights(**values: float) -> np.ndarray:
    w = np.zeros(len(A), np.float32)
    for name, value in values.items():
        w[A.index(name)] = value
    return w


def boundary_loops(triangles: np.ndarray) -> list[int]:
    uses = Counter(tuple(sorted(e)) for t in triangles for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))
    assert max(uses.values()) == 2  # a manifold surface: no edge borders three triangles
    neighbours = defaultdict(set)
    for (a, b), n in uses.items():
        if n == 1:
            neighbours[a].add(b)
            neighbours[b].add(a)
    seen, sizes = set(), []
    for start in neighbours:
        if start in seen:
            continue
        stack, size = [start], 0
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                size += 1
                stack.extend(neighbours[k])
        sizes.append(size)
    return sorted(sizes)


def test_the_mesh_is_facemesh_a_disc_with_eye_and_mouth_holes(model):
    assert model.vertices.shape == (468, 3) and model.fields.shape == (52, 468, 3)
    # the face outline (36 landmarks), the two eyes (16 each) and the inner lips (20): FaceMesh's contours
    assert boundary_loops(model.triangles) == [16, 16, 20, 36]
    v = model.vertices
    assert np.isclose(np.linalg.norm(v[263] - v[33]), 1.0, atol=1e-4)  # inter-ocular units
    assert v[[1, 4], 2].max() == v[:, 2].max()  # the nose tip is nearest the viewer
    assert v[10, 1] < v[1, 1] < v[152, 1]  # forehead above the nose above the chin (y down)
    assert v[263, 0] > 0 > v[33, 0]  # the subject's left eye at +x


def test_neutral_weights_give_the_neutral_face_and_left_mirrors_right(model):
    assert np.array_equal(model.deform(np.zeros(52)), model.vertices)
    flip = np.array([-1.0, 1.0, 1.0])  # x -> -x
    with np.load(MESH_FILE) as data:
        twin = data["mirror"]
    for left, right in (("mouthSmileLeft", "mouthSmileRight"), ("browDownLeft", "browDownRight"),
                        ("eyeBlinkLeft", "eyeBlinkRight"), ("mouthFrownLeft", "mouthFrownRight")):
        a, b = model.fields[A.index(left)], model.fields[A.index(right)]
        assert np.allclose(a, b[twin] * flip, atol=0.01), left
        assert np.abs(a[model.vertices[:, 0] > 0.3]).max() > 5 * np.abs(a[model.vertices[:, 0] < -0.3]).max(), left


def _moved(model, name: str, index: int) -> np.ndarray:
    return model.deform(weights(**{name: 1.0}))[index] - model.vertices[index]


def test_each_shape_moves_its_part_the_way_arkit_defines_it(model):
    v = model.vertices
    corner = _moved(model, "mouthSmileLeft", 291)
    assert corner[1] < -0.05 and corner[0] > 0.05  # the left lip corner goes up and out
    assert _moved(model, "mouthFrownLeft", 291)[1] > 0.05  # ... and down for a frown
    assert _moved(model, "jawOpen", 152)[1] > 0.15  # the chin drops
    assert np.abs(_moved(model, "jawOpen", 10)).max() == 0.0  # the forehead does not
    assert _moved(model, "browInnerUp", 107)[1] < -0.05 and _moved(model, "browInnerUp", 336)[1] < -0.05
    assert _moved(model, "browOuterUpLeft", 300)[1] < -0.05
    assert _moved(model, "browDownRight", 105)[1] > 0.05
    blink = model.deform(weights(eyeBlinkLeft=1.0))
    assert abs(blink[374, 1] - blink[386, 1]) < 0.1 * abs(v[374, 1] - v[386, 1])  # the left eye closes
    assert np.allclose(blink[[159, 145]], v[[159, 145]])  # the right one does not
    assert _moved(model, "eyeWideRight", 159)[1] < -0.01
    assert _moved(model, "cheekSquintLeft", 347)[1] < -0.02
    assert _moved(model, "noseSneerRight", 98)[1] < -0.02
    gaze_and_tongue = [k for k, name in enumerate(A) if name.startswith("eyeLook") or name == "tongueOut"]
    moving = [k for k in range(len(A)) if np.abs(model.fields[k]).max() > 0.01]
    assert sorted(set(range(len(A))) - set(moving)) == gaze_and_tongue  # the renderer draws those


def _facemesh_geometry(image: np.ndarray) -> dict[str, float]:
    """What the project's front end measures on an image: mouth width, lip gap, brow height (inter-ocular units)."""
    from react_ros.perception.face_models import (
        BlazeFaceDetector,
        FaceMeshLandmarker,
        roi_from_detection,
        roi_from_landmarks,
    )

    faces = BlazeFaceDetector().detect(image)
    assert faces, "BlazeFace finds no face in the human-style render"
    landmarker = FaceMeshLandmarker()
    first = landmarker.landmarks(image, roi_from_detection(faces[0]))
    mesh = landmarker.landmarks(image, roi_from_landmarks(first.points))
    assert mesh.score > 0.9
    p = mesh.points[:, :2]
    unit = np.linalg.norm(p[33] - p[263])
    return {"mouth_width": np.linalg.norm(p[61] - p[291]) / unit, "lip_gap": (p[14, 1] - p[13, 1]) / unit,
            "brow": ((p[159, 1] - p[105, 1]) + (p[386, 1] - p[334, 1])) / 2 / unit}


def test_facemesh_reads_smile_frown_and_surprise_on_the_human_face():
    """The expressions are there for a face reader to see, not only in the vertices: measured on the image."""
    renderer = face_renderer("human", 256)
    seen = {name: _facemesh_geometry(renderer.render(preset_reaction(name)))
            for name in ("neutral", "happy", "sad", "surprise", "anger")}
    neutral = seen["neutral"]
    assert seen["happy"]["mouth_width"] > neutral["mouth_width"] + 0.1  # measured 0.55 -> 0.75 (real: 0.54 -> 0.74)
    assert seen["surprise"]["lip_gap"] > neutral["lip_gap"] + 0.08
    assert seen["surprise"]["brow"] > neutral["brow"] + 0.02
    assert seen["anger"]["brow"] < neutral["brow"] - 0.01
    assert seen["sad"]["mouth_width"] < seen["happy"]["mouth_width"] - 0.1


def test_render_gives_a_frame_of_the_size_and_rejects_bad_input():
    renderer = HumanFaceRenderer(256)
    image = renderer.render_weights(weights(jawOpen=0.5, tongueOut=1.0, eyeLookUpLeft=1.0))
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    nan = weights()
    nan[A.index("jawOpen")] = np.nan
    assert np.array_equal(renderer.render_weights(nan), renderer.render_weights(weights()))  # NaN is rest
    with pytest.raises(ValueError, match="52 blendshape weights"):
        renderer.render_weights(np.zeros(25))
    with pytest.raises(ValueError, match="needs weights_of"):
        renderer.render(schema.neutral_frame())
    turned = renderer.render_weights(weights(), head_pose=(0.3, 0.0, 0.0))
    assert not np.array_equal(turned, renderer.render_weights(weights()))


def test_the_four_expressions_look_different_where_they_should():
    renderer = face_renderer("human", 256)
    neutral = renderer.render(preset_reaction("neutral")).astype(np.int16)
    mouth, brows = (slice(150, 210), slice(80, 176)), (slice(60, 105), slice(50, 206))
    for name, region in (("happy", mouth), ("sad", mouth), ("surprise", brows), ("surprise", mouth)):
        diff = np.abs(renderer.render(preset_reaction(name)).astype(np.int16) - neutral)
        assert diff[region].mean() > 2 * diff.mean(), name  # the change is concentrated where the shape acts


def test_face_style_picks_the_renderer_or_names_the_styles():
    assert isinstance(face_renderer("Human", 64), HumanFaceRenderer)
    assert not isinstance(face_renderer("cartoon", 64), HumanFaceRenderer)
    with pytest.raises(ValueError, match="cartoon, human"):
        face_renderer("realistic")


def test_a_screen_face_session_draws_the_style_it_is_configured_with():
    from react_ros.online.session import ReactionSession, SessionConfig
    from react_ros.robot import load_profile

    made = {style: ReactionSession(object(), load_profile("screen_face"),
                                   SessionConfig(face_style=style, face_image_size=96)).renderer
            for style in ("cartoon", "human")}
    assert isinstance(made["human"], HumanFaceRenderer) and not isinstance(made["cartoon"], HumanFaceRenderer)
    smile = preset_reaction("happy")
    assert made["human"].render(smile).shape == (96, 96, 3)


def test_the_operator_console_draws_the_face_style_it_is_given():
    import cv2

    from react_ros.study.console import OperatorConsole

    class Runner:
        live = {"reaction": preset_reaction("happy").tolist()}

    pictures = {}
    for style in ("cartoon", "human"):
        console = OperatorConsole(Runner(), face_style=style)
        try:
            pictures[style] = cv2.imdecode(np.frombuffer(console._face_png(), np.uint8), cv2.IMREAD_COLOR)
        finally:
            console.server.server_close()
    human = face_renderer("human", 192).render(preset_reaction("happy"))
    assert np.array_equal(pictures["human"], human) and not np.array_equal(pictures["cartoon"], human)


def test_the_asset_builder_recovers_oriented_triangles_and_twins_from_an_edge_list():
    from react_ros.media_perception.human_face_asset import mirror_pairs, symmetric, triangles_from_edges

    # a 4 x 3 grid of points (x right, y down), each cell split along one diagonal: 12 triangles from 23 edges
    xs, ys = np.meshgrid(np.arange(4.0) - 1.5, np.arange(3.0))
    points = np.stack([xs.ravel(), ys.ravel(), np.zeros(12)], 1)
    faces = []
    for row in range(2):
        for col in range(3):
            a, b, c, d = row * 4 + col, row * 4 + col + 1, (row + 1) * 4 + col, (row + 1) * 4 + col + 1
            faces += [(a, b, d), (a, d, c)]
    edges = {tuple(sorted(e)) for f in faces for e in ((f[0], f[1]), (f[1], f[2]), (f[0], f[2]))}
    triangles = triangles_from_edges(edges, points)
    assert {tuple(sorted(t)) for t in triangles} == {tuple(sorted(f)) for f in faces}
    a, b, c = (points[triangles[:, k]] for k in range(3))
    assert np.all(np.cross(b - a, c - a)[:, 2] < 0)  # every one faces the viewer (y down)
    twins = mirror_pairs(points)
    assert np.array_equal(twins[twins], np.arange(12)) and twins[0] == 3 and twins[5] == 6
    bent = points.copy()
    bent[0, 0] -= 0.2  # one side out of shape: symmetric() splits the difference with its twin
    assert np.allclose(symmetric(bent, twins)[[0, 3], 0], [-1.6, 1.6])

"""The mesh front end reads the renderer's brows the way the labels describe them (docs/perception.md).

FaceMesh follows a drawn brow only inside a narrow band above the eye; brows drawn outside it were read in
the wrong direction (a rendered AU1 raise lowered the measured inner brow), so training on perceived
synthetic attributes got no brow signal. These pin the direction of each brow AU on rendered faces.
"""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema

pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert (scripts/setup.sh installs it)")

from react_ros.face.renderer import FaceRenderer  # noqa: E402
from react_ros.perception.face_geometry import FEATURE_NAMES  # noqa: E402
from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd  # noqa: E402

LEVELS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def front() -> MeshSpeakerFrontEnd:
    return MeshSpeakerFrontEnd()


def _measures(front: MeshSpeakerFrontEnd, renderer: FaceRenderer, name: str, level: float) -> dict[str, float]:
    """FaceMesh's shape measures on one rendered face with only `name` at `level` (a fresh track)."""
    frame = schema.neutral_frame()
    frame[schema.index_of(name)] = level
    front.reset()
    visual = front.process_image(renderer.render(frame))
    assert visual.present and visual.geometry is not None, (name, level, visual.reason)
    return dict(zip(FEATURE_NAMES, visual.geometry.features.astype(float), strict=True))


@pytest.mark.parametrize("size", [128, 256])  # 128: the synthetic data set's video size
def test_raising_the_inner_brows_raises_the_measured_inner_brow(front, size):
    renderer = FaceRenderer(size)
    heights = [_measures(front, renderer, "AU1", level)["brow_inner"] for level in LEVELS]
    assert heights[-1] > heights[0] + 0.008, heights
    assert np.all(np.diff(heights) > -0.003), heights  # a bigger raise never reads lower


@pytest.mark.parametrize("size", [128, 256])
def test_raising_the_outer_brows_raises_the_measured_outer_brow(front, size):
    renderer = FaceRenderer(size)
    heights = [_measures(front, renderer, "AU2", level)["brow_outer"] for level in LEVELS]
    assert heights[-1] > heights[0] + 0.004, heights
    assert np.all(np.diff(heights) > -0.003), heights


@pytest.mark.parametrize("size", [128, 256])
def test_lowering_the_brows_lowers_the_inner_brow_and_narrows_the_gap(front, size):
    renderer = FaceRenderer(size)
    rows = [_measures(front, renderer, "AU4", level) for level in LEVELS]
    heights, gaps = [r["brow_inner"] for r in rows], [r["brow_gap"] for r in rows]
    assert heights[-1] < heights[0] - 0.02 and np.all(np.diff(heights) < 0.0), heights
    assert gaps[-1] < gaps[0], gaps

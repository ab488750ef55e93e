"""Face renderer, face controls and video helpers (fast: the whole file runs in a few seconds)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from react_ros import schema
from react_ros.face import (
    PARAM_RANGES,
    FaceParams,
    FaceRenderer,
    face_params_from_reaction,
    read_video,
    tile,
    video_info,
    write_video,
)
from react_ros.face.preview import PRESETS, expression_grid, preset_pose, preset_reaction
from react_ros.face.video import render_reactions_video

SIZE = 128


@pytest.fixture(scope="module")
def renderer() -> FaceRenderer:
    return FaceRenderer(size=SIZE)


def _region_change(renderer: FaceRenderer, a: np.ndarray, b: np.ndarray, feature: str) -> float:
    """Mean absolute pixel difference inside a feature box."""
    x0, y0, x1, y1 = renderer.feature_box(feature)
    return float(np.abs(a[y0:y1, x0:x1].astype(np.int16) - b[y0:y1, x0:x1]).mean())


def _in_range(params: FaceParams) -> bool:
    return all(
        math.isfinite(getattr(params, name)) and low <= getattr(params, name) <= high
        for name, (low, high) in PARAM_RANGES.items()
    )


# ----------------------------------------------------------------------------- params

def test_params_neutral_defaults():
    params = face_params_from_reaction(schema.neutral_frame())
    assert params.smile == 0.0 and params.jaw_open == 0.0 and params.brow_lower == 0.0
    assert params.eye_open == pytest.approx(1.0)
    assert (params.head_pitch, params.head_yaw, params.head_roll) == (0.0, 0.0, 0.0)


def test_params_follow_their_action_units():
    def with_(name: str, value: float = 1.0) -> FaceParams:
        frame = schema.neutral_frame()
        frame[schema.index_of(name)] = value
        return face_params_from_reaction(frame)

    assert with_("AU12").smile == 1.0
    assert with_("AU15").lip_corner_depress == 1.0
    assert with_("AU26").jaw_open == 1.0
    assert with_("AU9").nose_wrinkle == 1.0
    assert with_("AU4").brow_lower == 1.0
    assert with_("AU7").eye_open < 0.7
    assert with_("Happy").smile > 0.5
    assert with_("Surprise").brow_outer_raise > 0.5 and with_("Surprise").jaw_open > 0.3
    assert with_("Anger").brow_lower > 0.5 and with_("Anger").lip_press > 0.3


def test_blink_closes_the_eyes():
    assert face_params_from_reaction(schema.neutral_frame(), blink=1.0).eye_open == 0.0


def test_params_array_round_trip():
    params = face_params_from_reaction(preset_reaction("happy"), (0.1, -0.2, 0.3))
    array = params.as_array()
    assert array.shape == (len(FaceParams.field_names()),) and array.dtype == np.float32
    assert np.allclose(FaceParams.from_array(array).as_array(), array)
    assert set(PARAM_RANGES) == set(FaceParams.field_names())


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=25, max_size=25),
    pose=st.tuples(*[st.floats(allow_nan=True, allow_infinity=True)] * 3),
    blink=st.floats(allow_nan=True, allow_infinity=True),
)
def test_params_in_range_for_any_input(values, pose, blink):
    params = face_params_from_reaction(np.array(values, dtype=np.float32), pose, blink)
    assert _in_range(params)


def test_params_nan_frame_is_neutral():
    params = face_params_from_reaction(np.full(schema.REACTION_DIM, np.nan), (np.nan, 0.0, 0.0), np.nan)
    assert params == face_params_from_reaction(schema.neutral_frame())


def test_params_bad_shapes_raise():
    with pytest.raises(ValueError, match="25"):
        face_params_from_reaction(np.zeros(24))
    with pytest.raises(ValueError, match="pitch, yaw, roll"):
        face_params_from_reaction(schema.neutral_frame(), head_pose=(0.0, 0.0))


# ----------------------------------------------------------------------------- renderer

def test_render_shape_dtype_and_determinism(renderer):
    a = renderer.render(preset_reaction("talking"), (0.1, 0.2, -0.1), blink=0.3)
    b = renderer.render(preset_reaction("talking"), (0.1, 0.2, -0.1), blink=0.3)
    assert a.shape == (SIZE, SIZE, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.array_equal(a, FaceRenderer(size=SIZE).render(preset_reaction("talking"), (0.1, 0.2, -0.1), 0.3))


def test_expressions_change_the_right_regions(renderer):
    neutral = renderer.render(preset_reaction("neutral"))
    happy = renderer.render(preset_reaction("happy"))
    surprise = renderer.render(preset_reaction("surprise"))
    # A smile is a mouth change, not a brow change.
    assert _region_change(renderer, neutral, happy, "mouth") > 4.0
    assert _region_change(renderer, neutral, happy, "mouth") > 3 * _region_change(renderer, neutral, happy, "brows")
    # Surprise raises the brows and opens the mouth.
    assert _region_change(renderer, neutral, surprise, "brows") > 4.0
    assert _region_change(renderer, neutral, surprise, "mouth") > 4.0


def test_all_presets_are_distinct(renderer):
    images = {name: renderer.render(preset_reaction(name), preset_pose(name)) for name in PRESETS}
    names = list(images)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            diff = np.abs(images[a].astype(np.int16) - images[b]).mean()
            assert diff > 0.5, f"{a} and {b} look the same"


def test_sad_corners_go_down_and_happy_up(renderer):
    """The dark mouth line sits lower at the corners than in the middle for sad, higher for happy."""
    def corner_vs_middle(name: str) -> float:
        p = face_params_from_reaction(preset_reaction(name))
        x, up, _ = renderer._mouth_curves(p)
        return float(up[0] - up[len(up) // 2])  # > 0: corners lower (image y grows downward)

    assert corner_vs_middle("sad") > 0.02
    assert corner_vs_middle("happy") < -0.05


def test_anger_lowers_brows(renderer):
    neutral = renderer.render(preset_reaction("neutral"))
    anger = renderer.render(preset_reaction("anger"))
    assert _region_change(renderer, neutral, anger, "brows") > 3.0


def test_head_roll_rotates_but_keeps_the_face(renderer):
    frame = preset_reaction("neutral")
    upright = renderer.render(frame)
    rolled = renderer.render(frame, head_pose=(0.0, 0.0, 0.4))
    assert not np.array_equal(upright, rolled)
    background = np.array(renderer.background, dtype=np.uint8)
    face_pixels = lambda img: int((np.abs(img.astype(np.int16) - background).sum(2) > 30).sum())  # noqa: E731
    assert face_pixels(rolled) > 0.8 * face_pixels(upright)
    # Rolling the other way mirrors the motion: the two tilts differ from each other too.
    assert not np.array_equal(rolled, renderer.render(frame, head_pose=(0.0, 0.0, -0.4)))


def test_render_nan_reaction_is_safe(renderer):
    image = renderer.render(np.full(schema.REACTION_DIM, np.nan), head_pose=(np.nan, np.inf, -np.inf))
    assert np.array_equal(image, renderer.render(schema.neutral_frame()))


def test_render_sequence(renderer):
    reactions = np.stack([schema.neutral_frame(), preset_reaction("happy"), preset_reaction("sad")])
    poses = np.zeros((3, 3))
    frames = list(renderer.render_sequence(reactions, head_poses=poses, blinks=np.array([0.0, 1.0, 0.0])))
    assert len(frames) == 3 and all(f.shape == (SIZE, SIZE, 3) for f in frames)
    with pytest.raises(ValueError, match="head_poses"):
        renderer.render_sequence(reactions, head_poses=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        renderer.render_sequence(np.zeros((3, 24)))


def test_small_sizes_render(renderer):
    assert FaceRenderer(size=64).render(preset_reaction("surprise")).shape == (64, 64, 3)
    with pytest.raises(ValueError):
        FaceRenderer(size=8)


def test_preview_grid():
    grid = expression_grid(size=64)
    assert grid.ndim == 3 and grid.shape[1] == 4 * 64 + 3 * 2


# ----------------------------------------------------------------------------- video

def test_video_round_trip(tmp_path, renderer):
    reactions = np.repeat(schema.neutral_frame()[None], 60, axis=0)
    reactions[:, schema.index_of("AU26")] = np.linspace(0.0, 1.0, 60)
    path = tmp_path / "nested" / "dir" / "clip.mp4"
    assert write_video(path, renderer.render_sequence(reactions), fps=30.0) == 60
    frames, fps, width, height = video_info(path)
    assert (frames, width, height) == (60, SIZE, SIZE)
    assert fps == pytest.approx(30.0)
    video = read_video(path)
    assert video.shape == (60, SIZE, SIZE, 3) and video.dtype == np.uint8
    # Lossy, but the first frame is still close to what was rendered.
    first = renderer.render(reactions[0])
    assert np.abs(video[0].astype(np.int16) - first).mean() < 6.0


def test_write_video_errors(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    frame = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(OSError, match="a_file"):
        write_video(blocker / "clip.mp4", [frame])
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "empty.mp4", [])
    with pytest.raises(ValueError, match="frame 1"):
        write_video(tmp_path / "mixed.mp4", [frame, np.zeros((16, 16, 3), dtype=np.uint8)])


def test_missing_video_errors(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_video(missing)
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        video_info(missing)


def test_tile_and_labels():
    a = np.zeros((40, 30, 3), dtype=np.uint8)
    b = np.full((40, 50), 255, dtype=np.uint8)  # grey images are accepted
    row = tile([a, b])
    assert row.shape == (40, 30 + 2 + 50, 3)
    labelled = tile([a, b], ["speaker", "listener"])
    assert labelled.shape[0] > 40 and labelled.shape[1] == row.shape[1]
    with pytest.raises(ValueError, match="high"):
        tile([a, np.zeros((41, 30, 3), dtype=np.uint8)])
    with pytest.raises(ValueError, match="labels"):
        tile([a, b], ["only one"])


def test_render_reactions_video(tmp_path):
    t = 12
    speaker = np.repeat(preset_reaction("talking")[None], t, axis=0)
    listener = np.repeat(preset_reaction("happy")[None], t, axis=0)
    path = tmp_path / "side_by_side.mp4"
    poses = {"listener": np.zeros((t, 3))}
    assert render_reactions_video(path, {"speaker": speaker, "listener": listener}, size=64, head_poses=poses) == t
    frames, _, width, height = video_info(path)
    assert frames == t and width == 2 * 64 + 2 and height > 64
    with pytest.raises(ValueError, match="length"):
        render_reactions_video(tmp_path / "bad.mp4", {"a": speaker, "b": listener[:5]}, size=64)


def test_odd_sized_frames_are_padded(tmp_path):
    path = tmp_path / "odd.mp4"
    assert write_video(path, [np.full((33, 47, 3), 100, dtype=np.uint8)] * 3) == 3
    assert video_info(path)[2:] == (48, 34)


def test_style_options():
    plain = FaceRenderer(size=96, background=(0, 0, 0), hair=None, shirt=None, outline=False)
    image = plain.render(preset_reaction("happy"))
    assert image.shape == (96, 96, 3)
    assert (image[-1] == 0).all()  # no shoulders: the bottom row is background
    assert not np.array_equal(image, FaceRenderer(size=96, background=(0, 0, 0)).render(preset_reaction("happy")))

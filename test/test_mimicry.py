"""Delayed mimicry: the robot's simplest behaviour and the baseline the model must beat. Pins the direction
(the copy comes AFTER the speaker) and the time (exactly `delay` frames), and that the fitted delay is the
one the data was made with."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from react_ros import schema
from react_ros.behaviours import DelayedMimicry, delayed_copy, fit_mimicry_delay
from react_ros.metrics import best_lag, delayed_mimicry_reference


def _speaker(rng: np.random.Generator, length: int = 400) -> np.ndarray:
    """Smooth random attributes within the schema's ranges."""
    raw = gaussian_filter1d(rng.normal(size=(length, schema.REACTION_DIM)), 4.0, axis=0)
    raw /= raw.std(axis=0)
    return schema.clip_to_range(0.3 * raw + np.where(schema.LOWER < 0, 0.0, 0.5)).astype(np.float32)


def test_delayed_copy_shows_the_speaker_delay_frames_later():
    speaker = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)  # frame t holds value t
    out = delayed_copy(speaker, 3)
    assert out[:, 0].tolist() == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]  # out[t] = speaker[t - 3], first frame held
    assert np.array_equal(delayed_copy(speaker, 0), speaker)
    with pytest.raises(ValueError, match="future"):
        delayed_copy(speaker, -1)


def test_the_synchrony_metric_sees_the_copy_follow_the_speaker_by_the_delay():
    speaker = _speaker(np.random.default_rng(0))
    for delay in (0, 7, 20):
        assert best_lag(delayed_copy(speaker, delay), speaker, 60) == delay  # > 0: after the speaker


def test_streaming_mimicry_matches_the_offline_copy_frame_by_frame():
    speaker = _speaker(np.random.default_rng(1), 120)
    robot = DelayedMimicry(delay=9, samples=2)
    # pushed in uneven chunks, as camera frames arrive
    chunks = [robot.push(speaker[a:b], None) for a, b in ((0, 1), (1, 5), (5, 60), (60, 120))]
    streamed = np.concatenate(chunks)
    assert streamed.shape == (120, 2, schema.REACTION_DIM)
    np.testing.assert_array_equal(streamed[:, 0], delayed_copy(speaker, 9))
    np.testing.assert_array_equal(streamed[:, 1], streamed[:, 0])
    robot.reset()
    np.testing.assert_array_equal(robot.push(speaker[:12])[:, 0], delayed_copy(speaker[:12], 9))


def test_streaming_mimicry_holds_the_last_face_seen_when_the_face_is_lost():
    speaker = _speaker(np.random.default_rng(2), 30)
    present = np.ones(30)
    present[10:20] = 0
    out = DelayedMimicry(delay=2).push(speaker, None, present)[:, 0]
    np.testing.assert_array_equal(out[12:22], np.repeat(speaker[9:10], 10, axis=0))  # frame 9, 2 frames late
    np.testing.assert_array_equal(out[22:], speaker[20:28])
    before_any_face = DelayedMimicry(delay=0).push(speaker[:3], None, np.zeros(3))[:, 0]
    np.testing.assert_array_equal(before_any_face, np.repeat(schema.neutral_frame()[None], 3, axis=0))


def test_the_fitted_delay_is_the_one_the_reactions_were_made_with():
    rng = np.random.default_rng(3)
    for true_delay in (4, 17, 33):
        speakers = [_speaker(rng) for _ in range(4)]
        reactions = [schema.clip_to_range(delayed_copy(s, true_delay) + rng.normal(0, 0.1, s.shape)) for s in speakers]
        delay, scores = fit_mimicry_delay(speakers, reactions, max_delay=60)
        assert delay == true_delay
        assert scores.shape == (61,) and scores[true_delay] > scores[0]


def test_the_reference_repeats_the_copy_k_times_with_each_inputs_delay():
    speakers = [_speaker(np.random.default_rng(4), 50), _speaker(np.random.default_rng(5), 70)]
    preds = delayed_mimicry_reference(speakers, 3, [5, 11])
    assert [p.shape for p in preds] == [(3, 50, 25), (3, 70, 25)]
    np.testing.assert_array_equal(preds[1][2], delayed_copy(speakers[1], 11))


def test_mimicry_in_the_robot_pipeline_copies_the_front_end_delay_frames_later():
    """Through the robot's ReactionPipeline (the session's source), each camera frame's reaction is the front
    end's reading of the frame `delay` earlier: the pipeline must push every frame once, in order."""
    from react_ros.online import PipelineConfig, ReactionPipeline
    from react_ros.perception.frontend import VisualFrame

    readings = _speaker(np.random.default_rng(3), 40)

    class ScriptedFrontEnd:  # reads frame k as readings[k]; no audio features are needed by mimicry
        n_audio_features = 4

        def __init__(self) -> None:
            self.k = 0

        def reset(self) -> None:
            self.k = 0

        def process_image(self, image):
            self.k += 1
            return VisualFrame(readings[self.k - 1], True, None)

    delay = 6
    pipeline = ReactionPipeline(ScriptedFrontEnd(), DelayedMimicry(delay, samples=2), PipelineConfig(samples=2))
    out = np.stack([pipeline.push_image(np.zeros((8, 8, 3), np.uint8), 1.0 + k / 30).reaction
                    for k in range(len(readings))])
    assert np.allclose(out[delay:], schema.clip_to_range(readings[:-delay]), atol=1e-6)
    assert pipeline.stats.errors == 0

"""The robot's online loop without ROS: the model pipeline (frames + audio -> reactions) and the ReactionSession
around it (robot profile, motion limits, watchdog, counters, latency, diagnostics, backend fallback).
No rclpy here: these run wherever the library runs."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema
from react_ros.online import (
    PipelineConfig,
    PipelineStats,
    ReactionOutput,
    ReactionPipeline,
    ReactionSession,
    SessionConfig,
)
from react_ros.robot import load_profile

FPS = 30.0


@pytest.fixture(scope="module")
def clip():
    from react_ros.data.audio_io import read_wav
    from react_ros.data.democlip import default_clip
    from react_ros.face.video import read_video

    video, wav = default_clip()
    samples, rate = read_wav(wav)
    return read_video(video)[:64], samples, rate


@pytest.fixture(scope="module")
def loaded():
    from react_ros.runtime import load_graphs

    return load_graphs("torch", threads=1)


def make_pipeline(loaded, **config):
    """The pipeline a session on `loaded` builds: "auto" runs the front end the model card names."""
    from react_ros.model.card import ModelCard

    trained = ModelCard.read(loaded.info.get("model_dir")).face_frontend
    return ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn, config=PipelineConfig(**config),
                                        trained_frontend=trained)


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FixedSource:
    """A reaction source that answers every frame with the same reaction (a test double for the seam)."""

    def __init__(self, reaction: np.ndarray) -> None:
        self.reaction = reaction
        self.resets = 0
        self.stats = PipelineStats()

    def reset(self, seed=None) -> None:
        self.resets += 1
        self.stats = PipelineStats()

    def push_audio(self, samples, sample_rate, stamp) -> int:
        self.stats.audio_chunks += 1
        return 1

    def push_image(self, image, stamp, emit=None):
        self.stats.images += 1
        self.stats.windows += 1
        output = ReactionOutput(stamp, self.stats.images - 1, self.reaction, self.reaction[None], image is not None,
                                True, {"front_end": 0.001})
        emit(output)
        return output


def fixed_session(profile: str = "animatronic", **config) -> tuple[ReactionSession, Clock]:
    clock = Clock()
    reaction = schema.neutral_frame()
    reaction[schema.ATTRIBUTE_NAMES.index("AU12")] = 1.0  # a smile, far from the neutral pose
    session = ReactionSession(FixedSource(reaction), load_profile(profile), SessionConfig(**config),
                              {"backend": "test"}, clock=clock, wall_clock=clock)
    session.start(0)
    return session, clock


# ------------------------------------------------------------------------------------------------ pipeline

def test_pipeline_matches_the_offline_front_end_and_generator(loaded, clip):
    """Frames and audio pushed as they would arrive give exactly the offline features and reactions."""
    from react_ros.model.generator import OnlineGenerator, SamplingConfig, WindowGenerator
    from react_ros.perception.face_crop import FaceCropper
    from react_ros.perception.frontend import SpeakerFrontEnd

    frames, samples, rate = clip
    frames = frames[:48]
    pipeline = make_pipeline(loaded, seed=5, face_frontend="haar")  # the offline haar path below
    emitted = []
    origin = 1000.0
    position = 0
    for k, frame in enumerate(frames):
        end = int(np.ceil((k + 1) * rate / FPS))
        pipeline.push_audio(samples[position:end], rate, origin + position / rate)
        position = end
        output = pipeline.push_image(frame, origin + k / FPS, emit=emitted.append)
        assert output is emitted[-1] and output.stamp == origin + k / FPS and output.frame_index == k
    front = SpeakerFrontEnd(FaceCropper("full_frame"), loaded.estimator_fn)
    visual, present, audio = front.offline_features(iter(frames), samples[:position], rate)
    np.testing.assert_allclose(np.stack([o.speaker for o in emitted]), visual, atol=1e-6)
    np.testing.assert_allclose(np.stack([o.audio_features for o in emitted]), audio, atol=1e-5)
    assert all(o.audio_present for o in emitted) and all(o.face_present for o in emitted)
    online = OnlineGenerator(WindowGenerator(loaded.graphs, SamplingConfig()), 1)
    online.reset(5)
    expected = online.push(visual, audio, present.astype(np.float32))[: len(frames), 0]
    np.testing.assert_allclose(np.stack([o.reaction for o in emitted]), schema.clip_to_range(expected), atol=1e-5)
    assert pipeline.stats.windows == len(frames) // 8 + 1


def test_pipeline_never_raises_on_bad_input(loaded):
    pipeline = make_pipeline(loaded)
    bad_images = [None, np.zeros((0, 0, 3), np.uint8), "not an image", np.zeros((4, 4, 7), np.uint8),
                  np.full((32, 32), np.nan, np.float32), object()]
    for k, image in enumerate(bad_images):
        output = pipeline.push_image(image, 10.0 + k / FPS)
        assert output is not None and not output.face_present and not output.audio_present
        assert np.all(np.isfinite(output.reaction))
    assert pipeline.stats.bad_images == 5  # the NaN float image is readable: a uniform frame, no face
    for chunk, chunk_rate, stamp in [(np.zeros(0), 16000, 1.0), (np.zeros((2, 2, 2)), 16000, 1.0),
                                     (np.zeros(100), 0, 1.0), (np.zeros(100), 16000, float("nan")),
                                     (np.array(["a"]), 16000, 1.0)]:
        assert pipeline.push_audio(chunk, chunk_rate, stamp) == 0
    assert pipeline.stats.bad_audio == 5
    assert pipeline.push_image(np.zeros((8, 8, 3), np.uint8), float("inf")) is None
    assert pipeline.stats.bad_stamps == 1
    # NaN samples are repaired by the audio front end; a stale audio stream reads as missing.
    pipeline.push_audio(np.full(1600, np.nan, np.float32), 16000, 20.0)
    assert pipeline.push_image(None, 20.05).audio_present
    assert not pipeline.push_image(None, 25.0).audio_present


# ------------------------------------------------------------------------------------------------ session

def test_session_gives_the_pipelines_reactions_as_profile_commands(loaded, clip):
    """One command per camera frame, stamped with the frame, the profile's joints within their limits, and the
    very reactions the pipeline makes for the same seed (the session adds no randomness)."""
    frames, samples, rate = clip
    clock = Clock(1000.0)  # stamps near the receive time (a garbage stamp would be replaced)
    # presence at once (no confirm, no ease from the start's neutral: test_presence.py tests those)
    config = SessionConfig(PipelineConfig(seed=3), robot_profile="animatronic", presence_confirm_s=0.0,
                           presence_ease_s=0.0)
    session = ReactionSession.from_loaded(loaded, config=config, clock=clock, wall_clock=clock)
    session.start(3)
    pipeline = make_pipeline(loaded, seed=3)
    commands, expected = [], []
    position = 0
    for k, frame in enumerate(frames[:24]):
        end = int(np.ceil((k + 1) * rate / FPS))
        stamp = 1000.0 + k / FPS
        session.on_audio(samples[position:end], rate, 1000.0 + position / rate)
        pipeline.push_audio(samples[position:end], rate, 1000.0 + position / rate)
        position = end
        clock.t += 1 / FPS
        session.on_image(frame, stamp, commands.append)
        expected.append(pipeline.push_image(frame, stamp).reaction)
    profile = load_profile("animatronic")
    assert [c.stamp for c in commands] == [1000.0 + k / FPS for k in range(24)]
    np.testing.assert_array_equal(np.stack([c.reaction for c in commands]), np.stack(expected))
    for command in commands:
        assert command.positions.shape == (len(profile.names),) and command.face is None  # joints, no screen
        assert np.all(command.positions >= profile.lower - 1e-9) and np.all(command.positions <= profile.upper + 1e-9)
    assert not np.allclose(commands[-1].positions, profile.neutral)  # the face moved
    values = session.diagnostics().values
    assert values["images"] == "24" and values["commands"] == "24" and values["windows"] == "4"
    assert values["backend"] == "torch" and values["reaction_model_sha256"] and values["sampler"] == "dpm"
    assert float(values["latency_front_end_ms_median"]) > 0 and "latency_end_to_end_ms_p99" in values
    assert session.summary()["fallback"] == {"requested": "torch", "used": "torch", "reason": None}


def test_screen_profile_renders_the_face():
    session, clock = fixed_session("screen_face", face_image_size=64)
    commands = []
    session.on_image(np.zeros((8, 8, 3), np.uint8), 5.0, commands.append)
    assert commands[0].face.shape == (64, 64, 3) and commands[0].face.dtype == np.uint8
    clock.t += 2.0
    assert session.tick().face is not None  # the watchdog's face eases too


def test_watchdog_eases_to_neutral_and_a_long_gap_starts_a_fresh_context():
    session, clock = fixed_session(input_timeout_s=0.3, smoothing_s=0.0)
    profile = session.profile
    for k in range(10):
        clock.t += 1 / FPS
        session.on_image(np.zeros((8, 8, 3), np.uint8), 50.0 + k / FPS, lambda c: None)
    assert session.tick() is None  # input is fresh: the watchdog stays quiet
    moved = session.motion.positions.copy()
    assert not np.allclose(moved, profile.neutral)
    clock.t += 0.31
    ticks = []
    for _ in range(200):  # 4 s at 50 Hz
        ticks.append(session.tick())
        clock.t += 0.02
    assert all(t is not None for t in ticks)
    assert ticks[0].gap_started and not any(t.gap_started for t in ticks[1:])
    distances = [np.abs(t.positions - profile.neutral).max() for t in ticks]
    assert all(b <= a + 1e-9 for a, b in zip(distances, distances[1:], strict=False))  # only toward neutral
    steps = np.abs(np.diff(np.stack([moved] + [t.positions for t in ticks]), axis=0))
    assert np.all(steps[0] <= profile.max_velocity * 0.1 + 1e-9)  # velocity limited (dt capped at 0.1 s)
    assert np.all(steps[1:] <= profile.max_velocity * 0.02 + 1e-9)
    np.testing.assert_allclose(ticks[-1].positions, profile.neutral, atol=1e-3)
    diagnostics = session.diagnostics()
    assert diagnostics.stale and diagnostics.values["stale"] == "true" and diagnostics.message.startswith("no input")
    assert diagnostics.values["input_gaps"] == "1" and diagnostics.values["watchdog_commands"] == "200"
    resets = session.source.resets
    session.on_image(np.zeros((8, 8, 3), np.uint8), 60.0, lambda c: None)  # 4.3 s after the last frame
    assert session.source.resets == resets + 1 and session.totals()["context_resets"] == 1
    assert session.tick() is None and not session.diagnostics().stale


def test_counts_add_up_across_a_context_reset():
    """The source's counters restart with a fresh context; the session's totals do not."""
    session, clock = fixed_session(reset_after_gap_s=1.0)
    for k in range(5):
        session.on_image(np.zeros((8, 8, 3), np.uint8), 10.0 + k / FPS, lambda c: None)
    clock.t += 2.0
    for k in range(3):
        session.on_image(np.zeros((8, 8, 3), np.uint8), 20.0 + k / FPS, lambda c: None)
    totals = session.totals()
    assert totals["windows"] == 8 and totals["images"] == 8 and totals["context_resets"] == 1


def test_bad_messages_are_counted_by_reason_and_raise_a_warning():
    session, _ = fixed_session()
    outputs = []
    session.on_image(None, 5.0, outputs.append, bad_reason="unknown_encoding")
    assert len(outputs) == 1 and not outputs[0].output.face_present  # still a frame: one without a face
    assert session.on_audio(None, 0, None, bad_reason="odd_audio_bytes") == 0
    assert session.source.stats.audio_chunks == 0  # a bad chunk never reaches the source
    diagnostics = session.diagnostics()
    values = diagnostics.values
    assert values["unknown_encoding"] == "1" and values["bad_images"] == "1"
    assert values["odd_audio_bytes"] == "1" and values["bad_audio"] == "1" and values["audio_chunks"] == "1"
    assert diagnostics.problems and values["errors"] == "0"
    clean, _ = fixed_session()
    assert not clean.diagnostics().problems


def test_dropped_frames_are_estimated_from_gaps_in_the_stamps_and_pauses_are_not_drops():
    session, clock = fixed_session(reset_after_gap_s=100.0)
    base = clock.t

    def frame(stamp: float) -> None:
        clock.t = stamp + 0.001
        session.on_image(np.zeros((8, 8, 3), np.uint8), stamp, lambda c: None)

    for k in [*range(10), 13, 14]:  # frames 10, 11, 12 never arrived
        frame(base + k / FPS)
    assert session.totals()["dropped_frames"] == 3
    for k in range(60, 70):  # the camera paused for 1.5 s (the person left the view of a triggered camera)
        frame(base + k / FPS)
    assert session.totals()["dropped_frames"] == 3


def test_frames_lost_while_the_session_was_busy_count_as_drops():
    """A 1.2 s stall inside the generator: the camera kept sending, the keep-last queue dropped the frames."""
    session, clock = fixed_session(reset_after_gap_s=100.0)
    source, base = session.source, clock.t
    for k in range(10):
        clock.t = base + k / FPS
        session.on_image(np.zeros((8, 8, 3), np.uint8), clock.t, lambda c: None)
    original = source.push_image

    def stalled(image, stamp, emit=None):
        output = original(image, stamp, emit)
        clock.t += 1.2  # the window after the emit took 1.2 s
        return output

    source.push_image = stalled
    clock.t = base + 10 / FPS
    session.on_image(np.zeros((8, 8, 3), np.uint8), clock.t, lambda c: None)
    source.push_image = original
    session.on_image(np.zeros((8, 8, 3), np.uint8), base + 46 / FPS, lambda c: None)  # 35 frames later
    assert session.totals()["dropped_frames"] == 35


def test_a_missing_tensorrt_engine_falls_back_to_onnxruntime_visibly(tmp_path):
    """The one fallback path (runtime.load_graphs) reports requested / used / reason, and the session shows them
    in its diagnostics (as a warning) and its summary (latency.json)."""
    pytest.importorskip("onnxruntime")
    from react_ros.export.prepare import ensure_onnx_export
    from react_ros.runtime import load_graphs

    ensure_onnx_export(None)
    loaded = load_graphs("tensorrt", engine_dir=tmp_path / "no_engines", threads=1, fallback="onnxruntime")
    session = ReactionSession.from_loaded(loaded, config=SessionConfig(robot_profile="animatronic"))
    diagnostics = session.diagnostics()
    assert diagnostics.values["backend"] == "onnxruntime" and diagnostics.values["requested_backend"] == "tensorrt"
    assert "tensorrt" in diagnostics.values["fallback_reason"].lower() and diagnostics.problems
    fallback = session.summary()["fallback"]
    assert fallback["requested"] == "tensorrt" and fallback["used"] == "onnxruntime" and fallback["reason"]

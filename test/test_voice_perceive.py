"""Voice features (silero-vad, loudness, pitch) on espeak-ng speech, their frame alignment, `react-ros perceive`,
and the face-front-end selector."""
from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.perception.audio_features import audio_features

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "react_ros" / "assets" / "demo_clip"


def _espeak(text: str) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = subprocess.run(["espeak-ng", "-v", "en", "--stdout", text], capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(raw)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
    return samples, rate


def test_espeak_speech_gives_sane_voice_features():
    pytest.importorskip("silero_vad", reason="voice features need silero-vad (scripts/setup.sh installs it)")
    from react_ros.perception.voice import VOICE_FEATURE_NAMES, voice_features

    speech, rate = _espeak("Hello robot, I would like to tell you about my weekend by the sea.")
    silence = np.zeros(rate, np.float32)
    rows = voice_features(np.concatenate([silence, speech, silence]), rate)
    column = {name: rows[:, i] for i, name in enumerate(VOICE_FEATURE_NAMES)}
    lead, tail = slice(5, 28), slice(rows.shape[0] - 25, rows.shape[0])
    talk = slice(45, rows.shape[0] - 45)
    assert column["speech_prob"][lead].max() < 0.2 and column["speech_prob"][tail].max() < 0.2
    assert column["speech_prob"][talk].mean() > 0.7
    level = column["loudness_db"][talk]
    assert -40 < np.median(level) < -5 and column["loudness_db"][lead].max() <= -99
    f0 = column["f0_hz"][talk][column["voiced"][talk] > 0]
    assert f0.size > 20 and 70 < np.median(f0) < 250  # espeak-ng's default voice is a low male voice
    voiced_pitch = column["pitch_norm"][talk][column["voiced"][talk] > 0]
    assert np.median(np.abs(voiced_pitch)) < 6  # semitones around the speaker's own median (octave slips aside)


def test_espeak_speech_log_mel_stays_in_the_shipped_models_input_range():
    """The shipped model reads log-mel features normalised on synthetic speech; real speech must land there."""
    from react_ros.perception.audio_features import SILENCE_FEATURE, StreamingResampler, speech_like_signal

    speech, rate = _espeak("Hello robot, I would like to tell you about my weekend by the sea.")
    features = audio_features(StreamingResampler(rate, 16000).push(speech))
    trained = audio_features(speech_like_signal(10.0))
    assert abs(features.mean() - trained.mean()) < 1.0 and 0.5 < features.std() / trained.std() < 2.0
    assert features.min() >= SILENCE_FEATURE - 1e-3 and np.percentile(features, 99) < trained.max() + 1.0


def test_voice_rows_align_with_log_mel_rows_under_any_chunking():
    pytest.importorskip("silero_vad", reason="voice features need silero-vad (scripts/setup.sh installs it)")
    from react_ros.perception.voice import StreamingVoiceFeatures, voice_features

    rng = np.random.default_rng(1)
    samples = (0.1 * rng.standard_normal(16000 * 2)).astype(np.float32)
    whole = voice_features(samples, 16000)
    assert whole.shape[0] == audio_features(samples).shape[0]
    stream = StreamingVoiceFeatures()
    cuts = np.sort(rng.integers(0, samples.size, 40))
    chunked = np.concatenate([stream.push(part) for part in np.split(samples, cuts)])
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_perceive_video_then_resume(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert")
    pytest.importorskip("silero_vad", reason="voice features need silero-vad")
    from react_ros.cli import main

    args = ["perceive", str(DEMO / "speaker.mp4"), "--wav", str(DEMO / "speaker.wav"), "--out", str(tmp_path)]
    assert main(args) == 0
    attributes = np.load(tmp_path / "facial-attributes" / "speaker.npy")
    mask = np.load(tmp_path / "facial-attributes-mask" / "speaker.npy")
    voice = np.load(tmp_path / "voice-features" / "speaker.npy")
    schema.check_reactions(attributes, "perceived")
    assert mask.dtype == bool and mask.shape == attributes.shape and voice.shape[0] == attributes.shape[0]
    assert mask.any(axis=1).mean() > 0.9  # the rendered speaker is found in nearly every frame
    assert (tmp_path / "preview" / "speaker.mp4").stat().st_size > 0
    before = (tmp_path / "facial-attributes" / "speaker.npy").stat().st_mtime_ns
    assert main(args) == 0  # resumable: the existing output is kept, not recomputed
    assert (tmp_path / "facial-attributes" / "speaker.npy").stat().st_mtime_ns == before


def test_perceive_mars_tree_in_parallel(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert")
    from react_ros.cli import main

    data = tmp_path / "data"
    for clip in ("a", "b"):
        video = data / "test" / "video-face-crop" / "speaker" / "session0" / f"{clip}.mp4"
        video.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO / "speaker.mp4", video)
    out = tmp_path / "out"
    assert main(["perceive", str(data), "--out", str(out), "--jobs", "2"]) == 0
    for clip in ("a", "b"):
        assert np.load(out / "test" / "facial-attributes" / "speaker" / "session0" / f"{clip}.npy").shape[1] == 25
        assert (out / "test" / "facial-attributes-mask" / "speaker" / "session0" / f"{clip}.npy").is_file()
    assert main(["perceive", str(data), "--out", str(data)]) == 2  # would overwrite the labels: refused


def test_perceive_missing_camera_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert")
    from react_ros.cli import main

    assert main(["perceive", "--camera", "97", "--seconds", "0.1", "--out", str(tmp_path)]) == 1
    assert "camera 97: cannot be opened" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())  # no empty preview folder left behind
    assert not (tmp_path / "facial-attributes").exists()
    assert main(["perceive", "--out", str(tmp_path)]) == 2  # nothing to perceive


def test_face_frontend_is_selectable():
    from react_ros.media_perception.frontends import build_frontend
    from react_ros.perception.frontend import SpeakerFrontEnd

    haar = build_frontend("haar")
    assert type(haar) is SpeakerFrontEnd
    assert haar.process_image(np.zeros((48, 64, 3), np.uint8)).present is False
    with pytest.raises(ValueError, match="face_frontend"):
        build_frontend("dlib")


def test_mesh_front_end_has_the_haar_front_ends_call_shape():
    """Whatever drives SpeakerFrontEnd (offline_features, process_audio) drives the mesh one unchanged."""
    pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert")
    from react_ros.data.audio_io import read_wav
    from react_ros.face.video import read_video
    from react_ros.media_perception.frontends import build_frontend
    from react_ros.perception.frontend import SpeakerFrontEnd

    mesh = build_frontend("mesh")
    assert isinstance(mesh, SpeakerFrontEnd)
    frames = read_video(DEMO / "speaker.mp4")[:60]
    samples, rate = read_wav(DEMO / "speaker.wav")
    attributes, present, audio = mesh.offline_features(frames, samples, rate)
    assert attributes.shape == (60, 25) and present.shape == (60,) and audio.shape == (60, mesh.n_audio_features)
    assert present.all()
    haar_audio = build_frontend("haar").offline_features(frames, samples, rate)[2]
    np.testing.assert_array_equal(audio, haar_audio)  # the shipped model's audio input is unchanged

"""A 48 kHz (or 44.1 kHz) microphone's first chunk must not build a resampler inside the audio callback:
building one imports scipy.signal, which stalled the live stream for 0.7-1.4 s at start-up."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros.perception import audio_features
from react_ros.perception.audio_features import StreamingAudioFeatures
from react_ros.perception.audio_features import audio_features as offline_features


@pytest.mark.parametrize("rate", [48000, 44100, 32000])
def test_first_chunk_at_a_microphone_rate_builds_nothing(rate, monkeypatch):
    features = StreamingAudioFeatures()

    def refuse(self, *args, **kwargs):
        raise AssertionError("a resampler was built while streaming")

    monkeypatch.setattr(audio_features.StreamingResampler, "__init__", refuse)
    chunk = np.random.default_rng(0).normal(0, 0.1, rate // 10).astype(np.float32)
    assert features.push(chunk, rate).shape[1] == features.config.n_mels


def test_prepared_resampler_gives_the_offline_features_and_restarts_on_a_rate_switch():
    rng = np.random.default_rng(1)
    clip = rng.normal(0, 0.1, 48000).astype(np.float32)
    expected = offline_features(clip, sample_rate=48000)
    features = StreamingAudioFeatures()
    features.push(rng.normal(0, 0.1, 4800).astype(np.float32), 44100)  # another stream first
    features.reset()
    streamed = np.concatenate([features.push(chunk, 48000) for chunk in np.array_split(clip, 7)])
    assert np.allclose(streamed, expected[: len(streamed)], atol=1e-5)

"""Voice features per video frame: speech probability (silero-vad), loudness and pitch, per-speaker normalised.

These are additional outputs for the next model; the shipped model reads only the log-mel features
(`audio_features`), which are untouched. Rows are aligned with the log-mel rows: row i belongs to video
frame i and uses only samples up to that frame's end (`frame_end_sample`), so nothing waits for the future.

Columns (`VOICE_FEATURE_NAMES`):
- speech_prob: silero-vad's speech probability for the newest complete 32 ms chunk ending at or before the
  frame's end (the ONNX model that ships in the `silero-vad` wheel, run by ONNX Runtime; 512 samples plus
  64 of context at 16 kHz, recurrent state kept across chunks).
- loudness_db: RMS level of the frame's 64 ms window in dBFS (floor -100).
- loudness_norm: (loudness_db - the speaker's mean voiced level) / the voiced spread (>= 3 dB), clipped to +-5;
  both follow the speaker online over frames with speech_prob >= 0.5 (exponential, ~10 s), starting at
  -26 dBFS (ITU-T P.56 active speech level) and 6 dB.
- f0_hz: fundamental frequency by YIN (cumulative mean normalised difference, threshold 0.2) over 60-400 Hz
  on the same 64 ms window; 0 when unvoiced or quiet.
- pitch_norm: semitones above the speaker's running median f0 (online median, starting at 150 Hz); 0 when
  unvoiced.
- voiced: 1 when f0 was found, else 0.
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from react_ros.perception.audio_features import (
    AudioFeatureConfig,
    StreamingResampler,
    _as_mono_float,
    frame_end_sample,
    num_frames,
)

__all__ = ["VOICE_FEATURE_NAMES", "N_VOICE_FEATURES", "SileroVad", "StreamingVoiceFeatures", "yin_f0",
           "voice_features"]

VOICE_FEATURE_NAMES = ("speech_prob", "loudness_db", "loudness_norm", "f0_hz", "pitch_norm", "voiced")
N_VOICE_FEATURES = len(VOICE_FEATURE_NAMES)
FLOOR_DB = -100.0
F0_MIN, F0_MAX = 60.0, 400.0


def silero_model_path() -> str:
    try:
        return str(resources.files("silero_vad").joinpath("data", "silero_vad.onnx"))
    except ModuleNotFoundError as error:
        raise ImportError("voice activity needs the silero-vad package (its ONNX model): pip install silero-vad "
                          "(scripts/setup.sh installs it)") from error


class SileroVad:
    """silero-vad's ONNX model on a 16 kHz stream: 512-sample chunks -> speech probability."""

    CHUNK = 512
    CONTEXT = 64

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort  # noqa: PLC0415

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(silero_model_path(), options, providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(self.CONTEXT, np.float32)

    def __call__(self, chunk: np.ndarray) -> float:
        x = np.concatenate([self._context, np.asarray(chunk, np.float32)])[None]
        out, self._state = self._session.run(None, {"input": x, "state": self._state,
                                                    "sr": np.array(16000, dtype=np.int64)})
        self._context = x[0, -self.CONTEXT:]
        return float(out.ravel()[0])


def yin_f0(window: np.ndarray, sample_rate: int, threshold: float = 0.2) -> float:
    """YIN fundamental frequency of one window (Hz), 0.0 when no period is clear enough."""
    x = np.asarray(window, np.float64)
    max_lag = int(sample_rate / F0_MIN)
    min_lag = int(sample_rate / F0_MAX)
    width = x.size - max_lag
    if width < max_lag:
        return 0.0
    # difference d(tau) = sum_j (x_j - x_{j+tau})^2 over the first `width` samples, via FFT correlation
    size = 1 << int(np.ceil(np.log2(x.size + width)))
    spectrum = np.fft.rfft(x, size) * np.conj(np.fft.rfft(x[:width], size))
    corr = np.fft.irfft(spectrum, size)[:max_lag + 1]
    energy = np.concatenate([[0.0], np.cumsum(x ** 2)])
    lags = np.arange(max_lag + 1)
    window_energy = energy[lags + width] - energy[lags]
    diff = energy[width] + window_energy - 2 * corr
    cumulative = np.cumsum(diff[1:])
    cmnd = np.ones(max_lag + 1)
    cmnd[1:] = diff[1:] * np.arange(1, max_lag + 1) / np.maximum(cumulative, 1e-12)
    below = np.flatnonzero(cmnd[min_lag:max_lag] < threshold)
    if below.size == 0:
        return 0.0
    tau = min_lag + below[0]
    while tau + 1 < max_lag and cmnd[tau + 1] < cmnd[tau]:  # walk down to the local minimum
        tau += 1
    if 1 <= tau < max_lag:  # parabolic refinement
        a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
        denominator = a - 2 * b + c
        shift = 0.5 * (a - c) / denominator if abs(denominator) > 1e-12 else 0.0
        return float(sample_rate / (tau + shift))
    return float(sample_rate / tau)


class StreamingVoiceFeatures:
    """Audio chunks -> (n_new_frames, N_VOICE_FEATURES) rows, aligned with StreamingAudioFeatures' rows."""

    def __init__(self, config: AudioFeatureConfig | None = None, vad: SileroVad | None = None) -> None:
        config = config if config is not None else AudioFeatureConfig()
        if config.sample_rate != 16000:
            raise ValueError("StreamingVoiceFeatures: silero-vad runs at 16 kHz; use AudioFeatureConfig(sample_rate="
                             f"16000), got {config.sample_rate}")
        self.config = config
        self.vad = vad if vad is not None else SileroVad()
        self._resampler: StreamingResampler | None = None
        self.reset()

    def reset(self) -> None:
        self.vad.reset()
        self._history = np.zeros(self.config.n_fft, np.float32)
        self._pending = np.zeros(0, np.float32)  # samples not yet given to the VAD
        self._vad_end = 0  # absolute sample index where the last VAD chunk ended
        self._vad_probs: list[tuple[int, float]] = []  # (chunk end, probability), newest last, short
        self._received = 0
        self._frames = 0
        self.level_mean, self.level_var = -26.0, 36.0
        self.median_semitones = 12 * np.log2(150.0 / 440.0)
        if self._resampler is not None:
            self._resampler.reset()

    def _run_vad(self, x: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, x])
        chunk = SileroVad.CHUNK
        while self._pending.size >= chunk:
            probability = self.vad(self._pending[:chunk])
            self._pending = self._pending[chunk:]
            self._vad_end += chunk
            self._vad_probs.append((self._vad_end, probability))

    def _speech_prob(self, end: int) -> float:
        for chunk_end, probability in reversed(self._vad_probs):
            if chunk_end <= end:
                return probability
        return 0.0

    def push(self, samples: np.ndarray | None, sample_rate: int | None = None) -> np.ndarray:
        x = _as_mono_float(samples, "StreamingVoiceFeatures.push")
        if sample_rate is not None and int(sample_rate) != self.config.sample_rate:
            if self._resampler is None or self._resampler.from_rate != int(sample_rate):
                self._resampler = StreamingResampler(int(sample_rate), self.config.sample_rate)
            x = self._resampler.push(x)
        if x.size == 0:
            return np.zeros((0, N_VOICE_FEATURES), np.float32)
        self._run_vad(x)
        n_fft = self.config.n_fft
        total = self._received + x.size
        frames = np.arange(self._frames, num_frames(total, self.config))
        work = np.concatenate([self._history, x])
        rows = np.zeros((frames.size, N_VOICE_FEATURES), np.float32)
        for row, end in enumerate(frame_end_sample(frames, self.config)):
            start = int(end) - self._received
            window = work[start:start + n_fft]
            rows[row] = self._row(window, self._speech_prob(int(end)))
        self._history = work[-n_fft:].copy()
        self._received, self._frames = total, self._frames + frames.size
        # keep the chunk that covers the next frame's end and anything newer: memory stays bounded
        keep = next((i for i in range(len(self._vad_probs) - 1, -1, -1) if self._vad_probs[i][0] <= total), 0)
        del self._vad_probs[:keep]
        return rows

    def _row(self, window: np.ndarray, speech_prob: float) -> np.ndarray:
        rms = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
        level = max(FLOOR_DB, 20 * np.log10(rms)) if rms > 0 else FLOOR_DB
        f0 = yin_f0(window, self.config.sample_rate) if level > -50.0 else 0.0
        if speech_prob >= 0.5 and level > -60.0:  # the speaker's own level, from speech only
            alpha = 1.0 / 300.0
            delta = level - self.level_mean
            self.level_mean += alpha * delta
            self.level_var = (1 - alpha) * (self.level_var + alpha * delta * delta)
        spread = max(3.0, float(np.sqrt(self.level_var)))
        pitch = 0.0
        if f0 > 0:
            semitones = 12 * np.log2(f0 / 440.0)
            if speech_prob >= 0.5:
                self.median_semitones += 0.1 * np.sign(semitones - self.median_semitones)
            pitch = float(semitones - self.median_semitones)
        loudness = float(np.clip((level - self.level_mean) / spread, -5.0, 5.0))  # silence: -5, not -25
        return np.array([speech_prob, level, loudness, f0, pitch, float(f0 > 0)],
                        np.float32)


def voice_features(samples: np.ndarray, sample_rate: int = 16000,
                   config: AudioFeatureConfig | None = None) -> np.ndarray:
    """A whole clip -> (frames, N_VOICE_FEATURES), the same rows the streaming path gives."""
    stream = StreamingVoiceFeatures(config)
    return stream.push(samples, sample_rate)

"""Log-mel audio features, one vector per video frame, identical offline (a whole clip) and streaming.

Plain numpy (rfft + a numpy mel filterbank): TensorRT 8.5 cannot parse STFT/DFT/HannWindow, so audio
features are always computed here, outside any exported graph (shared TENSORRT_FACTS.md).

Frame alignment (strictly causal): the feature of video frame i is computed from the `n_fft` samples
that END at sample `round((i + 1) * sample_rate / fps)`, zero-padded before the start of the signal.
A clip of n samples has `floor(n * fps / sample_rate)` frames. Frame i needs no sample after its end, so
a robot never waits for the future; it becomes available once `ceil((i + 1) * sample_rate / fps)` samples
have arrived (`samples_needed`). All frame/sample arithmetic is exact integer arithmetic on
`fps` as a fraction, so 29.97 fps works and rounding never depends on how a stream was chunked.

Per frame: periodic Hann window -> |rfft|^2 (the librosa "power=2" scale, no normalisation) ->
triangular mel filters (HTK mel scale, peak 1, so they sum to ~1 across the band: a partition of unity)
-> log(mel + 1e-6) -> a fixed affine map `(log_mel - LOG_MEL_MEAN) / LOG_MEL_STD`.

The two constants come from `speech_like_signal` (60 s of synthetic speech: glottal pulses through vowel
formants, fricatives, pauses, active level -26 dBFS as in ITU-T P.56, room noise at -65 dBFS), over all
bands and frames; `python -m react_ros.perception.audio_features` re-computes them. One scalar pair (not
per band) keeps the spectral tilt of the voice visible to the model. Digital silence maps to
`SILENCE_FEATURE` (about -2.76). Real recordings differ in level; the map only needs to be roughly right
for the network's input scale, and `voice_activity` works on the un-normalised energy anyway.

Streaming keeps only the last `n_fft` samples (plus a short resampler history), so its memory is
bounded whatever the stream length, and the per-row computation is the same code on the same numbers,
so `StreamingAudioFeatures` reproduces `audio_features` bit for bit under any chunking (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = [
    "AudioFeatureConfig", "N_AUDIO_FEATURES", "LOG_MEL_MEAN", "LOG_MEL_STD", "LOG_FLOOR", "SILENCE_FEATURE",
    "audio_features", "voice_activity", "frame_energy_db", "mel_filterbank", "num_frames", "frame_end_sample",
    "samples_needed", "StreamingAudioFeatures", "StreamingResampler", "speech_like_signal",
]

LOG_FLOOR = 1e-6  # added to the mel energies before the log: digital silence stays finite
# Affine normalisation of log(mel + 1e-6), measured on speech_like_signal(60 s, seed 0) (see module doc).
LOG_MEL_MEAN = -3.01
LOG_MEL_STD = 3.91
SILENCE_FEATURE = (math.log(LOG_FLOOR) - LOG_MEL_MEAN) / LOG_MEL_STD

_BLOCK_FRAMES = 1024  # offline frames per rfft batch: bounds the memory of long clips


@dataclass(frozen=True)
class AudioFeatureConfig:
    sample_rate: int = 16000
    fps: float = 30.0
    n_fft: int = 1024  # 64 ms at 16 kHz: several pitch periods, still short enough to follow syllables
    n_mels: int = 32
    fmin: float = 60.0
    fmax: float = 7600.0  # just below Nyquist at 16 kHz: the top filter never folds over

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.fps <= 0:
            raise ValueError(f"AudioFeatureConfig: sample_rate and fps must be > 0, got {self.sample_rate}, {self.fps}")
        if self.n_fft < 16:
            raise ValueError(f"AudioFeatureConfig: n_fft must be >= 16, got {self.n_fft}")
        if self.n_mels < 1:
            raise ValueError(f"AudioFeatureConfig: n_mels must be >= 1, got {self.n_mels}")
        if not 0.0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"AudioFeatureConfig: need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, "
                             f"fmax={self.fmax}, sample_rate={self.sample_rate}")

    @property
    def fps_fraction(self) -> Fraction:
        """fps as an exact fraction (29.97 -> 2997/100), so frame boundaries are integer arithmetic."""
        return Fraction(self.fps).limit_denominator(1_000_000)


N_AUDIO_FEATURES = AudioFeatureConfig().n_mels  # 32


# ---------------------------------------------------------------------------------------------- framing

def num_frames(n_samples: int, config: AudioFeatureConfig = AudioFeatureConfig()) -> int:
    """Video frames fully covered by n_samples: floor(n * fps / sample_rate)."""
    f = config.fps_fraction
    return (int(n_samples) * f.numerator) // (config.sample_rate * f.denominator)


def frame_end_sample(frame: int | np.ndarray, config: AudioFeatureConfig = AudioFeatureConfig()) -> np.ndarray:
    """Exclusive end sample of frame i's window: round((i + 1) * sample_rate / fps) (halves round up)."""
    f = config.fps_fraction
    num = (np.asarray(frame, dtype=np.int64) + 1) * (config.sample_rate * f.denominator)
    return (2 * num + f.numerator) // (2 * f.numerator)


def samples_needed(n_frames: int, config: AudioFeatureConfig = AudioFeatureConfig(),
                   sample_rate: int | None = None) -> int:
    """Fewest samples that yield n_frames frames: ceil(n * rate / fps); rate defaults to config.sample_rate."""
    f = config.fps_fraction
    rate = config.sample_rate if sample_rate is None else int(sample_rate)
    return -((-int(n_frames) * rate * f.denominator) // f.numerator)


# ------------------------------------------------------------------------------------------ filterbank

def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(config: AudioFeatureConfig = AudioFeatureConfig()) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, peak 1, evaluated at bin centres.

    Neighbouring triangles overlap so that, between the first and the last centre frequency, the
    weights of every FFT bin sum to 1: the mel energies add up to the band energy.
    """
    bins = np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(config.fmin), _hz_to_mel(config.fmax), config.n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    empty = np.flatnonzero(bank.max(axis=1) <= 0.0)
    if empty.size:
        raise ValueError(f"mel_filterbank: filters {empty.tolist()} cover no FFT bin; use fewer mels "
                         f"(n_mels={config.n_mels}) or a larger n_fft (n_fft={config.n_fft})")
    return bank


class _FeatureKernel:
    """Window, filterbank and the per-row maths shared by the offline and streaming paths.

    Every step is row-independent (rfft rows, elementwise products, per-row `add.reduceat`, float64 until
    the final cast) so a frame's numbers do not depend on how many frames are computed together: BLAS
    matrix products would pick batch-size-dependent kernels and break bit-exact streaming.
    """

    def __init__(self, config: AudioFeatureConfig) -> None:
        self.config = config
        n = np.arange(config.n_fft)
        self.window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / config.n_fft)  # periodic Hann
        bank = mel_filterbank(config)
        # Sparse form of the filterbank: bin indices and weights of each filter, one after the other.
        self.bin_index = np.concatenate([np.flatnonzero(row) for row in bank])
        self.weights = np.concatenate([row[row > 0] for row in bank])
        self.offsets = np.cumsum([0] + [int((row > 0).sum()) for row in bank[:-1]])

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """(k, n_fft) float64 sample windows -> (k, n_mels) float32 normalised log-mel features."""
        if windows.shape[0] == 0:
            return np.zeros((0, self.config.n_mels), dtype=np.float32)
        spectrum = np.fft.rfft(windows * self.window, axis=1)
        power = spectrum.real ** 2 + spectrum.imag ** 2
        mel = np.add.reduceat(power[:, self.bin_index] * self.weights, self.offsets, axis=1)
        return ((np.log(mel + LOG_FLOOR) - LOG_MEL_MEAN) / LOG_MEL_STD).astype(np.float32)


def _as_mono_float(samples: np.ndarray | None, source: str) -> np.ndarray:
    """float32 [-1, 1] mono from float or integer PCM, (n,) or (n, channels); channels are averaged."""
    if samples is None:
        return np.zeros(0, dtype=np.float32)
    array = np.asarray(samples)
    if array.ndim > 2 or (array.ndim == 2 and array.shape[1] > 16):
        raise ValueError(f"{source}: expected mono samples (n,) or (n, channels), got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)  # signed or unsigned PCM -> [-1, 1)
        array = (array.astype(np.float64) - (info.min + info.max + 1) / 2) / ((info.max - info.min + 1) / 2)
    elif not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{source}: samples must be float or integer PCM, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array.mean(axis=1)
    array = np.asarray(array, dtype=np.float32).reshape(-1)
    if not np.isfinite(array).all():  # one corrupt packet must not poison the ring buffer forever
        array = np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=-1.0)
    return array


# -------------------------------------------------------------------------------------------- offline

def audio_features(samples: np.ndarray, config: AudioFeatureConfig = AudioFeatureConfig(),
                   sample_rate: int | None = None) -> np.ndarray:
    """(n,) mono samples -> (floor(n * fps / sr), n_mels) float32 causal log-mel features.

    samples: float in [-1, 1] (int16 PCM is scaled). sample_rate: rate of `samples` when it differs from
    config.sample_rate; the clip is then resampled with the same causal `StreamingResampler` the
    streaming path uses, so both stay identical.
    """
    x = _as_mono_float(samples, "audio_features")
    if sample_rate is not None and int(sample_rate) != config.sample_rate:
        x = StreamingResampler(int(sample_rate), config.sample_rate).push(x)
    kernel = _FeatureKernel(config)
    n_frames = num_frames(x.size, config)
    out = np.empty((n_frames, config.n_mels), dtype=np.float32)
    padded = np.concatenate([np.zeros(config.n_fft, dtype=np.float32), x])
    offsets = np.arange(config.n_fft)
    for start in range(0, n_frames, _BLOCK_FRAMES):
        ends = frame_end_sample(np.arange(start, min(start + _BLOCK_FRAMES, n_frames)), config)
        # padded index of absolute sample s is s + n_fft, so the window [end - n_fft, end) starts at `end`.
        windows = padded[ends[:, None] + offsets[None, :]].astype(np.float64)
        out[start:start + ends.size] = kernel(windows)
    return out


def frame_energy_db(features: np.ndarray, config: AudioFeatureConfig = AudioFeatureConfig()) -> np.ndarray:
    """(T, n_mels) features -> (T,) band energy (fmin..fmax) of each frame's window in dB re full scale.

    Undoes the affine map and the 1e-6 floor; 0 dB is a signal of mean square 1, so a full-scale sine
    reads about -3 dB, speech at a usual recording level -20 to -35 dB, digital silence -inf (floored at -150).
    """
    f = np.asarray(features, dtype=np.float64)
    mel = np.maximum(np.exp(f * LOG_MEL_STD + LOG_MEL_MEAN) - LOG_FLOOR, 0.0)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(config.n_fft) / config.n_fft)
    unit = config.n_fft * float((window ** 2).sum()) / 2.0  # one-sided |X|^2 sum of a unit mean-square signal
    return 10.0 * np.log10(np.maximum(mel.sum(axis=-1) / unit, 1e-15))


def voice_activity(features: np.ndarray, threshold_db: float = -45.0,
                   config: AudioFeatureConfig = AudioFeatureConfig()) -> np.ndarray:
    """(T, n_mels) features -> (T,) bool: frame energy above threshold_db (dB re full scale).

    -45 dB sits between speech (active level around -26 dBFS, syllable troughs near -40) and a quiet room
    (-60 dBFS and below). A loud room needs a higher threshold; this is an energy gate, not a speech detector.
    """
    return frame_energy_db(features, config) > threshold_db


# ------------------------------------------------------------------------------------------ streaming

class StreamingResampler:
    """Causal polyphase resampler, from_rate -> to_rate, chunk-size independent and bounded in memory.

    Uses the anti-aliasing filter of `scipy.signal.resample_poly` (firwin, Kaiser beta 5, 10 * max(up,
    down) taps per side) but applies it causally: output sample n uses inputs up to n * down / up only,
    so it lags resample_poly by half the filter, `delay_samples` input samples (0.6 ms for 48 kHz ->
    16 kHz, 0.6 ms for 44.1 kHz). Output n = sum_i x[j - i] h[p + i * up] with j = n*down // up and
    p = n*down % up; rows are summed with numpy's per-row reduction so any chunking gives the same numbers.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        from scipy.signal import firwin  # noqa: PLC0415 (scipy is only needed when resampling)

        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"StreamingResampler: rates must be > 0, got {from_rate} -> {to_rate}")
        g = math.gcd(int(from_rate), int(to_rate))
        self.from_rate, self.to_rate = int(from_rate), int(to_rate)
        self.up, self.down = self.to_rate // g, self.from_rate // g
        half_len = 10 * max(self.up, self.down)
        taps = firwin(2 * half_len + 1, 1.0 / max(self.up, self.down), window=("kaiser", 5.0)) * self.up
        self.delay_samples = half_len / self.up
        self.n_taps = -(-taps.size // self.up)  # taps per polyphase branch
        padded = np.zeros(self.n_taps * self.up)
        padded[:taps.size] = taps
        self.polyphase = padded.reshape(self.n_taps, self.up).T.copy()  # [phase, i] = h[phase + i * up]
        self.reset()

    def reset(self) -> None:
        self._history = np.zeros(self.n_taps - 1, dtype=np.float64)
        self._received = 0  # input samples so far
        self._produced = 0  # output samples so far

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Input chunk (any size) -> the output samples that became computable, float32."""
        x = np.asarray(samples, dtype=np.float64).reshape(-1)
        if self.up == self.down:
            return x.astype(np.float32)
        total = self._received + x.size
        n_end = (total * self.up - 1) // self.down + 1 if total else 0  # outputs whose inputs have arrived
        n = np.arange(self._produced, n_end, dtype=np.int64)
        work = np.concatenate([self._history, x])  # work[k] is input sample received - (n_taps - 1) + k
        out = np.empty(0, dtype=np.float32)
        if n.size:
            j = n * self.down // self.up
            phase = n * self.down - j * self.up
            last = j - (self._received - (self.n_taps - 1))
            rows = work[last[:, None] - np.arange(self.n_taps)[None, :]]
            out = (rows * self.polyphase[phase]).sum(axis=1).astype(np.float32)
        self._history = work[-(self.n_taps - 1):] if self.n_taps > 1 else self._history
        self._received, self._produced = total, n_end
        return out

    @property
    def buffered_samples(self) -> int:
        return int(self._history.size)


MICROPHONE_RATES = (48000, 44100, 32000, 22050, 8000)  # prepared by StreamingAudioFeatures up front


class StreamingAudioFeatures:
    """Frame-by-frame log-mel features from audio chunks of any size, equal to `audio_features`.

    push() returns the frames completed by the chunk, (n_new, n_mels). Memory is a fixed `n_fft`-sample
    history (+ a resampler history when the input rate differs), never the stream.
    """

    def __init__(self, config: AudioFeatureConfig = AudioFeatureConfig(),
                 input_rates: tuple[int, ...] = MICROPHONE_RATES) -> None:
        self.config = config
        self._kernel = _FeatureKernel(config)
        self._resampler: StreamingResampler | None = None
        # Resamplers for the usual microphone rates are built here, not at the first chunk: building one
        # imports scipy.signal (about a second), which inside a ROS callback stalls the live stream.
        self._resamplers = {int(rate): StreamingResampler(int(rate), config.sample_rate)
                            for rate in input_rates if int(rate) != config.sample_rate}
        self.reset()

    def reset(self) -> None:
        """Start a new stream: zero history (the same zero padding the offline function uses)."""
        self._history = np.zeros(self.config.n_fft, dtype=np.float32)
        self._received = 0
        self._frames = 0
        if self._resampler is not None:
            self._resampler.reset()

    @property
    def frames_emitted(self) -> int:
        return self._frames

    @property
    def samples_received(self) -> int:
        """Samples at config.sample_rate (after resampling) received since reset()."""
        return self._received

    @property
    def buffered_samples(self) -> int:
        """Samples held in memory; constant over the stream."""
        extra = self._resampler.buffered_samples if self._resampler is not None else 0
        return int(self._history.size) + extra

    def push(self, samples: np.ndarray | None, sample_rate: int | None = None) -> np.ndarray:
        """Chunk of samples -> (n_new_frames, n_mels) float32 features of the frames it completed.

        sample_rate: rate of this chunk when it differs from config.sample_rate (e.g. 48 kHz microphones);
        a causal resampler is kept across chunks. Switching rates mid-stream restarts the resampler.
        """
        x = _as_mono_float(samples, "StreamingAudioFeatures.push")
        if sample_rate is not None and int(sample_rate) != self.config.sample_rate:
            if self._resampler is None or self._resampler.from_rate != int(sample_rate):
                rate = int(sample_rate)
                if rate not in self._resamplers:  # an unusual rate: built now (and kept)
                    self._resamplers[rate] = StreamingResampler(rate, self.config.sample_rate)
                self._resampler = self._resamplers[rate]
                self._resampler.reset()
            x = self._resampler.push(x)
        if x.size == 0:
            return np.zeros((0, self.config.n_mels), dtype=np.float32)
        n_fft = self.config.n_fft
        total = self._received + x.size
        frames = np.arange(self._frames, num_frames(total, self.config))
        work = np.concatenate([self._history, x])  # work[k] is absolute sample received - n_fft + k
        # A pending frame's end is >= received (it rounds from a point past the last emitted boundary),
        # so its whole window lies inside `work`.
        starts = frame_end_sample(frames, self.config) - self._received
        windows = work[starts[:, None] + np.arange(n_fft)[None, :]].astype(np.float64)
        out = self._kernel(windows)
        self._history = work[-n_fft:].copy()
        self._received, self._frames = total, self._frames + frames.size
        return out


# ------------------------------------------------------------------------------------ calibration audio

def speech_like_signal(seconds: float = 60.0, sample_rate: int = 16000, seed: int = 0,
                       active_level_dbfs: float = -26.0, noise_dbfs: float = -65.0) -> np.ndarray:
    """Synthetic speech for calibration and tests: utterances of 4-5 syllables/s with pauses.

    Voiced syllables: a jittered glottal pulse train (f0 95-220 Hz with intonation) with a -12 dB/oct
    source tilt through three vowel formant resonators; some syllables start with a fricative (noise above
    3 kHz). Scaled to `active_level_dbfs` RMS over the voiced parts, plus white room noise.
    """
    from scipy.signal import butter, lfilter  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    speech = np.zeros(n)
    active = np.zeros(n, dtype=bool)
    vowels = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480],
                       [570, 840, 2410], [660, 1720, 2410], [440, 1020, 2240]], dtype=float)
    hp_b, hp_a = butter(4, 3000 / (sample_rate / 2), "high")
    base_f0 = rng.uniform(95, 220)
    t = int(0.3 * sample_rate)
    while t < n:
        for _ in range(rng.integers(4, 16)):  # one utterance
            length = int(rng.uniform(0.14, 0.3) * sample_rate)
            if t + length >= n:
                break
            f0 = base_f0 * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * np.arange(length) / sample_rate
                                              + rng.uniform(0, 6)))
            phase = np.cumsum(f0 / sample_rate)
            pulses = np.diff(np.floor(phase), prepend=0.0) * (1 + 0.1 * rng.standard_normal(length))
            source = lfilter([1.0], [1, -1.9, 0.9025], pulses)  # double pole at 0.95: -12 dB/oct glottal tilt
            voiced = np.diff(source, prepend=0.0)  # lip radiation: +6 dB/oct
            for formant, bandwidth in zip(vowels[rng.integers(len(vowels))], (80, 100, 150), strict=True):
                r = math.exp(-math.pi * bandwidth / sample_rate)
                theta = 2 * math.pi * formant / sample_rate
                voiced = lfilter([1 - r], [1, -2 * r * math.cos(theta), r * r], voiced)
            envelope = np.sin(np.pi * np.arange(length) / length) ** 0.7
            syllable = voiced / (np.std(voiced) + 1e-12) * envelope
            if rng.random() < 0.3:  # fricative onset
                fl = length // 3
                noise = lfilter(hp_b, hp_a, rng.standard_normal(fl)) * np.hanning(fl) * 0.6
                syllable[:fl] += noise
            speech[t:t + length] += syllable
            active[t:t + length] = True
            t += int(length * rng.uniform(0.85, 1.05))
        t += int(rng.uniform(0.3, 1.2) * sample_rate)  # pause
    level = np.sqrt(np.mean(speech[active] ** 2)) if active.any() else 1.0
    speech *= 10 ** (active_level_dbfs / 20) / level
    speech += rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    return np.clip(speech, -1.0, 1.0).astype(np.float32)


def _calibrate(seconds: float = 60.0, seed: int = 0) -> tuple[float, float]:
    """Mean and std of log(mel + 1e-6) on speech_like_signal: the constants LOG_MEL_MEAN / LOG_MEL_STD."""
    features = audio_features(speech_like_signal(seconds, seed=seed))
    log_mel = features.astype(np.float64) * LOG_MEL_STD + LOG_MEL_MEAN
    return float(log_mel.mean()), float(log_mel.std())


if __name__ == "__main__":
    mean, std = _calibrate()
    print(f"LOG_MEL_MEAN = {mean:.2f}\nLOG_MEL_STD = {std:.2f}")

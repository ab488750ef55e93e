"""WAV in/out for the MARS audio files: float32 mono in [-1, 1] inside the project, PCM16 mono on disk.

Reading uses the standard library `wave` for integer PCM (8, 16, 24, 32 bit) and falls back to
`scipy.io.wavfile` for what `wave` refuses (IEEE float, WAVE_FORMAT_EXTENSIBLE). Every error names the file.
"""
from __future__ import annotations

import warnings
import wave
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np


class WavError(ValueError):
    """A wav file that is missing, truncated, corrupt or in an unsupported format."""


@dataclass(frozen=True)
class WavInfo:
    frames: int  # samples per channel
    sample_rate: int
    channels: int
    sample_format: str  # "pcm8", "pcm16", "pcm24", "pcm32", "float32", ...

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


_PCM_FORMATS = {1: "pcm8", 2: "pcm16", 3: "pcm24", 4: "pcm32"}


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: wav file not found")


def _pcm_to_float(raw: bytes, width: int, channels: int, path: Path) -> np.ndarray:
    """Interleaved little-endian PCM bytes -> (frames, channels) float32 in [-1, 1]."""
    if width == 1:  # 8-bit wav is unsigned
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        data = value.astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    else:
        raise WavError(f"{path}: unsupported PCM sample width of {width} bytes")
    return data.reshape(-1, channels)


def _scipy_read(path: Path) -> tuple[int, np.ndarray]:
    """scipy's reader, memory-mapped where it can (24-bit data cannot be mapped: read it whole)."""
    from scipy.io import wavfile  # noqa: PLC0415 (only needed for float / extensible files)

    with warnings.catch_warnings():
        # scipy only warns when the data chunk is shorter than its header says: that is a truncated file
        warnings.simplefilter("error", wavfile.WavFileWarning)
        try:
            try:
                return wavfile.read(path, mmap=True)
            except ValueError as error:
                if "mmap" not in str(error) or "greater than file size" in str(error):
                    raise
                return wavfile.read(path, mmap=False)
        except wavfile.WavFileWarning as error:
            raise WavError(f"{path}: truncated wav file ({error})") from error
        except (ValueError, OSError, EOFError) as error:
            if "greater than file size" in str(error):
                raise WavError(f"{path}: truncated wav file (the data chunk is shorter than its header says)") from error
            raise WavError(f"{path}: unsupported or corrupt wav file ({error})") from error


def _scipy_to_float(data: np.ndarray, path: Path) -> np.ndarray:
    data = np.asarray(data)
    if data.ndim == 1:
        data = data[:, None]
    kind = data.dtype
    if kind == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    if kind == np.int16:
        return data.astype(np.float32) / 32768.0
    if kind == np.int32:  # scipy stores 24-bit data left-aligned in int32 as well
        return (data.astype(np.float64) / float(1 << 31)).astype(np.float32)
    if kind == np.int64:
        return (data.astype(np.float64) / float(1 << 63)).astype(np.float32)
    if np.issubdtype(kind, np.floating):
        if not np.isfinite(data).all():
            raise WavError(f"{path}: float wav file with non-finite samples")
        return np.clip(data, -1.0, 1.0).astype(np.float32)
    raise WavError(f"{path}: unsupported wav sample type {kind}")


def _open_pcm(path: Path) -> wave.Wave_read | None:
    """A `wave` reader for integer PCM, or None when `wave` does not know the format (use scipy)."""
    try:
        return wave.open(str(path), "rb")
    except wave.Error as error:
        if "unknown format" in str(error):
            return None
        raise WavError(f"{path}: not a valid wav file ({error})") from error
    except (EOFError, ValueError) as error:  # the header itself is cut short
        raise WavError(f"{path}: truncated or corrupt wav header ({error!r})") from error


def wav_info(path: str | Path) -> WavInfo:
    """Frames, sample rate, channels and format from the header (the samples are not read)."""
    path = Path(path)
    _check_file(path)
    reader = _open_pcm(path)
    if reader is None:
        rate, data = _scipy_read(path)
        channels = 1 if data.ndim == 1 else data.shape[1]
        return WavInfo(int(data.shape[0]), int(rate), int(channels), str(data.dtype))
    with reader:
        frames, width, channels = reader.getnframes(), reader.getsampwidth(), reader.getnchannels()
        info = WavInfo(frames, reader.getframerate(), channels, _PCM_FORMATS.get(width, f"pcm{8 * width}"))
    # The smallest possible header is 44 bytes: a file shorter than header + data is certainly truncated
    if path.stat().st_size < 44 + frames * width * channels:
        raise WavError(f"{path}: truncated wav file: the header announces {frames} frames "
                       f"({frames * width * channels} bytes) but the file has {path.stat().st_size} bytes")
    return info


def read_wav(path: str | Path, start: int = 0, count: int | None = None) -> tuple[np.ndarray, int]:
    """Read a wav file as float32 mono in [-1, 1] and its sample rate.

    `start`/`count` read only frames [start, start + count) (clamped to the file), so a training window
    of a long recording does not read the whole file. Multi-channel audio is mixed down (the mean of the
    channels) with a warning.
    """
    path = Path(path)
    _check_file(path)
    if start < 0 or (count is not None and count < 0):
        raise ValueError(f"read_wav({path}): start and count must be >= 0, got {start}, {count}")
    reader = _open_pcm(path)
    if reader is None:
        rate, data = _scipy_read(path)
        stop = data.shape[0] if count is None else min(data.shape[0], start + count)
        samples = _scipy_to_float(np.array(data[start:stop]), path)
    else:
        with reader:
            rate, width, channels, total = (reader.getframerate(), reader.getsampwidth(), reader.getnchannels(),
                                            reader.getnframes())
            first = min(start, total)
            wanted = total - first if count is None else min(count, total - first)
            try:
                reader.setpos(first)
                raw = reader.readframes(wanted)
            except (wave.Error, EOFError, ValueError) as error:
                raise WavError(f"{path}: corrupt wav file ({error})") from error
        if len(raw) < wanted * width * channels:
            raise WavError(f"{path}: truncated wav file: the header announces {total} frames but the data ends "
                           f"before frame {first + len(raw) // (width * channels)}")
        samples = _pcm_to_float(raw, width, channels, path)
    if samples.shape[1] > 1:
        warnings.warn(f"{path}: {samples.shape[1]} audio channels mixed down to mono", stacklevel=2)
    return samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0].copy(), int(rate)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) between integer sample rates; float32 out."""
    if from_rate == to_rate:
        return np.asarray(samples, dtype=np.float32)
    from scipy.signal import resample_poly  # noqa: PLC0415

    g = gcd(int(from_rate), int(to_rate))
    return resample_poly(np.asarray(samples, dtype=np.float64), int(to_rate) // g, int(from_rate) // g).astype(
        np.float32)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples in [-1, 1] as 16-bit PCM mono; the same samples always give the same bytes.

    Values outside [-1, 1] are clipped; creates the parent folders.
    """
    path = Path(path)
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim != 1:
        raise ValueError(f"write_wav({path}): expected mono samples of shape (n,), got {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError(f"write_wav({path}): samples contain NaN or infinity")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"write_wav({path}): sample rate must be a positive integer, got {sample_rate}")
    pcm = np.round(np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(int(sample_rate))
        writer.writeframes(pcm.tobytes())

"""The MARS reader and wav I/O on a tiny hand-made data set in the real MARS layout (a few seconds)."""
from __future__ import annotations

import shutil
import warnings
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from react_ros import schema
from react_ros.data import layout
from react_ros.data.audio_io import WavError, read_wav, wav_info, write_wav
from react_ros.data.layout import ClipId
from react_ros.data.mars import MarsDataset
from react_ros.data.pairs import (
    DatasetError,
    Direction,
    Pair,
    Sample,
    appropriate_reactions,
    ground_truth_ids,
    make_samples,
    scan,
)
from react_ros.data.protocol import mean_reaction, test_ground_truths
from react_ros.data.readers import audio_samples, read_audio
from react_ros.metrics.resample import resample_to_length

SR = schema.AUDIO_SAMPLE_RATE
FPS = schema.FPS
LENGTHS = {"session1": (90, 150, 300), "session2": (120, 200, 250)}
VIDEO_SIDE = 64


def clip_name(session: int, k: int) -> str:
    minute = 15 + k
    return f"Camera-2024-05-0{session}-10{minute}00-10{minute}30"


def first_sample(frame: int) -> int:
    return int(np.floor(frame * SR / FPS + 0.5))


def random_attributes(rng: np.random.Generator, frames: int) -> np.ndarray:
    out = np.empty((frames, schema.REACTION_DIM), dtype=np.float32)
    out[:, schema.AU] = rng.uniform(0, 1, (frames, 15))
    out[:, schema.AFFECT] = rng.uniform(-1, 1, (frames, 2))
    logits = rng.normal(size=(frames, 8))
    out[:, schema.EXPRESSION] = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return out


def frame_audio(frames: int, offset: float = 0.0) -> np.ndarray:
    """Audio whose amplitude encodes the frame index: samples of frame f are (f + offset) / 1000."""
    audio = np.zeros(first_sample(frames), dtype=np.float32)
    for f in range(frames):
        audio[first_sample(f):first_sample(f + 1)] = (f + offset) / 1000.0
    return audio


def gray_level(frame: int) -> int:
    return (frame * 7) % 200 + 20


def write_frame_video(path: Path, frames: int) -> None:
    """A 64x64 mp4 whose gray level encodes the frame index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (VIDEO_SIDE, VIDEO_SIDE))
    assert writer.isOpened()
    for f in range(frames):
        writer.write(np.full((VIDEO_SIDE, VIDEO_SIDE, 3), gray_level(f), dtype=np.uint8))
    writer.release()


def build(root: Path, split: str = "test", lengths: dict[str, tuple[int, ...]] = LENGTHS, video: bool = True,
          seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for session, clip_lengths in lengths.items():
        for k, frames in enumerate(clip_lengths):
            for role in layout.ROLES:
                clip = ClipId(split, role, session, clip_name(int(session[-1]), k))
                path = clip.path(root, layout.ATTRIBUTES)
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, random_attributes(rng, frames))
                # the listener's audio is offset so that the two roles' audio can be told apart
                write_wav(clip.path(root, layout.AUDIO), frame_audio(frames, 0.0 if role == "speaker" else 0.5), SR)
                if video:
                    write_frame_video(clip.path(root, layout.VIDEO), frames)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mars")
    build(root)
    return root


@pytest.fixture
def copy(base, tmp_path) -> Path:
    """A private copy of the data set, for tests that damage files."""
    shutil.copytree(base, tmp_path / "mars")
    return tmp_path / "mars"


def attrs_path(root: Path, role: str, session: str = "session1", k: int = 0, split: str = "test") -> Path:
    return ClipId(split, role, session, clip_name(int(session[-1]), k)).path(root, layout.ATTRIBUTES)


# ----------------------------------------------------------------------------- wav I/O

def test_write_wav_is_deterministic_and_round_trips(tmp_path):
    samples = np.sin(np.arange(4000) / 7.0).astype(np.float32) * 0.8
    write_wav(tmp_path / "a.wav", samples, SR)
    write_wav(tmp_path / "b.wav", samples.copy(), SR)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == SR and back.dtype == np.float32 and back.shape == samples.shape
    assert np.abs(back - samples).max() < 1e-4
    part, _ = read_wav(tmp_path / "a.wav", start=1000, count=50)
    np.testing.assert_array_equal(part, back[1000:1050])
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR)


def test_read_wav_other_formats_and_errors(tmp_path):
    from scipy.io import wavfile

    x = (np.sin(np.arange(800) / 5.0) * 0.5).astype(np.float32)
    wavfile.write(tmp_path / "float.wav", 8000, np.stack([x, x], axis=1))  # IEEE float, stereo: scipy fallback
    with pytest.warns(UserWarning, match="mixed down"):
        back, rate = read_wav(tmp_path / "float.wav")
    assert rate == 8000 and np.allclose(back, x)
    for dtype, scale, shift in ((np.uint8, 127, 128), (np.int32, 2**31 - 1, 0)):  # PCM8, PCM32 through `wave`
        wavfile.write(tmp_path / "pcm.wav", 8000, np.round(x * scale + shift).astype(dtype))
        assert np.abs(read_wav(tmp_path / "pcm.wav")[0] - x).max() < 0.01
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        read_wav(tmp_path / "missing.wav")
    write_wav(tmp_path / "t.wav", x, SR)
    data = (tmp_path / "t.wav").read_bytes()
    (tmp_path / "t.wav").write_bytes(data[:len(data) // 2])
    for reader in (read_wav, wav_info):
        with pytest.raises(WavError, match=r"t\.wav: truncated"):
            reader(tmp_path / "t.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all" * 4)
    with pytest.raises(WavError, match="junk.wav"):
        read_wav(tmp_path / "junk.wav")


def test_other_sample_rate_is_resampled_with_a_warning(tmp_path):
    from scipy.io import wavfile

    t = np.arange(44100) / 44100
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    wavfile.write(tmp_path / "a.wav", 44100, np.stack([tone, tone], axis=1))
    with pytest.warns(UserWarning, match="resample_poly"):
        out = read_audio(tmp_path / "a.wav", 4000, 8000)
    expected = 0.5 * np.sin(2 * np.pi * 220 * np.arange(4000, 8000) / SR)
    assert out.shape == (4000,) and np.abs(out - expected).max() < 0.01


# ----------------------------------------------------------------------------- pairs, directions, ground truths

def test_scan_finds_the_pairs(base):
    pairs = scan(base, "test")
    assert len(pairs) == 6 and not pairs.problems
    assert [p.session for p in pairs] == ["session1"] * 3 + ["session2"] * 3
    assert pairs[0] == Pair("test", "session1", "Camera-2024-05-01-101500-101530")
    assert pairs[0].listener == ClipId("test", "listener", "session1", "Camera-2024-05-01-101500-101530")


def test_missing_split_names_the_expected_path(base):
    with pytest.raises(DatasetError, match=r"train.*MARS layout"):
        scan(base, "train")


def test_both_directions_are_used(base):
    samples = make_samples(scan(base, "test"))
    assert len(samples) == 12
    assert {s.direction for s in samples} == set(Direction)
    for s in samples:
        assert s.target == s.input.partner() and s.target.role == s.direction.target_role
    data = MarsDataset(base, "test", window=60, modalities=("attributes",))
    assert len(data) == 12  # stride=None: one window per input
    assert {data[i]["ids"][0].split("/")[1] for i in range(len(data))} == {"speaker", "listener"}
    only = MarsDataset(base, "test", window=60, modalities=("attributes",), directions="listener->speaker")
    assert len(only) == 6 and all(only[i]["ids"][0].split("/")[1] == "listener" for i in range(6))


def test_appropriate_reactions_come_from_the_session(base):
    pairs = scan(base, "test")
    sample = Sample(pairs[1].speaker)
    appropriate = appropriate_reactions(sample, pairs)
    assert appropriate[0] == pairs[1].listener
    assert set(appropriate) == {p.listener for p in pairs if p.session == "session1"}
    reverse = appropriate_reactions(Sample(pairs[4].listener), pairs)
    assert reverse[0] == pairs[4].speaker and {c.role for c in reverse} == {"speaker"}
    assert {c.session for c in reverse} == {"session2"}


def test_ten_ground_truths_per_test_input(base):
    inputs = test_ground_truths(base, "test")
    assert len(inputs) == 12
    pairs = scan(base, "test")
    for item in inputs:
        length = len(item.speaker)
        assert item.gts.shape == (10, length, schema.REACTION_DIM) and item.listener.shape == (length, 25)
        assert item.gt_ids[0] == item.input.partner()
        np.testing.assert_array_equal(item.gts[0], item.listener)
        np.testing.assert_array_equal(item.listener, np.load(item.input.partner().path(base, layout.ATTRIBUTES)))
        np.testing.assert_array_equal(item.speaker, np.load(item.input.path(base, layout.ATTRIBUTES)))
        session_targets = {p.clip_id(item.input.partner().role) for p in pairs if p.session == item.input.session}
        assert set(item.gt_ids) <= session_targets
        assert set(item.gt_ids[1:]) == session_targets - {item.input.partner()}  # 2 others, both drawn
        for gt, gt_id in zip(item.gts, item.gt_ids, strict=True):  # each resampled to the input's length
            expected = resample_to_length(np.load(gt_id.path(base, layout.ATTRIBUTES)), length)
            np.testing.assert_allclose(gt, expected, atol=1e-6)
    again = test_ground_truths(base, "test")
    assert [i.gt_ids for i in again] == [i.gt_ids for i in inputs]
    assert [i.gt_ids for i in test_ground_truths(base, "test", seed=1)] != [i.gt_ids for i in inputs]
    assert test_ground_truths(base, "test", count=4)[0].gts.shape[0] == 4


def test_a_lone_pair_repeats_its_own_reaction(tmp_path):
    build(tmp_path, lengths={"session1": (90,)}, video=False)
    (item, _) = test_ground_truths(tmp_path, "test")
    assert item.gts.shape == (10, 90, 25) and set(item.gt_ids) == {item.input.partner()}
    np.testing.assert_array_equal(item.gts, np.repeat(item.listener[None], 10, axis=0))


def test_draws_without_repetition_when_enough(tmp_path):
    pairs = [Pair("test", "session1", f"Camera-2024-05-01-1{k:02d}000-1{k:02d}030") for k in range(12)]
    ids = ground_truth_ids(Sample(pairs[0].speaker), pairs, count=10, seed=3)
    assert ids[0] == pairs[0].listener and len(set(ids)) == 10


# ----------------------------------------------------------------------------- training windows

def test_window_items_have_the_right_shapes_and_aligned_audio_and_video(base):
    window = 60
    data = MarsDataset(base, "test", window=window, stride=25, video_size=32)
    audio_len = audio_samples(window)
    assert audio_len == 32000
    starts = {}
    for i in range(len(data)):
        clip_id, start = data.index[i][0], data.index[i][1]
        starts.setdefault(clip_id, []).append(start)
    assert starts[0] == [0, 25, 30]  # 90 frames: strided starts plus one window ending at the clip's end
    for i in (0, 2, 5, len(data) - 1):
        item = data[i]
        assert item["speaker_attributes"].shape == (window, 25) and item["speaker_attributes"].dtype == np.float32
        assert item["listener_attributes"].shape == (window, 25)
        assert item["speaker_audio"].shape == (audio_len,) and item["speaker_audio"].dtype == np.float32
        assert item["speaker_video"].shape == (window, 32, 32, 3) and item["speaker_video"].dtype == np.uint8
        assert item["mask"].shape == (window,) and item["mask"].all()
        name, start = item["ids"]
        clip = data.entries[data.index[i][0]].sample.input
        assert name == str(clip) and start == data.index[i][1]
        full = np.load(clip.path(base, layout.ATTRIBUTES))
        np.testing.assert_array_equal(item["speaker_attributes"], full[start:start + window])
        np.testing.assert_array_equal(item["listener_attributes"],
                                      np.load(clip.partner().path(base, layout.ATTRIBUTES))[start:start + window])
        offset = 0.0 if clip.role == "speaker" else 0.5
        first = first_sample(start)
        for f in range(start, start + window):  # the first and last sample of every frame
            for n in (first_sample(f), first_sample(f + 1) - 1):
                assert abs(item["speaker_audio"][n - first] - (f + offset) / 1000) < 1e-4, (f, n)
        levels = item["speaker_video"].reshape(window, -1).mean(axis=1)
        expected = np.array([gray_level(f) for f in range(start, start + window)])
        # The codec shifts gray levels by a few units; neighbouring frames differ by 7: the seek lands right
        error = levels - expected
        assert np.abs(error - np.median(error)).max() < 2.0 and abs(np.median(error)) < 5.0


def test_a_short_clip_is_padded_with_a_mask(base):
    window = 128
    data = MarsDataset(base, "test", window=window, modalities=("attributes", "audio", "video"),
                       directions="speaker->listener")
    i = next(i for i in range(len(data)) if data.entries[data.index[i][0]].length == 90)
    item = data[i]
    assert item["ids"][1] == 0
    assert item["mask"].sum() == 90 and item["mask"][:90].all() and not item["mask"][90:].any()
    clip = data.entries[data.index[i][0]].sample.input
    full = np.load(clip.path(base, layout.ATTRIBUTES))
    np.testing.assert_array_equal(item["speaker_attributes"][:90], full)
    assert (item["speaker_attributes"][90:] == full[-1]).all()  # the last frame repeats
    assert item["speaker_audio"].shape == (audio_samples(window),)
    assert (item["speaker_audio"][first_sample(90):] == 0).all()  # no audio past the clip
    assert abs(item["speaker_audio"][first_sample(90) - 1] - 89 / 1000) < 1e-4
    assert item["speaker_video"].shape == (window, VIDEO_SIDE, VIDEO_SIDE, 3)
    assert (item["speaker_video"][90:] == item["speaker_video"][89]).all()


def test_whole_clips_for_evaluation(base):
    data = MarsDataset(base, "test", window=60, modalities=("attributes", "audio"))
    clips = list(data.clips())
    assert len(clips) == 12
    clip = data.load_clip(ClipId("test", "listener", "session2", clip_name(2, 1)))
    assert len(clip) == 200 and clip.listener_attributes.shape == (200, 25)
    assert clip.target.role == "speaker" and clip.direction is Direction.LISTENER_TO_SPEAKER
    assert clip.speaker_audio.shape == (first_sample(200),)
    assert abs(clip.speaker_audio[first_sample(150)] - 150.5 / 1000) < 1e-4


def test_construction_is_lazy_and_reads_no_video(base, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("VideoCapture called")

    monkeypatch.setattr(cv2, "VideoCapture", refuse)
    data = MarsDataset(base, "test", window=60, video_size=32)  # constructing opens no video
    assert len(data) == 12
    with pytest.raises(RuntimeError, match="VideoCapture called"):
        data[0]
    no_video = MarsDataset(base, "test", window=60, modalities=("attributes", "audio"))
    assert "speaker_video" not in no_video[0]


def test_determinism_with_a_seed(base):
    a = MarsDataset(base, "test", window=60, modalities=("attributes", "audio"), seed=7)
    b = MarsDataset(base, "test", window=60, modalities=("attributes", "audio"), seed=7)
    assert a.index == b.index
    for i in (0, 5, 11):
        x, y = a[i], b[i]
        assert x["ids"] == y["ids"]
        for key in ("speaker_attributes", "listener_attributes", "speaker_audio", "mask"):
            np.testing.assert_array_equal(x[key], y[key])
    c = MarsDataset(base, "test", window=60, modalities=("attributes",), seed=8)
    assert c.index != a.index
    a.set_epoch(1)
    b.set_epoch(1)
    assert a.index == b.index
    a.set_epoch(0)
    assert a.index == MarsDataset(base, "test", window=60, modalities=("attributes",), seed=7).index


def test_mean_reaction(tmp_path):
    build(tmp_path, split="train", video=False)
    window = 100
    mean_frame, mean_sequence = mean_reaction(tmp_path, "train", window=window)
    files = sorted((tmp_path / "train" / layout.ATTRIBUTES).rglob("*.npy"))
    assert len(files) == 12
    arrays = [np.load(f) for f in files]
    np.testing.assert_allclose(mean_frame, np.concatenate(arrays).mean(axis=0), atol=1e-5)
    assert mean_sequence.shape == (window, 25)
    position = np.concatenate([np.arange(len(a)) % window for a in arrays])
    np.testing.assert_allclose(mean_sequence[7], np.concatenate(arrays)[position == 7].mean(axis=0), atol=1e-5)


# ----------------------------------------------------------------------------- clear errors

def test_missing_listener_file_is_named(copy):
    missing = attrs_path(copy, "listener", "session2", 1)
    missing.unlink()
    with pytest.raises(DatasetError, match=str(missing).replace("\\", "\\\\")):
        scan(copy, "test")
    with pytest.raises(DatasetError, match="facial-attributes/listener/session2"):
        MarsDataset(copy, "test", window=60)
    with pytest.warns(UserWarning, match="skipped 1 incomplete"):
        pairs = scan(copy, "test", strict=False)
    assert len(pairs) == 5 and str(missing) in pairs.problems[0]


def test_24_dimensional_attributes(copy):
    path = attrs_path(copy, "listener", "session1", 2)
    np.save(path, np.zeros((300, 24), dtype=np.float32))
    with pytest.raises(DatasetError) as error:
        MarsDataset(copy, "test", window=60, modalities=("attributes",))
    message = str(error.value)
    assert str(path) in message and "expected facial attributes of shape (frames, 25)" in message
    assert "(300, 24)" in message
    with pytest.raises(DatasetError, match="(300, 24)"):
        test_ground_truths(copy, "test")


def test_truncated_npy(copy):
    path = attrs_path(copy, "speaker", "session1", 1)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(DatasetError, match=r"session1/.*\.npy: truncated or corrupt .npy file \(the header"):
        MarsDataset(copy, "test", window=60, modalities=("attributes",))
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        test_ground_truths(copy, "test")


def test_nan_values_are_reported_when_read(copy):
    path = attrs_path(copy, "speaker", "session1", 0)
    values = np.load(path)
    values[40, schema.VALENCE] = np.nan
    np.save(path, values)
    data = MarsDataset(copy, "test", window=90, stride=90, modalities=("attributes",))
    with pytest.raises(DatasetError, match=r"non-finite.*valence"):
        data[0]
    with pytest.raises(DatasetError, match=str(path)):
        test_ground_truths(copy, "test")


def test_mismatched_audio_length(copy):
    clip = ClipId("test", "speaker", "session2", clip_name(2, 0))
    write_wav(clip.path(copy, layout.AUDIO), np.zeros(SR * 5), SR)  # 5 s for 120 frames (4 s)
    with pytest.raises(DatasetError, match=r"audio/speaker/session2/.*\.wav: 5\.00 s of audio .* 120 frames"):
        MarsDataset(copy, "test", window=60, modalities=("attributes", "audio"))
    MarsDataset(copy, "test", window=60, modalities=("attributes",))  # audio not requested: no check


def test_speaker_listener_lengths(copy):
    path = attrs_path(copy, "listener", "session1", 1)  # 150 frames
    np.save(path, np.load(path)[:147])
    with pytest.warns(UserWarning, match="cropped to the shorter"):
        data = MarsDataset(copy, "test", window=60, modalities=("attributes",))
    assert {e.length for e in data.entries if e.sample.input.clip == clip_name(1, 1)} == {147}
    np.save(path, np.load(path)[:120])
    with pytest.raises(DatasetError, match=r"150 frames but its partner .* has 120"):
        MarsDataset(copy, "test", window=60, modalities=("attributes",))


def test_bad_videos(copy):
    clip = ClipId("test", "speaker", "session1", clip_name(1, 0))
    write_frame_video(clip.path(copy, layout.VIDEO), 60)  # 60 frames for 90 frames of attributes
    data = MarsDataset(copy, "test", window=60, stride=60, directions="speaker->listener")
    with pytest.raises(DatasetError, match=r"video-face-crop/speaker/session1/.*\.mp4: the video has 60 frames"):
        data[0]
    clip.path(copy, layout.VIDEO).write_bytes(b"\x00" * 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DatasetError, match=r"\.mp4: cannot open the video"):
            data[0]
    assert any("cannot open the video" in p for p in data.validate())

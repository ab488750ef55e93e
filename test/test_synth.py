"""The synthetic dyadic data set: the MARS layout, determinism, video format, and that listeners react."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from react_ros import schema
from react_ros.cli import main
from react_ros.data import layout
from react_ros.data.pairs import scan
from react_ros.data.protocol import test_ground_truths
from react_ros.data.synth import SynthConfig, generate


def _synth(out: Path) -> None:
    assert main(["data", "synth", "--out", str(out), "--sessions", "3", "--clips-per-session", "2",
                 "--min-seconds", "4", "--max-seconds", "5", "--video-size", "64", "--seed", "0", "--quiet"]) == 0


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    _synth(a)
    _synth(b)
    return a, b


def test_mars_layout(two_runs):
    root = two_runs[0]
    for split in layout.SPLITS:
        for modality in (layout.VIDEO, layout.ATTRIBUTES, layout.AUDIO):
            for role in layout.ROLES:
                files = sorted((root / split / modality / role).glob(f"session*/*{layout.EXTENSIONS[modality]}"))
                assert files, f"no {modality}/{role} files in {split}"
    total = sum(len(scan(root, split)) for split in layout.SPLITS)
    assert total == 3 * 2


def test_same_seed_gives_byte_identical_files(two_runs):
    a, b = two_runs
    for pattern in ("**/*.npy", "**/*.wav"):
        files_a = sorted(p.relative_to(a) for p in a.glob(pattern))
        assert files_a == sorted(p.relative_to(b) for p in b.glob(pattern))
        for rel in files_a:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_videos_open_at_30_fps_with_one_frame_per_attribute_row(two_runs):
    root = two_runs[0]
    videos = sorted(root.glob(f"*/{layout.VIDEO}/*/session*/*.mp4"))
    assert videos
    for video in videos[:4]:
        capture = cv2.VideoCapture(str(video))
        assert capture.isOpened()
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        rel = video.relative_to(root).parts
        attributes = np.load(root / rel[0] / layout.ATTRIBUTES / rel[2] / rel[3] / (video.stem + ".npy"))
        assert frames == len(attributes)
        assert attributes.shape[1] == schema.REACTION_DIM


def test_wav_is_16k_mono_and_matches_the_video_length(two_runs):
    from react_ros.data.audio_io import wav_info

    wav = sorted(two_runs[0].glob("*/audio/speaker/session*/*.wav"))[0]
    info = wav_info(wav)
    assert info.sample_rate == 16000 and info.channels == 1
    attributes = np.load(str(wav).replace("/audio/", "/facial-attributes/").replace(".wav", ".npy"))
    assert abs(info.frames / 16000 - len(attributes) / 30) < 0.05


def test_listeners_react_to_the_speaker_and_differ_from_each_other(tmp_path):
    """Learnable and multiple: a listener's smile follows the speaker's after a delay; two listeners of the
    same session react differently."""
    generate(SynthConfig(out=tmp_path, sessions=1, clips_per_session=2, min_seconds=40, max_seconds=40,
                         split_fractions=(1.0, 0.0, 0.0), video=False, seed=3), progress=False)
    pairs = scan(tmp_path, "train")
    smile = schema.index_of("AU12")
    listeners = []
    for pair in pairs:
        speaker = np.load(pair.speaker.path(tmp_path, layout.ATTRIBUTES))[:, smile]
        listener = np.load(pair.listener.path(tmp_path, layout.ATTRIBUTES))[:, smile]
        lags = range(0, 60)
        corr = [np.corrcoef(speaker[: len(speaker) - lag], listener[lag:])[0, 1] for lag in lags]
        assert max(corr) > 0.3, "the listener's smile does not follow the speaker's"
        listeners.append(listener)
    assert np.abs(listeners[0] - listeners[1]).mean() > 0.02


def test_ten_ground_truths_per_test_input(two_runs):
    inputs = test_ground_truths(two_runs[0], "test")
    assert inputs
    for item in inputs:
        assert item.gts.shape == (10, len(item.speaker), schema.REACTION_DIM)

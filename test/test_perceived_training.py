"""The same front end in training and on the robot (issue 14 item 4): `react-ros perceive` over a MARS tree, then
training reads the perceived speaker attributes + mask instead of the labels, and the model sees in training what
the online pipeline hands it at run time (unmeasured values neutral, frames without a face marked absent)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.data.features import ClipFeatures
from react_ros.data.layout import ClipId
from react_ros.data.pairs import DatasetError
from react_ros.data.perceived import MASK_DIR, perceived_path, perceived_speaker

CLIP = ClipId("train", "speaker", "session0", "c0")


def write_perceived(root, clip: ClipId, attributes: np.ndarray, mask: np.ndarray) -> None:
    for kind, array in (("facial-attributes", attributes), (MASK_DIR, mask)):
        path = perceived_path(root, clip, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)


def test_unmeasured_values_are_neutral_and_missing_frames_absent(tmp_path):
    attributes = np.full((10, 25), 0.7, np.float32)
    mask = np.ones((10, 25), bool)
    mask[:, schema.AU_NAMES.index("AU9")] = False  # never measured by the mesh front end
    mask[3] = False  # no face on frame 3
    write_perceived(tmp_path, CLIP, attributes, mask)
    visual, measured = perceived_speaker(tmp_path, CLIP, 12)  # the labels are two frames longer
    neutral = schema.neutral_frame()
    assert visual.shape == (12, 25) and measured.shape == (12, 25)
    assert visual[0, schema.AU_NAMES.index("AU9")] == neutral[schema.AU_NAMES.index("AU9")]
    assert visual[0, schema.AU_NAMES.index("AU12")] == pytest.approx(0.7)
    np.testing.assert_array_equal(visual[3], neutral)
    assert not measured[3].any() and measured[0].sum() == 24
    assert not measured[10:].any()  # past the perceived video's end: absent, not guessed
    np.testing.assert_array_equal(visual[10:], np.repeat(neutral[None], 2, 0))


def test_missing_or_mismatched_perceived_files_say_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match="react-ros perceive"):
        perceived_speaker(tmp_path, CLIP, 10)
    write_perceived(tmp_path, CLIP, np.zeros((10, 25), np.float32), np.ones((10, 25), bool))
    with pytest.raises(DatasetError, match="10 frames, the labels have 300"):
        perceived_speaker(tmp_path, CLIP, 300)


def test_training_windows_mark_faceless_frames_absent_and_keep_unmeasured_values_neutral():
    from react_ros.model.config import ModelConfig
    from react_ros.training.windows import Augmentation, WindowSampler

    config = ModelConfig(window=8, context=32, past=8, latent_dim=16, ae_width=64, d_model=32, heads=2,
                         cond_dim=32, denoiser_width=64, denoiser_blocks=2)
    length = 400
    visual = np.repeat(schema.neutral_frame()[None], length, 0)
    au12 = schema.AU_NAMES.index("AU12")
    visual[:, au12] = 0.8
    mask = np.zeros((length, 25), bool)
    mask[:, au12] = True
    mask[::2] = False  # every other frame: no face
    clip = ClipFeatures("c", "s", visual, np.zeros((length, 4), np.float32), np.zeros((length, 25), np.float32),
                        visual_mask=mask)
    sampler = WindowSampler([clip], config, seed=0)
    augment = Augmentation(drop_visual=0, drop_audio=0, drop_both=0, lost_face_span=0)
    batch = sampler.batch(64, augment)
    present = batch["visual_present"]
    assert 0.3 < present.mean() < 0.5  # half the frames (less the frames before the clip starts)
    shown = batch["visual"][present > 0]
    others = np.delete(shown, au12, axis=1)
    np.testing.assert_array_equal(others, np.delete(np.repeat(schema.neutral_frame()[None], len(shown), 0), au12,
                                                    axis=1))  # no estimator noise on unmeasured values
    assert abs(shown[:, au12].mean() - 0.8) < 0.02 and shown[:, au12].std() > 0.01  # noise on measured ones
    assert not batch["visual"][present == 0].any()


def test_speaker_attributes_setting_is_checked_before_training():
    from react_ros.training.trainer import TrainConfig

    assert TrainConfig().face_frontend == "haar" and TrainConfig().perceived_root() is None
    config = TrainConfig.from_dict({"speaker_attributes": "perceived", "perceived": "/p"})
    assert config.perceived_root() == "/p" and config.face_frontend == "mesh"
    with pytest.raises(ValueError, match="needs `perceived: DIR`"):
        TrainConfig.from_dict({"speaker_attributes": "perceived"})
    with pytest.raises(ValueError, match="labels or perceived"):
        TrainConfig.from_dict({"speaker_attributes": "mesh"})


def test_perceive_a_synthetic_tree_then_train_on_it(tmp_path, monkeypatch):
    """react-ros perceive over a synthetic MARS tree, then react-ros train --perceived: the model trains on what the
    mesh front end computed, and its card says to run it with the mesh front end."""
    pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert")
    import json

    import yaml

    from react_ros.cli import main
    from react_ros.data.features import load_features
    from react_ros.data.synth import SynthConfig, generate

    data, perceived = tmp_path / "data", tmp_path / "perceived"
    generate(SynthConfig(out=data, sessions=3, clips_per_session=1, min_seconds=3, max_seconds=3, video_size=96,
                         split_fractions=(0.34, 0.33, 0.33), seed=1), progress=False)
    assert main(["perceive", str(data), "--out", str(perceived)]) == 0
    labels = load_features(data, "train")
    seen = load_features(data, "train", perceived=perceived)
    assert [f.id for f in seen] == [f.id for f in labels]
    for clip in seen:
        raw = np.load(perceived_path(perceived, ClipId(*clip.id.split("/"))))
        assert clip.visual_mask.any(-1).mean() > 0.9  # the renderer's faces are found
        row = int(np.flatnonzero(clip.visual_mask.all(-1) | (clip.visual_mask.sum(-1) == 23))[0])
        measured = clip.visual_mask[row]
        np.testing.assert_allclose(clip.visual[row][measured], raw[row][measured])
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"window": 8, "context": 32, "past": 8, "latent_dim": 16, "ae_width": 64, "d_model": 32, "heads": 2,
                  "cond_dim": 32, "denoiser_width": 64, "denoiser_blocks": 2},
        "ae": {"steps": 4, "batch_size": 16}, "diffusion": {"steps": 4, "batch_size": 16},
        "val_every": 4, "checkpoint_every": 4}))
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--data", str(data), "--out", str(run), "--perceived",
                 str(perceived), "--stages", "ae", "diffusion", "--val-inputs", "0", "--bundle", str(run / "bundle"),
                 "--quiet"]) == 0
    card = json.loads((run / "bundle" / "card.json").read_text())
    assert card["face_frontend"] == "mesh" and card["speaker_attributes"] == "perceived"
    assert json.loads((run / "train_config.json").read_text())["perceived"] == str(perceived)

    # offline generation feeds such a model what it was trained on: the split perceived once into the cache
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard

    monkeypatch.setenv("REACT_ROS_CACHE", str(tmp_path / "cache"))
    assert speaker_source(ModelCard(), data, "test") is None  # a model trained on labels reads labels
    assert speaker_source(ModelCard(), data, "test", given=perceived) == str(perceived)
    tree = speaker_source(ModelCard.read(run / "bundle"), data, "test", jobs=1)
    assert tree.startswith(str(tmp_path / "cache" / "perceived"))
    assert sorted(p.name for p in Path(tree).iterdir()) == ["test"]  # only the split asked for
    cached = load_features(data, "test", perceived=tree)
    test_labels = load_features(data, "test")
    for clip, made, label in zip(cached, load_features(data, "test", perceived=perceived), test_labels, strict=True):
        np.testing.assert_allclose(clip.visual, made.visual)  # the same front end as `react-ros perceive`
        assert not np.allclose(clip.visual, label.visual)  # not the labels
    stamp = {p: p.stat().st_mtime_ns for p in Path(tree).rglob("*.npy")}
    assert speaker_source(ModelCard.read(run / "bundle"), data, "test") == tree
    assert {p: p.stat().st_mtime_ns for p in Path(tree).rglob("*.npy")} == stamp  # made once, then reused
    out = tmp_path / "reactions.npz"
    assert main(["generate", "--data", str(data), "--model", str(run / "bundle"), "--out", str(out),
                 "--samples", "2"]) == 0
    assert out.is_file()


def test_compare_reports_per_channel_correlation_on_measured_frames(tmp_path):
    from react_ros.data.synth import SynthConfig, generate
    from react_ros.media_perception.compare import compare_split, format_table

    data, perceived = tmp_path / "data", tmp_path / "perceived"
    generate(SynthConfig(out=data, sessions=1, clips_per_session=1, min_seconds=2, max_seconds=2, video=False,
                         split_fractions=(1.0, 0.0, 0.0)), progress=False)
    au12, au1 = schema.AU_NAMES.index("AU12"), schema.AU_NAMES.index("AU1")
    labels = []
    for role in ("speaker", "listener"):
        clip = ClipId("train", role, "session0", next((data / "train" / "facial-attributes" / role / "session0")
                                                      .glob("*.npy")).stem)
        label = np.load(clip.path(data, "facial-attributes"))
        labels.append(label)
        mask = np.ones(label.shape, bool)
        mask[:, au1] = False
        seen = label.copy()
        seen[:, au12] = -seen[:, au12]  # read backwards
        write_perceived(perceived, clip, seen, mask)
    result = compare_split(data, perceived, "train")
    channels = result["channels"]
    assert result["recordings"] == 2
    assert channels["AU2"]["r"] == pytest.approx(1.0) and channels["AU12"]["r"] == pytest.approx(-1.0)
    assert channels["AU1"]["r"] is None and channels["AU1"]["measured"] == 0.0
    au2 = schema.index_of("AU2")
    assert channels["AU2"]["label_max"] == pytest.approx(max(float(label[:, au2].max()) for label in labels), abs=1e-3)
    assert "| AU12 | -1.000 |" in format_table(result)


def test_int8_calibration_reads_the_speakers_the_model_was_trained_on(tmp_path):
    """INT8 ranges are set by the calibration windows: for a model trained on perceived speakers in the robot's
    direction they are the perceived speakers (not the labels, not the listeners the other direction would add)."""
    from types import SimpleNamespace

    from react_ros.data.synth import SynthConfig, generate
    from react_ros.export.quantize import _data_windows
    from react_ros.model.card import ModelCard
    from react_ros.model.config import ModelConfig

    data, tree = tmp_path / "data", tmp_path / "perceived"
    generate(SynthConfig(out=data, sessions=1, clips_per_session=1, min_seconds=4, max_seconds=4, video=False,
                         split_fractions=(1.0, 0.0, 0.0)), progress=False)
    au12 = schema.AU_NAMES.index("AU12")
    for role, value in (("speaker", 0.9), ("listener", 0.1)):
        stem = next((data / "train" / "facial-attributes" / role / "session0").glob("*.npy")).stem
        clip = ClipId("train", role, "session0", stem)
        seen = np.load(clip.path(data, "facial-attributes")).copy()
        seen[:, au12] = value
        write_perceived(tree, clip, seen, np.ones(seen.shape, bool))
    model = SimpleNamespace(config=ModelConfig(window=8, context=32, past=8))
    card = ModelCard(extra={"speaker_attributes": "perceived", "train_config": {"directions": "speaker->listener"}})

    windows, source = _data_windows(model, data, 64, 0, card, tree)
    shown = windows["visual"][windows["visual_present"] > 0]
    assert len(shown) > 0 and np.allclose(shown[:, au12], 0.9)  # the perceived speaker only
    assert "perceived" in source and "speaker->listener" in source

    assert ModelCard(extra={"train_config": None}).directions == "both"  # cards whose training did not say
    labelled, source = _data_windows(model, data, 64, 0, ModelCard())  # a model trained on labels, both ways
    shown = labelled["visual"][labelled["visual_present"] > 0]
    assert not np.allclose(shown[:, au12], 0.9) and "labelled" in source

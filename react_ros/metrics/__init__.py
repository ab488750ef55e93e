"""The REACT challenge metrics, exact and fast (numba), plus the trivial reference predictions.

    from react_ros.metrics import evaluate
    scores = evaluate(pred, gts, speaker)  # pred (N, K, L, 25), gts (N, G, L, 25), speaker (N, L, 25)

Each metric's exact definition is in its module's docstring: ccc (FRCorr), dtw and frdist (FRDist),
diversity (FRDiv, FRVar, FRDvs), synchrony (FRSyn), realism (Frechet distances, the stand-in for FRRea),
references (GT, Random, Mime, MeanSeq, MeanFr).
"""
from react_ros.metrics.ccc import ccc, ccc_matrix, frcorr, frcorr_scores
from react_ros.metrics.diversity import frdiv, frdvs, frvar, pairwise_sq_sum, s_mse
from react_ros.metrics.dtw import dtw, grouped_dtw_min
from react_ros.metrics.evaluate import evaluate, evaluate_ragged
from react_ros.metrics.frdist import FRDIST_GROUPS, FRDIST_WEIGHTS, frdist, frdist_input, frdist_scores
from react_ros.metrics.realism import delta_fd, frame_fd, frechet_distance
from react_ros.metrics.references import (
    delayed_mimicry_reference,
    gt_reference,
    meanfr_reference,
    meanseq_reference,
    mime_reference,
    random_reference,
)
from react_ros.metrics.resample import resample_to_length
from react_ros.metrics.synchrony import best_lag, frsyn, frsyn_scores, lag_correlations, max_lag_frames

__all__ = [
    "FRDIST_GROUPS", "FRDIST_WEIGHTS", "best_lag", "ccc", "ccc_matrix", "delayed_mimicry_reference", "delta_fd", "dtw", "evaluate",
    "evaluate_ragged", "frame_fd", "frcorr", "frcorr_scores", "frdist", "frdist_input", "frdist_scores",
    "frdiv", "frdvs", "frechet_distance", "frsyn", "frsyn_scores", "frvar", "grouped_dtw_min", "gt_reference",
    "lag_correlations", "max_lag_frames", "meanfr_reference", "meanseq_reference", "mime_reference",
    "pairwise_sq_sum", "random_reference", "resample_to_length", "s_mse",
]

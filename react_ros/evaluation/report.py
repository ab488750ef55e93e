"""Reports a person reads: a JSON and a Markdown table of every metric for every method, and a plot of
predicted vs real attributes over time."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from react_ros import schema

# (key in the metrics dict, column title, better direction)
COLUMNS = [
    ("FRCorr", "FRCorr ↑ (sum over samples)", "high"),
    ("FRCorr_per_pred", "FRCorr/pred ↑", "high"),
    ("FRDist", "FRDist ↓", "low"),
    ("FRDiv", "FRDiv ↑", "high"),
    ("FRVar", "FRVar ↑", "high"),
    ("FRDvs", "FRDvs ↑", "high"),
    ("FRSyn", "FRSyn ↓ (frames)", "low"),
    ("FRSyn_lag_median", "median lag (frames)", "none"),
    ("FD_frame", "FD frame ↓", "low"),
    ("FD_delta", "FD Δ ↓", "low"),
    ("FD_seen", "FD seen ↓", "low"),  # on the human-style face's landmarks (evaluation/seen_realism.py)
    ("FD_seen_delta", "FD seen Δ ↓", "low"),
]


def markdown_table(results: dict[str, dict[str, float]]) -> str:
    present = [c for c in COLUMNS if any(c[0] in r for r in results.values())]
    lines = ["| method | " + " | ".join(title for _, title, _ in present) + " |",
             "| --- |" + " ---: |" * len(present)]
    for name, metrics in results.items():
        cells = [_format(metrics.get(key)) for key, _, _ in present]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _format(value) -> str:
    if value is None or not np.isfinite(float(value)):
        return "–"  # missing, or undefined (FRDiv of a single reaction)
    value = float(value)
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def write_report(out: Path, results: dict[str, dict[str, float]], meta: dict, title: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "metrics.json"
    # undefined values (NaN) become null: strict JSON, readable by any tool
    clean = {name: {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}
             for name, metrics in results.items()}
    json_path.write_text(json.dumps({"meta": meta, "results": clean}, indent=2, default=float, allow_nan=False))
    md_path = out / "metrics.md"
    notes = "\n".join(f"- {k}: {v}" for k, v in meta.items() if not isinstance(v, (dict, list)))
    md_path.write_text(f"# {title}\n\n{markdown_table(results)}\n{notes}\n")
    return json_path, md_path


def plot_attributes_over_time(path: Path, speaker: np.ndarray, real: np.ndarray, generated: np.ndarray,
                              title: str, names: tuple[str, ...] = ("AU12", "AU1", "AU4", "valence", "arousal",
                                                                     "Happy"), fps: float = schema.FPS) -> Path:
    """One panel per attribute: speaker, real listener and every generated sample over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    generated = np.asarray(generated)
    times = np.arange(len(real)) / fps
    fig, axes = plt.subplots(len(names), 1, figsize=(11, 1.7 * len(names)), sharex=True)
    for ax, name in zip(axes, names, strict=True):
        i = schema.index_of(name)
        for k, sample in enumerate(generated):
            ax.plot(times, sample[:, i], color="tab:orange", alpha=0.35, lw=1,
                    label="generated" if k == 0 else None)
        ax.plot(times, speaker[:, i], color="tab:blue", lw=1.2, label="speaker")
        ax.plot(times, real[:, i], color="black", lw=1.5, label="real listener")
        ax.set_ylabel(name)
        ax.set_ylim(schema.LOWER[i] - 0.05, schema.UPPER[i] + 0.05)
    axes[0].legend(loc="upper right", ncol=3, fontsize=8)
    axes[0].set_title(title)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_lag_histograms(path: Path, lags: dict[str, np.ndarray], fps: float = schema.FPS) -> Path:
    """Where reactions sit in time: the histogram of each prediction's best lag against the speaker (the lag
    FRSyn averages as |lag|), one row per method. A method that always reacts ~0.8 s late and one whose lags
    scatter over the whole +-2 s can have the same FRSyn; this figure tells them apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(lags), 1, figsize=(8, 1.6 * len(lags) + 0.6), sharex=True, squeeze=False)
    top = max(int(np.abs(np.concatenate(list(lags.values()))).max()), 1)
    bins = np.linspace(-top - 0.5, top + 0.5, 25)
    for ax, (name, values) in zip(axes[:, 0], lags.items(), strict=True):
        ax.hist(values, bins=bins, color="tab:orange" if name.startswith("model") else "tab:gray")
        ax.axvline(float(np.median(values)), color="black", lw=1)
        ax.set_ylabel("count")
        ax.set_title(f"{name}: median {np.median(values):+.0f} frames, mean |lag| {np.abs(values).mean():.1f}",
                     fontsize=9)
    axes[-1, 0].set_xlabel(f"best lag (frames at {fps:g} fps; > 0: after the speaker)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path

"""`react-ros analyze`: per participant and condition, how the robot's reactions relate to the participant.

Input: MCAP recordings of `react-ros study run` (one or more segments per condition; segments of one
participant's condition are joined in order). Per (participant, condition), with r the robot's reactions
(/react_ros/reaction) and s the participant's attributes (/react_ros/features/speaker), both (L, 25):

    FRCorr_mime, FRDist_mime   react_ros.metrics FRCorr / FRDist of r against the Mime reference (s delayed
                               by `mime_delay_s`) as the one "ground truth": how much the robot mirrors
    FRDist_neutral             FRDist of r against a constant neutral face: how expressive it is
                               (FRCorr against a constant is 0 by definition, so it is not reported)
    lag_median, lag_iqr        the synchrony lag distribution: the best lag (frames, > 0: the robot follows)
                               of each `window_s` window (hop half a window) against the participant
                               (react_ros.metrics.best_lag, 2 s search); windows where r is constant have no lag
    variance_mean              FRVar per window, averaged (how much the face moves)
    window_diversity           S-MSE among the session's non-overlapping windows (does the robot repeat itself)
    face_present_ratio         frames with the participant's face found
    latency_median_ms, _p99_ms the robot's session per frame (front end, model, condition, motion limits)
    operator_switches          switches the operator made during the condition
    scheduled, label           the condition the order scheduled, and its coded label; `condition` is what ran:
                               frames an operator switched to another source (hold neutral, another
                               condition) form their own row under that source's name (overrides are
                               analysed as what ran)
    marker_<key>, notes        event markers and notes the operator set during the condition
    q_<id>                     the participant's questionnaire answers after the condition (state.json)

Output in `out`: sessions.csv and sessions.parquet (the tidy table: one row per participant x condition;
Parquet needs pyarrow, the `study` extra), windows.csv (one row per window: lag and variance over time),
comparisons.csv (within-subject: paired t-test, Wilcoxon, Cohen's d_z per measure and pair of conditions,
study/compare.py), report.md with figures (matplotlib, PNG).
"""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from react_ros import schema

__all__ = ["ConditionRecording", "load_recordings", "analyze", "session_metrics"]

COLUMNS = ["participant", "condition", "condition_index", "kind", "row", "frames", "seconds", "segments",
           "FRCorr_mime", "FRDist_mime", "FRDist_neutral", "lag_median", "lag_iqr", "lag_windows",
           "variance_mean", "window_diversity", "face_present_ratio", "latency_median_ms", "latency_p99_ms",
           "operator_switches"]


@dataclass
class ConditionRecording:
    participant: str
    condition: str
    condition_index: int
    kind: str
    row: int
    fps: float
    reactions: np.ndarray  # (L, 25)
    speaker: np.ndarray  # (L, 25)
    frame_info: np.ndarray  # (L, 5): clip frame, condition frame, face present, audio present, latency s
    events: list[dict] = field(default_factory=list)
    segments: list[Path] = field(default_factory=list)
    scheduled: str = ""  # the condition the order scheduled ("" = `condition`)
    label: str = ""
    answers: dict = field(default_factory=dict)  # the questionnaire after the condition


def _find(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(p.rglob("*.mcap"))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no recording at {p}")
    return out


def load_recordings(paths) -> list[ConditionRecording]:
    """Read study recordings (files or folders), joining each participant's condition segments in order."""
    from react_ros.recording import read_messages, read_metadata
    from react_ros.study.runner import EVENT_TOPIC, FRAME_TOPIC, REACTION_TOPIC, SPEAKER_TOPIC

    groups: dict[tuple, list] = defaultdict(list)
    for path in _find(paths):
        meta = read_metadata(path)
        session = meta.get("session", {})
        if "participant_id" not in session or "condition_index" not in session:
            continue  # not a study recording (e.g. a `react-ros run` session)
        key = (session["participant_id"], session["condition"], int(session["condition_index"]))
        groups[key].append((int(session.get("segment", 1)), path, meta))
    recordings = []
    for (participant, condition, index), segments in sorted(groups.items()):
        segments.sort(key=lambda s: s[0])
        series: dict[str, list] = {REACTION_TOPIC: [], SPEAKER_TOPIC: [], FRAME_TOPIC: []}
        events = []
        for _, path, _ in segments:
            for m in read_messages(path, topics=[*series, EVENT_TOPIC]):
                if m.topic == EVENT_TOPIC:
                    events.append(json.loads(m.message.data))
                else:
                    series[m.topic].append(np.asarray(m.message.data, np.float32))
        n = min(len(v) for v in series.values())  # a cut-short segment may end mid-frame
        if n == 0:
            continue
        meta = segments[0][2]
        spec = meta.get("condition", {})
        session = meta["session"]
        reactions, speaker = np.stack(series[REACTION_TOPIC][:n]), np.stack(series[SPEAKER_TOPIC][:n])
        frames = np.stack(series[FRAME_TOPIC][:n])
        sources = json.loads(session.get("sources", "[]"))
        ran = ([sources[int(i)] for i in frames[:, 5]] if frames.shape[1] > 5 and sources
               else [condition] * n)  # older recordings: the scheduled condition throughout
        answers = _answers(segments[0][1].parent, participant, condition)
        for name in dict.fromkeys([condition, *ran]):  # the scheduled condition first, then the overrides
            mask = np.array([r == name for r in ran])
            if not mask.any():
                continue
            main = name == condition
            recordings.append(ConditionRecording(
                participant, name, index, str(spec.get("kind", "")) if main else "override",
                int(session.get("row", -1)), float(session.get("fps", schema.FPS)), reactions[mask], speaker[mask],
                frames[mask], events if main else [], [s[1] for s in segments], condition,
                str(session.get("label", "")), answers if main else {}))
    return recordings


def _answers(directory: Path, participant: str, condition: str) -> dict:
    """The participant's questionnaire answers after `condition` (the runner's state.json beside the recording)."""
    path = directory / "state.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if state.get("participant") != participant:
        return {}
    return dict((state.get("answers") or {}).get(condition) or {})


def _windows(length: int, size: int, hop: int) -> list[tuple[int, int]]:
    if length < size:
        return [(0, length)] if length >= 4 else []
    return [(a, a + size) for a in range(0, length - size + 1, hop)]


def session_metrics(rec: ConditionRecording, window_s: float = 4.0, mime_delay_s: float = 0.0
                    ) -> tuple[dict, list[dict]]:
    """The row of sessions.csv and the rows of windows.csv for one participant x condition."""
    from react_ros.metrics import best_lag, frcorr, frdist, max_lag_frames, s_mse

    r, s = rec.reactions.astype(np.float32), rec.speaker.astype(np.float32)
    length = len(r)
    delay = int(round(mime_delay_s * rec.fps))
    mime = np.concatenate([np.repeat(schema.neutral_frame()[None], min(delay, length), 0), s[: length - delay]])
    neutral = np.repeat(schema.neutral_frame()[None], length, 0)
    size = max(4, int(round(window_s * rec.fps)))
    max_lag = max_lag_frames(rec.fps, 2.0)
    window_rows, lags = [], []
    for a, b in _windows(length, size, max(1, size // 2)):
        moving = float(np.var(r[a:b], axis=0).max()) > 1e-10 and float(np.var(s[a:b], axis=0).max()) > 1e-10
        lag = best_lag(r[a:b], s[a:b], max_lag) if moving else None
        if lag is not None:
            lags.append(lag)
        window_rows.append({"participant": rec.participant, "condition": rec.condition, "start_s": a / rec.fps,
                            "lag_frames": "" if lag is None else lag,
                            "variance": float(np.var(r[a:b], axis=0, ddof=1).mean())})
    blocks = [r[a:a + size] for a in range(0, length - size + 1, size)]
    latency = rec.frame_info[:, 4] * 1000.0
    operator = [e for e in rec.events if e.get("type") == "switch" and e.get("reason") == "operator"]
    row = {
        "participant": rec.participant, "condition": rec.condition, "condition_index": rec.condition_index,
        "kind": rec.kind, "row": rec.row, "frames": length, "seconds": round(length / rec.fps, 3),
        "segments": len(rec.segments),
        "FRCorr_mime": frcorr(r[None, None], mime[None, None]),
        "FRDist_mime": frdist(r[None, None], mime[None, None], progress=False),
        "FRDist_neutral": frdist(r[None, None], neutral[None, None], progress=False),
        "lag_median": float(np.median(lags)) if lags else math.nan,
        "lag_iqr": float(np.subtract(*np.percentile(lags, [75, 25]))) if lags else math.nan,
        "lag_windows": len(lags),
        "variance_mean": float(np.mean([w["variance"] for w in window_rows])) if window_rows else math.nan,
        "window_diversity": s_mse(np.stack(blocks)) if len(blocks) >= 2 else math.nan,
        "face_present_ratio": float(rec.frame_info[:, 2].mean()),
        "latency_median_ms": float(np.median(latency)),
        "latency_p99_ms": float(np.percentile(latency, 99)),
        "operator_switches": len(operator),
        "scheduled": rec.scheduled or rec.condition, "label": rec.label,
        "notes": sum(1 for e in rec.events if e.get("type") == "note"),
    }
    for event in rec.events:
        if event.get("type") == "marker":
            row[f"marker_{event['key']}"] = row.get(f"marker_{event['key']}", 0) + 1
    row.update({f"q_{key}": value for key, value in rec.answers.items()})
    return row, window_rows


@dataclass
class AnalysisResult:
    rows: list[dict]
    windows: list[dict]
    table: Path
    window_table: Path
    report: Path
    figures: list[Path]
    comparisons: list[dict] = field(default_factory=list)
    parquet: list[Path] = field(default_factory=list)


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def analyze(paths, out: str | Path, window_s: float = 4.0, mime_delay_s: float = 0.0) -> AnalysisResult:
    recordings = load_recordings(paths)
    if not recordings:
        raise ValueError(f"no study recordings (MCAP with participant and condition metadata) in {list(paths)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, windows = [], []
    for rec in recordings:
        row, window_rows = session_metrics(rec, window_s, mime_delay_s)
        rows.append(row)
        windows += window_rows
    from react_ros.study.compare import COMPARISON_COLUMNS, paired_comparisons

    markers = sorted({k for r in rows for k in r if k.startswith("marker_")})
    for row in rows:  # a marker nobody set in a condition was set 0 times there
        row.update({k: row.get(k, 0) for k in markers})
    questions = sorted({k for r in rows for k in r if k.startswith("q_")})
    columns = COLUMNS + ["scheduled", "label", "notes"] + markers + questions
    table, window_table = out / "sessions.csv", out / "windows.csv"
    _write_csv(table, rows, columns)
    _write_csv(window_table, windows, ["participant", "condition", "start_s", "lag_frames", "variance"])
    measures = MEASURES + markers + [q for q in questions if all(isinstance(r.get(q, 0), int | float) for r in rows)]
    comparisons = paired_comparisons(rows, measures)
    _write_csv(out / "comparisons.csv", comparisons, COMPARISON_COLUMNS)
    parquet = _write_parquet(out, {"sessions": (rows, columns), "comparisons": (comparisons, COMPARISON_COLUMNS)})
    figures = _figures(rows, windows, out)
    report = out / "report.md"
    report.write_text(_report(rows, figures, [str(p) for p in paths], window_s, mime_delay_s, comparisons))
    return AnalysisResult(rows, windows, table, window_table, report, figures, comparisons, parquet)


MEASURES = ["FRCorr_mime", "FRDist_mime", "FRDist_neutral", "lag_median", "variance_mean", "window_diversity",
            "face_present_ratio", "latency_median_ms"]


def _write_parquet(out: Path, tables: dict[str, tuple[list[dict], list[str]]]) -> list[Path]:
    """name.parquet per table when pyarrow is installed (the `study` extra); [] otherwise."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return []
    written = []
    for name, (rows, columns) in tables.items():
        data = {c: [r.get(c) for r in rows] for c in columns}
        for c, values in data.items():  # one type per column: numbers as float when any is a float
            if any(isinstance(v, float) for v in values) and all(isinstance(v, int | float) or v is None
                                                                 for v in values):
                data[c] = [None if v is None else float(v) for v in values]
            elif not all(isinstance(v, int | float) or v is None for v in values):
                data[c] = [None if v is None else str(v) for v in values]
        path = out / f"{name}.parquet"
        pq.write_table(pa.table(data), path)
        written.append(path)
    return written


def _figures(rows: list[dict], windows: list[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    figures = []
    metrics = [("FRCorr_mime", "FRCorr vs Mime (higher: mirrors more)"), ("FRDist_mime", "FRDist vs Mime"),
               ("FRDist_neutral", "FRDist vs neutral (higher: more expressive)"),
               ("window_diversity", "diversity across windows (S-MSE)"),
               ("face_present_ratio", "face-present ratio"), ("latency_median_ms", "latency median (ms)")]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (key, title) in zip(axes.flat, metrics, strict=True):
        for i, c in enumerate(conditions):
            values = [r[key] for r in rows if r["condition"] == c and not _nan(r[key])]
            ax.scatter([i] * len(values), values, s=18, alpha=0.8)
            if values:
                ax.hlines(np.mean(values), i - 0.3, i + 0.3, color="k")
        ax.set_xticks(range(len(conditions)), conditions, rotation=20)
        ax.set_title(title, fontsize=9)
    fig.suptitle("per condition: one point per participant, bar = mean")
    fig.tight_layout()
    figures.append(out / "conditions.png")
    fig.savefig(figures[-1], dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for c in conditions:
        lags = [w["lag_frames"] for w in windows if w["condition"] == c and w["lag_frames"] != ""]
        if lags:
            axes[0].hist(lags, bins=np.arange(-60.5, 61.5, 5), alpha=0.5, label=c)
    axes[0].set_xlabel("best lag (frames; > 0: the robot follows the participant)")
    axes[0].set_title("synchrony lag distribution (per window)")
    axes[0].legend(fontsize=8)
    colours = {c: f"C{i % 10}" for i, c in enumerate(conditions)}
    labelled: set[str] = set()
    for key in dict.fromkeys((w["participant"], w["condition"]) for w in windows):  # one line per participant
        points = [(w["start_s"], w["variance"]) for w in windows if (w["participant"], w["condition"]) == key]
        axes[1].plot(*zip(*points, strict=True), marker=".", color=colours[key[1]], alpha=0.7,
                     label=None if key[1] in labelled else key[1])
        labelled.add(key[1])
    axes[1].set_xlabel("time in condition (s)")
    axes[1].set_title("movement over the session (variance per window)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    figures.append(out / "time.png")
    fig.savefig(figures[-1], dpi=90)
    plt.close(fig)
    return figures


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def _report(rows: list[dict], figures: list[Path], sources: list[str], window_s: float, mime_delay_s: float,
            comparisons: list[dict] = ()) -> str:
    keys = ["FRCorr_mime", "FRDist_mime", "FRDist_neutral", "lag_median", "variance_mean", "window_diversity",
            "face_present_ratio", "latency_median_ms"]
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    participants = sorted({r["participant"] for r in rows})
    lines = [
        "# Study analysis", "",
        f"{len(participants)} participants, {len(conditions)} conditions, {len(rows)} participant x condition "
        f"recordings, from {', '.join(sources)}. Made by `react-ros analyze` (windows of {window_s:g} s; Mime "
        f"reference delayed {mime_delay_s:g} s). Metric definitions: react_ros/study/analysis.py.", "",
        "## Per condition (mean over participants)", "",
        "| condition | n | " + " | ".join(keys) + " |", "| --- | --- | " + " | ".join("---" for _ in keys) + " |",
    ]
    for c in conditions:
        sub = [r for r in rows if r["condition"] == c]
        means = [np.nanmean([r[k] for r in sub]) if any(not _nan(r[k]) for r in sub) else math.nan for k in keys]
        lines.append(f"| {c} | {len(sub)} | " + " | ".join(_fmt(float(m)) for m in means) + " |")
    lines += ["", "## Per participant and condition", "",
              "| participant | order | condition | frames | segments | " + " | ".join(keys) + " |",
              "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in keys) + " |"]
    for r in sorted(rows, key=lambda r: (r["participant"], r["condition_index"])):
        lines.append(f"| {r['participant']} | {r['condition_index'] + 1} | {r['condition']} | {r['frames']} | "
                     f"{r['segments']} | " + " | ".join(_fmt(r[k]) for k in keys) + " |")
    if comparisons:
        lines += ["", "## Within-subject comparisons", "",
                  "Paired over the participants who have both conditions (comparisons.csv has every measure).", "",
                  "| measure | a | b | n | mean a - b | t | p (t) | p (Wilcoxon) | d_z | note |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in comparisons:
            lines.append(f"| {c['measure']} | {c['condition_a']} | {c['condition_b']} | {c['n']} | "
                         f"{_fmt(c['mean_diff'])} | {_fmt(c['t'])} | {_fmt(c['p_t'])} | {_fmt(c['p_wilcoxon'])} | "
                         f"{_fmt(c['d_z'])} | {c['note']} |")
    lines += ["", "## Figures", ""] + [f"![{f.stem}]({f.name})" for f in figures]
    lines += ["", "The full table (one row per participant x condition) is sessions.csv; windows.csv has one row "
              "per analysis window.", ""]
    return "\n".join(lines)

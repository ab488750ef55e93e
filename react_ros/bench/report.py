"""The benchmark report: targets, JSON and Markdown tables (written into docs/performance.md between markers)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from react_ros.bench.repeats import verdict

BEGIN = "<!-- react-ros bench: generated section, do not edit by hand -->"
MET = {True: "yes", False: "**no**", None: "not measured", "unclear": "*unclear*"}
END = "<!-- react-ros bench: end of generated section -->"


def _setting(report: dict, backend: str, window: int, steps: int, samples: int = 1) -> dict | None:
    for row in report.get("backends", {}).get(backend, {}).get("settings", []):
        if (row["window"], row["steps"], row["samples"]) == (window, steps, samples):
            return row
    return None


def _ms(row: dict | None) -> float | None:
    return None if row is None else row["window_ms"]["median_ms"]


def targets(report: dict) -> list[dict]:
    """The issue's targets, each with the measured value and met / not met / not measured."""
    plan = report["plan"]
    w, s = plan["default_window"], plan["default_steps"]
    rows = []

    def add(name, target, value, ok, note="", spread=None):
        rows.append({"target": name, "goal": target, "value": value, "spread": spread,
                     "met": ok if ok in (None, "unclear") else bool(ok), "note": note})

    def add_ratio(name, goal, stat, numerator_ms, denominator_ms, low, note=""):
        """From the interleaved rounds when the report has them, else the two backends' own runs (older reports)."""
        if stat and stat.get("median") is not None:
            add(name, goal, stat["median"], verdict(stat, low), (note + "; " if note else "")
                + f"median of {stat['n']} interleaved rounds", [stat["min"], stat["max"]])
            return
        value = round(numerator_ms / denominator_ms, 2) if numerator_ms and denominator_ms else None
        add(name, goal, value, None if value is None else value >= low if goal.startswith(">=") else value > low,
            note)

    default = _setting(report, "ort-fp32", w, s)
    value = default["rtf_with_front_end"] if default else None
    add("real-time factor, default setting (ORT fp32, front end included)", "< 0.25", value,
        None if value is None else value < 0.25, f"w={w}, dpm {s} steps, 1 sample, {plan['threads']} thread(s)")
    ros = (report.get("ros") or {}).get("ort-fp32") or {}
    e2e = (ros.get("end_to_end") or {}).get("p99_ms")
    add("end-to-end p99 through ROS 2 (ORT fp32)", "< 50 ms", e2e, None if e2e is None else e2e < 50,
        f"median {_fmt((ros.get('end_to_end') or {}).get('median_ms'))} ms" if e2e is not None else "")
    jitter = ros.get("command_jitter_std_ms")
    note = ""
    if jitter is not None:
        note = (f"camera timer's own jitter {_fmt(ros.get('camera_jitter_std_ms'))} ms, added by the pipeline "
                f"{_fmt(ros.get('added_jitter_std_ms'))} ms; load average {_fmt(ros.get('load_average_before'))}")
    add("command jitter (std of command intervals, ORT fp32)", "< 5 ms", jitter, None if jitter is None else jitter < 5,
        note)
    for case in (report.get("ros_camera") or {}).get("cases", []):  # camera-sized frames (bench/ros_camera.py)
        pct = case["answered_pct"]
        add(f"frames answered through ROS, {case['size']} {case['reliability']}", ">= 99 %", pct, pct >= 99,
            f"end to end p99 {_fmt((case.get('end_to_end') or {}).get('p99_ms'))} ms")
    ratios = (report.get("ratios") or {}).get("ratios") or {}
    torch_ms, ort_ms = _ms(_setting(report, "torch", w, s)), _ms(default)
    add_ratio("ONNX Runtime vs torch eager (window, default setting)", ">= 2x", ratios.get("ort_vs_torch"),
              torch_ms, ort_ms, low=2.0)
    for name, key in (("ort-int8cpu", "int8cpu_vs_fp32"), ("ort-int8", "int8_vs_fp32")):
        label = "dynamic, CPU variant" if name == "ort-int8cpu" else "static QDQ, the TensorRT file"
        add_ratio(f"INT8 faster than FP32 on ORT ({label})", "> 1x", ratios.get(key), ort_ms,
                  _ms(_setting(report, name, w, s)), low=1.0, note="speed-up over fp32, 1 sample")
        int8_k = _ms(_setting(report, name, w, s, 10))
        fp32_k = _ms(_setting(report, "ort-fp32", w, s, 10))
        if int8_k and fp32_k:
            rows[-1]["note"] += f"; {fp32_k / int8_k:.2f}x at 10 samples (one run each)"
    stream = report.get("long_stream")
    if stream:
        rss = stream["rss_ratio_last_vs_first"]
        interleaved = (stream.get("late_vs_fresh") or {}).get("ratio")
        if interleaved:  # the late generator vs a fresh one, round by round
            met = verdict(interleaved, 0.9, 1.1)
            value = f"time x{_spread(interleaved)}, RSS x{rss}"
            name = "flat cost over a long stream (after it vs a fresh generator, interleaved)"
        else:  # reports before the interleaved rounds: last vs first 10 % of the stream
            ratio = stream["window_time_ratio_last_vs_first"]
            met, value = abs(ratio - 1) <= 0.10, f"time x{ratio}, RSS x{rss}"
            name = "flat cost over a long stream (last vs first 10 % of windows)"
        if rss > 1.10 or not stream["context_bounded"]:
            met = False
        add(name, "within 10 %", value, met, f"{stream['minutes_simulated']} simulated minutes")
    else:
        add("flat cost over a long stream", "within 10 %", None, None)
    return rows


def _spread(stat: dict) -> str:
    """"median (min–max)" of a spread."""
    return f"{_fmt(stat['median'])} ({_fmt(stat['min'])}–{_fmt(stat['max'])})"


def _measured(target: dict) -> str:
    value, spread = target["value"], target.get("spread")
    if spread:
        return f"{_fmt(value)} ({_fmt(spread[0])}–{_fmt(spread[1])})"
    return value if isinstance(value, str) else _fmt(value)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _med_p99(stat: dict | None) -> str:
    if not stat or stat.get("median_ms") is None:
        return "–"
    return f"{_fmt(stat['median_ms'])} / {_fmt(stat['p99_ms'])}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines + [""]


def markdown(report: dict, command: str) -> str:
    plan, m = report["plan"], report["machine"]
    w, s = plan["default_window"], plan["default_steps"]
    out = [BEGIN, "", f"Command: `{command}` ({report['seconds']:.0f} s). Machine: {m['cpu']}, {m['cpus']} CPUs, "
           f"load average at start {_fmt(m['load_average_at_start'] and m['load_average_at_start'][0])}; "
           f"onnxruntime {m['onnxruntime']}, torch {m['torch']}, Python {m['python']}. "
           f"{plan['threads']} inference thread(s). Timings are medians / p99 in ms.", ""]
    if plan.get("quick"):
        out += ["**Quick run (--quick): a small subset, for tests; not the reference numbers.**", ""]
    out += ["### Targets (issue #7)", ""]
    out += _table(["target", "goal", "measured", "met", "note"],
                  [[t["target"], t["goal"], _measured(t), MET[t["met"]], t["note"]] for t in targets(report)])
    if report.get("ratios") or (report.get("long_stream") or {}).get("late_vs_fresh"):
        out += ["Ratios are medians over interleaved rounds (each round times every backend it compares, in a "
                "rotating order; the long stream's generator takes turns with a fresh one) with their min–max "
                "in brackets. A target is **no** only when its whole range misses the goal, *unclear* when the "
                "range straddles it.", ""]
    out += [f"### Per-stage latency (w={w}, 1 sample; window = condition + {s} dpm steps + decode)", ""]
    rows = []
    for name, b in report["backends"].items():
        fe = b.get("front_end") or {}
        g = b["graphs"].get(f"w{w}_k1", {})
        d = _setting(report, name, w, s)
        rows.append([name, _med_p99(fe.get("face_crop")), _med_p99(fe.get("estimator")), _med_p99(fe.get("audio_features")),
                     _med_p99(fe.get("total")), _med_p99(g.get("condition")), _med_p99(g.get("denoise_step")),
                     _med_p99(g.get("decode")), _med_p99(d and d["window_ms"]), d and d["rtf"],
                     d and d["rtf_with_front_end"], b["cpu"]["cpu_per_wall"], b["peak_rss_mb"]])
    out += _table(["backend", "face crop", "estimator", "audio feat.", "front end / frame", "condition",
                   "denoise step", "decode", "window", "RTF", "RTF + front end", "CPU/wall", "peak RSS MB"], rows)
    out += ["RTF = compute per window / (w / 30 s). CPU/wall = process CPU time over wall time while benchmarking "
            "back to back (≈ threads in use); peak RSS of the backend's own process"
            + (" (isolated)." if plan["isolate"] else " (shared process: not isolated)."), ""]
    scene_rows = [[name, front, _med_p99(t), t.get("face_present")]
                  for name, b in report["backends"].items() for front, t in (b.get("scene_front_end") or {}).items()]
    if scene_rows:
        out += ["### Speaker front end per 640x480 camera frame (face part; docs/perception.md)", ""]
        out += _table(["backend", "face_frontend", "median / p99 ms", "face present"], scene_rows)
        out += ["The demo clip's rendered speaker in a 640x480 scene, process_image only (haar: Haar cascade + "
                "estimator on this backend; mesh: BlazeFace + FaceMesh on LiteRT, the same on every backend). "
                "Target (issue 14): mesh <= 8 ms median on one core.", ""]
    for samples in plan["samples"]:
        out += [f"### Window latency ms (RTF, generator only) per setting, {samples} sample(s), dpm sampler", ""]
        rows = []
        for name in report["backends"]:
            for window in plan["windows"]:
                cells = []
                for steps in plan["steps"]:
                    r = _setting(report, name, window, steps, samples)
                    cells.append("–" if r is None else f"{_fmt(r['window_ms']['median_ms'])} ({_fmt(r['rtf'], 2)})")
                random_init = report["models"].get(str(window), {}).get("random_init")
                rows.append([name, f"{window}{'*' if random_init else ''}", *cells])
        out += _table(["backend", "w", *[f"{k} steps" for k in plan["steps"]]], rows)
    out += ["\\* random-init bundle with the demo model's config and this window (speed depends on shapes only).", ""]
    tuning = report.get("ort_tuning")
    if tuning:
        out += ["### ONNX Runtime session options (ORT fp32, default setting)", ""]
        out += _table(["threads", "spinning", "graph optimisation", "samples", "window", "CPU/wall"],
                      [[r["threads"], "on" if r["spinning"] else "off", r["optimization"], r["samples"],
                        _med_p99(r["window_ms"]), r["cpu"]["cpu_per_wall"]] for r in tuning])
    unrolled = [(name, r) for name, b in report["backends"].items() for r in b.get("unrolled", [])]
    if unrolled:
        out += ["### Unrolled sampler graph vs per-step calls (w=8, 1 sample)", ""]
        out += _table(["backend", "sampler", "per-step calls", "one unrolled graph", "unrolled / per-step"],
                      [[n, f"{r['sampler']} {r['steps']}", _med_p99(r["per_step_ms"]), _med_p99(r["unrolled_ms"]),
                        round(r["unrolled_ms"]["median_ms"] / r["per_step_ms"]["median_ms"], 3)] for n, r in unrolled])
    ros = report.get("ros")
    if ros:
        out += ["### End to end through ROS 2 (real time, demo clip, real nodes in one process)", ""]
        rows = []
        for name, r in ros.items():
            if "error" in r:
                rows.append([name, "error: " + r["error"].splitlines()[-1][:120], *[""] * 9])
                continue
            rows.append([name, f"{r['frame_commands']}/{r['frames_published']}", _med_p99(r["end_to_end"]),
                         r["command_jitter_std_ms"], _med_p99(r["command_jitter_vs_period"]),
                         r.get("camera_jitter_std_ms"), r.get("added_jitter_std_ms"),
                         (r.get("cpu") or {}).get("cpu_per_wall"), r["peak_rss_mb"], r.get("dropped_frames"),
                         r.get("load_average_before")])
        out += _table(["backend", "commands/frames", "end to end", "command jitter std", "abs(interval − 33.3)",
                       "camera jitter std", "added by pipeline std", "CPU/wall", "peak RSS MB", "frames lost",
                       "load avg"], rows)
        out += ["All in ms. Commands can only be as regular as the camera frames that drive them: "
                "'camera jitter' is the camera node's timer, 'added by pipeline' the std of the change in "
                "end-to-end latency from frame to frame. 'load avg' = 1-minute load average when the run "
                "started (the machine's cores count).", ""]
    camera = report.get("ros_camera")
    if camera:
        from react_ros.bench.ros_camera import table

        out += ["### Camera-sized frames through ROS 2 (reaction node, real front end, 30 fps)", ""]
        out += [f"error: {camera['error'].splitlines()[-1][:200]}" if "error" in camera else table(camera), ""]
        if "error" not in camera:
            out += [f"{camera['mode']}; backend {camera['backend']}; FASTDDS_BUILTIN_TRANSPORTS "
                    f"{camera['transports']}; load average {_fmt(camera.get('load_average_before'))}. 'answered' = "
                    "frames whose stamp came back on a joint command; the reaction node subscribes with the "
                    "publisher's reliability.", ""]
    stream = report.get("long_stream")
    if stream:
        out += [f"### Long stream ({stream['minutes_simulated']} simulated minutes, {stream['frames']} frames, "
                f"{stream['backend']}, default setting)", ""]
        out += _table(["windows", "wall s", "x real time", "window first 10 %", "window last 10 %", "ratio",
                       "RSS first 10 % MB", "RSS last 10 % MB", "context frames", "CPU/wall"],
                      [[stream["windows"], stream["wall_s"], stream["speed_vs_real_time"],
                        stream["first_10pct_window_median_ms"], stream["last_10pct_window_median_ms"],
                        stream["window_time_ratio_last_vs_first"], stream["rss_first_10pct_mb"],
                        stream["rss_last_10pct_mb"], "/".join(map(str, stream["context_frames"])),
                        stream["cpu"]["cpu_per_wall"]]])
        out += ["Median ms per window by decile: " + ", ".join(_fmt(v) for v in stream["window_ms_by_decile"]), ""]
    proto = report.get("react_protocol")
    if proto:
        ours = _setting(report, proto["backend"], w, s)
        out += [f"### Comparison: the public REACT online protocol on the same model ({proto['backend']})", ""]
        rows = [[f"ours: w={w}, dpm {s}, fixed context", "any", "–", "–", _ms(ours), ours and ours["rtf"], "measured"]]
        for r in proto["rows"]:
            rows.append(["REACT protocol: w=30, DDIM 50, whole prefix", f"{r['minutes']:g} min ({r['prefix_frames']} fr.)",
                         r["condition_ms"], r["sampler_decode_ms"], r["window_ms"], r["rtf"], r["condition_source"]])
        mean = proto["mean_over_30_min"]
        rows.append(["REACT protocol, mean over 30 min", "0–30 min", "–", "–", mean["window_ms"], mean["rtf"], "fit"])
        out += _table(["setting", "conversation time", "condition ms", "sampler + decode ms", "window ms", "RTF",
                       "condition cost"], rows)
        measured = ", ".join(f"{k} fr.: {v['median_ms']:.3g} ms" for k, v in proto["condition_measured"].items())
        out += [f"Condition encoder measured at prefix lengths {measured}; quadratic fit extrapolates beyond.", ""]
    flops = report.get("flops")
    if flops:
        out += ["### FLOPs and bytes per graph call (batch 1, from the fp32 ONNX graphs)", ""]
        rows = []
        for window, graphs in flops["per_window_model"].items():
            for name, c in graphs.items():
                if name == "estimator" and window != str(w):
                    continue
                rows.append([name, window, f"{c['flops'] / 1e6:.2f}", f"{c['parameters'] / 1e3:.0f}",
                             f"{c['parameter_bytes'] / 2**20:.2f}", f"{c['activation_bytes'] / 2**20:.2f}", c["nodes"],
                             c["matrix_layers"], c["kernels_estimate"]])
        out += _table(["graph", "w", "MFLOPs", "params (k)", "param MB fp32", "activations MB", "ONNX nodes",
                       "matrix layers", "kernels (est.)"], rows)
        g = flops["per_window_model"][str(w)]
        per_window = g["condition"]["flops"] + s * g["denoise"]["flops"] + g["decode"]["flops"]
        out += [f"Per window at the default setting: {per_window / 1e6:.1f} MFLOPs (+ {w} x "
                f"{g.get('estimator', {}).get('flops', 0) / 1e6:.1f} MFLOPs of estimator per frame).", ""]
    jetson = report.get("jetson_estimate")
    if jetson:
        out += [f"### On-paper TensorRT estimate for Jetson Orin (w={jetson['window']}, dpm {jetson['steps']} steps, "
                "batch 1, per-step calls)", ""]
        rows = []
        for device, values in jetson["estimates"].items():
            spec = jetson["devices"][device]
            for precision, e in values.items():
                gm = e["graphs_ms"]
                rows.append([device, precision, f"{spec['int8_tops'] if precision == 'int8' else spec['fp16_tflops']}",
                             spec["bandwidth_gbs"], spec["launch_us"], _fmt(gm.get("condition")), _fmt(gm.get("denoise")),
                             _fmt(gm.get("decode")), _fmt(gm.get("estimator")), e["window_ms"], e["rtf"]])
        out += _table(["device", "precision", "dense peak T(FL)OPS", "GB/s", "launch µs", "condition ms",
                       "denoise ms", "decode ms", "estimator ms", "window ms", "RTF + front end"], rows)
        out += ["Assumptions: " + "; ".join(f"{k}: {v}" for k, v in jetson["assumptions"].items()) + ".", ""]
    out += [END]
    return "\n".join(out)


def write(report: dict, out_dir: str | Path, command: str, doc: str | Path | None = None) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = dict(report, command=command, targets=targets(report))
    json_path = out / "online.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = markdown(report, command)
    md_path = out / "online.md"
    md_path.write_text(text + "\n")
    if doc:
        update_doc(doc, text)
    return json_path, md_path


def update_doc(path: str | Path, section: str) -> None:
    """Replace the generated section of `path` (between BEGIN and END), or append it."""
    path = Path(path)
    current = path.read_text() if path.is_file() else "# Performance\n\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        current = head + section + tail
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(current)

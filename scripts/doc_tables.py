"""Write the tables of figures that README.md and docs/ros.md show, from the result files the measuring
commands write, between markers; `--check` fails when a page is out of date with its results (the tests run
that). Re-run after `react-ros eval`, `react-ros export check` or `react-ros bench` updated a result file:

    python3 scripts/doc_tables.py            # rewrite the generated sections
    python3 scripts/doc_tables.py --check    # exit 1 (and say which) when a section is stale

Sources: docs/results/demo_model*/metrics.json and docs/results/roles36/seed0/metrics.json, docs/results/roles36_perceived/seed0/metrics.json (`react-ros eval`,
see docs/model.md for the commands), docs/results/recipe35_all/families.json (`react-ros recipe`),
docs/parity.json (`react-ros export check`), benchmarks/results/online.json (`react-ros bench`),
benchmarks/results/image_delivery.json (`python3 benchmarks/bench_image_delivery.py`),
benchmarks/results/ros_camera.json (`python -m react_ros.bench.ros_camera`),
benchmarks/results/image_delivery_receiver.json (`python3 benchmarks/bench_image_delivery.py --case ...`, docs/ros.md),
benchmarks/results/ros_camera_outside.json (`python -m react_ros.bench.ros_camera_outside`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN GENERATED: scripts/doc_tables.py {name} -->"
END = "<!-- END GENERATED: scripts/doc_tables.py {name} -->"
MODEL, ONLINE, PAIRED = "model (offline)", "model (online, from video+wav)", "GT, paired only"
REFERENCES = ("Random", "Mime", "MeanSeq", "MeanFr")
MIMICRY = "Delayed mimicry"


def _load(relative: str) -> dict:
    return json.loads((ROOT / relative).read_text())


def _model_row(relative: str, label: str, page: str) -> str:
    r = _load(relative)["results"]
    m, mime = r[MODEL], r["Mime"]
    online = 100 * (r[ONLINE]["FRCorr"] / m["FRCorr"] - 1) if ONLINE in r else None
    beats = all(m["FRCorr"] > r[n]["FRCorr"] and m["FRDist"] < r[n]["FRDist"] for n in REFERENCES if n in r)
    verdict = "beat every trivial reference" if beats else "do not beat every trivial reference"
    text = (f"FRCorr/pred {m['FRCorr_per_pred']:.3f} and FRDist {m['FRDist']:.1f} {verdict} (Mime "
            f"{mime['FRCorr_per_pred']:.3f}, {mime['FRDist']:.1f})")
    if MIMICRY in r:  # the strongest simple baseline: a robot copying its partner after the fitted delay
        d = r[MIMICRY]
        wins = [name for name, better in (("FRCorr", m["FRCorr"] > d["FRCorr"]), ("FRDist", m["FRDist"] < d["FRDist"]))
                if better]
        text += (f"; against delayed mimicry ({d['FRCorr_per_pred']:.3f}, {d['FRDist']:.1f}) it wins on "
                 f"{' and '.join(wins) if wins else 'neither'}")
    text += f"; FRSyn {m['FRSyn']:.1f} frames (real listener {r[PAIRED]['FRSyn']:.1f})"
    if online is not None:
        text += f"; online {online:+.1f} % FRCorr"
    return f"| {label} | {text} | [{page}]({page}) |"


def _recipe_row(relative: str, page: str, note: str) -> str:
    """Issue 26's checks for each family's own model, as `react-ros recipe` judged them."""
    from react_ros.evaluation.families import LEARNING_MARGIN, verdict

    report = _load(relative)
    checks = {family: verdict(rows) for family, rows in report["results"].items()}
    learned = [f for f, c in checks.items() if c["learning"]]
    passed = [f for f, c in checks.items() if all(c.values())]
    missed = [f"{f} ({', '.join(k for k, ok in c.items() if not ok)})" for f, c in checks.items() if not all(c.values())]
    text = (f"learning (temperature 0 within {LEARNING_MARGIN} of the best deterministic predictor, beats delayed mimicry and "
            f"Mime) on {len(learned)} of {len(checks)}; every check at the operating point on {len(passed)} "
            f"({', '.join(passed) or 'none'}); missed: {'; '.join(missed) or 'none'}")
    return (f"| training recipe ({Path(relative).parent.name}: {note}), each synthetic family's own model (60 sessions; "
            f"`react-ros recipe`) | {text} | [{page}]({page}) |")


def readme_status() -> str:
    parity = _load("docs/parity.json")
    change = parity["frcorr_change_percent"]
    fp32_rel = max(g["max_rel"] for g in parity["graph_errors"]["fp32"].values())
    bench = _load("benchmarks/results/online.json")
    plan = bench["plan"]
    default = next(s for s in bench["backends"]["ort-fp32"]["settings"]
                   if (s["window"], s["steps"], s["samples"]) == (plan["default_window"], plan["default_steps"], 1))
    ros = bench["ros"]["ort-fp32"]
    rows = [
        "| what | result | page |", "| --- | --- | --- |",
        _model_row("docs/results/demo_model_robot_direction/metrics.json",
                   "demo model, synthetic test split, robot's direction", "docs/model.md"),
        _model_row("docs/results/demo_model/metrics.json",
                   "demo model, both directions (REACT protocol; trained for the robot's direction only)",
                   "docs/model.md"),
        _model_row("docs/results/roles36/seed0/metrics.json",
                   "role-conditioned model (`recipe_roles.yaml`; speaker from the labels; not shipped), both directions (REACT protocol)",
                   "docs/model.md"),
        _model_row("docs/results/roles36_perceived/seed0/metrics.json",
                   "the same, trained and scored on what the robot's mesh front end reads of both faces (not shipped), "
                   "both directions", "docs/model.md"),
        _recipe_row("docs/results/recipe35_all/families.json", "docs/families.md",
                    "`recipe.yaml`, one run per family"),
        f"| export parity | ORT fp32 = torch (max rel. error {fp32_rel:.0e}); FRCorr vs torch: fp16 "
        f"{change['ORT fp16']:+.2f} %, int8 QDQ {change['ORT int8']:+.1f} %, int8_cpu {change['ORT int8_cpu']:+.1f} % "
        "| [docs/parity.md](docs/parity.md) |",
        f"| speed, {bench['machine'].get('cpus', '?')}-core CPU, ONNX Runtime | {default['window_ms']['median_ms']:.2f} ms per "
        f"{plan['default_window']}-frame window, RTF {default['rtf_with_front_end']:.3f} with the front end; ROS end to "
        f"end p99 {ros['end_to_end']['p99_ms']:.1f} ms, jitter {ros['command_jitter_std_ms']:.1f} ms "
        "| [docs/performance.md](docs/performance.md) |",
        "| TensorRT | engine build and backend written, not yet run on a GPU | [engines/README.md](engines/README.md) |",
    ]
    return "\n".join(rows)


def ros_latency() -> str:
    bench = _load("benchmarks/results/online.json")
    ros = bench["ros"]["ort-fp32"]
    stages = ros["stages"]

    def row(label: str, stats: dict) -> str:
        return f"| {label} | {stats['median_ms']:.2f} | {stats['p99_ms']:.2f} |"

    return "\n".join([
        f"`{bench['command']}`, ROS part: {ros['mode']}; backend {ros['backend']}, {ros['threads']} thread(s); "
        f"{ros['frames_published']} frames -> {ros['frame_commands']} frame commands; CPU/wall "
        f"{ros['cpu']['cpu_per_wall']:.2f}, load average before {ros['load_average_before']:.2f}.",
        "", "| stage | median ms | p99 ms |", "| --- | --- | --- |",
        row("front end (face crop + attribute estimator), per frame", stages["front_end"]),
        row(f"generate (one {bench['plan']['default_window']}-frame window)", stages["generate"]),
        row("end to end: camera frame stamp -> its JointState received", ros["end_to_end"]),
        row("command interval", ros["command_interval"]),
        row("command jitter: abs(interval - frame period)", ros["command_jitter_vs_period"]),
    ])


def image_delivery() -> str:
    bench = _load("benchmarks/results/image_delivery.json")
    machine = bench["machine"]
    rows = [f"{machine['cpus']} cores, load average {machine['load_average_1min']:.1f} when measured.", "",
            "| size | publisher -> subscriber | transports | frames received |", "| --- | --- | --- | --- |"]
    for case in bench["cases"]:
        rows.append(f"| {case['size']} | {case['publisher'].replace('_', ' ')} -> "
                    f"{case['subscriber'].replace('_', ' ')} | {case['transports']} | {100 * case['fraction']:.0f} % |")
    return "\n".join(rows)


def ros_camera() -> str:
    bench = _load("benchmarks/results/ros_camera.json")
    rows = [f"`python -m react_ros.bench.ros_camera --json benchmarks/results/ros_camera.json`: "
            f"{bench['mode']}; {bench['backend']}, {bench['transports']} transports, load average "
            f"{bench['load_average_before']:.1f} before.", "",
            "| size | publisher QoS | frames | answered | end to end median ms | p99 ms |",
            "| --- | --- | --- | --- | --- | --- |"]
    for case in bench["cases"]:
        e2e = case["end_to_end"]
        rows.append(f"| {case['size']} | {case['reliability']} | {case['frames']} | {case['answered_pct']:.1f} % | "
                    f"{e2e['median_ms']:.1f} | {e2e['p99_ms']:.1f} |")
    return "\n".join(rows)


def image_delivery_receiver() -> str:
    """Frames from a default-configured publisher process, by the receiver's Fast DDS transports."""
    bench = _load("benchmarks/results/image_delivery_receiver.json")
    machine = bench["machine"]
    first = bench["cases"][0]
    rows = [f"{machine['cpus']} cores, load average {machine['load_average_start']:.1f} at the start; "
            f"{first['frames']} frames per case at 30 Hz ({first['frames'] / 30:.0f} s), best effort both sides, the "
            "publisher in a default environment.", "",
            "| size | receiver's transports | frames received |", "| --- | --- | --- |"]
    for case in bench["cases"]:
        rows.append(f"| {case['size']} | {case['subscriber_transports']} | {case['received']}/{case['frames']} "
                    f"({100 * case['fraction']:.0f} %) |")
    return "\n".join(rows)


def ros_camera_outside() -> str:
    """Frames from a default-configured driver process answered by the reaction node in another process."""
    bench = _load("benchmarks/results/ros_camera_outside.json")
    runs = bench["runs"]
    loads = [value for run in runs for value in (run["load_average_before"], run["load_average_after"])]
    rows = [f"`{bench['command']}`: {runs[0]['mode']}; {runs[0]['backend']}, {runs[0]['cpus']} cores, load average "
            f"{min(loads):.0f} to {max(loads):.0f}.", "",
            "| size | input | reaction node's transports | input_depth | frames | received | answered |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    cases = sorted((case for run in runs for case in run["cases"]),
                   key=lambda c: (int(c["size"].split("x")[0]), c["input"], c["node_transports"], c["input_depth"]))
    for case in cases:
        rows.append(f"| {case['size']} | {case['input']} | {case['node_transports']} | {case['input_depth']} | "
                    f"{case['frames']} | {case['images_received']} | {case['answered_pct']:.1f} % |")
    return "\n".join(rows)


SECTIONS = {"README.md": {"status": readme_status},
            "docs/ros.md": {"ros-latency": ros_latency, "image-delivery": image_delivery, "ros-camera": ros_camera,
                            "image-delivery-receiver": image_delivery_receiver,
                            "ros-camera-outside": ros_camera_outside}}


def render(page: str) -> str:
    text = (ROOT / page).read_text()
    for name, make in SECTIONS[page].items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        if begin not in text or end not in text:
            raise SystemExit(f"{page}: markers for {name!r} missing ({begin} ... {end})")
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = f"{head}{begin}\n{make()}\n{end}{tail}"
    return text


def main(argv: list[str]) -> int:
    stale = []
    for page in SECTIONS:
        fresh = render(page)
        if (ROOT / page).read_text() != fresh:
            if "--check" in argv:
                stale.append(page)
            else:
                (ROOT / page).write_text(fresh)
                print(f"wrote {page}")
    if stale:
        print(f"out of date with their result files: {stale}; run python3 scripts/doc_tables.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

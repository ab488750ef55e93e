"""`react-ros bench`: the online performance benchmark (docs/performance.md)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,4 (got {text!r})") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers (got {text!r})")
    return values


def add_commands(commands) -> None:
    from react_ros.bench.models import BACKENDS

    bench = commands.add_parser(
        "bench", help="online latency, real-time factor, ROS end-to-end latency, CPU/memory, long stream",
        description="Measure the online loop per backend and setting; write JSON + Markdown "
                    "(default benchmarks/results/online.json and the table section of docs/performance.md).")
    bench.add_argument("--quick", action="store_true",
                       help="a small subset in seconds (tests, CI): torch + ort-fp32, w=8, steps 1,4, 1 sample, "
                            "a 0.2-minute stream, no tuning, no protocol comparison; does not touch docs/")
    bench.add_argument("--backends", nargs="+", default=None, choices=list(BACKENDS),
                       help="default: all (torch, ort-fp32, ort-fp16, ort-int8 (QDQ), ort-int8cpu (dynamic))")
    bench.add_argument("--steps", type=_ints, default=None, help="diffusion steps, e.g. 1,2,4,10,20 (default)")
    bench.add_argument("--windows", type=_ints, default=None, help="window sizes w, e.g. 4,8,16,30 (default)")
    bench.add_argument("--samples", type=_ints, default=None, help="samples per window, e.g. 1,10 (default)")
    bench.add_argument("--sampler", default="dpm", choices=["dpm", "ddim"])
    bench.add_argument("--threads", type=int, default=1, help="inference threads (the reaction node's default: 1)")
    bench.add_argument("--budget", type=float, default=None, help="seconds of timing per cell (default 0.4)")
    bench.add_argument("--repeats", type=int, default=None,
                       help="interleaved rounds behind each ratio of the targets (default 9, --quick 3)")
    bench.add_argument("--long-minutes", type=float, default=None, help="simulated conversation (default 30 min)")
    bench.add_argument("--ros-seconds", type=float, default=None, help="seconds of the demo clip through ROS (all)")
    bench.add_argument("--no-ros", action="store_true", help="skip the end-to-end run through ROS 2")
    bench.add_argument("--ros-camera-seconds", type=float, default=None,
                       help="seconds per case of camera-sized frames through ROS (640x480, 1280x720, best effort "
                            "and reliable; default 20, --quick 0 = skip)")
    bench.add_argument("--no-tune", action="store_true", help="skip the ONNX Runtime session-option sweep")
    bench.add_argument("--no-protocol", action="store_true", help="skip the REACT online protocol comparison")
    bench.add_argument("--no-isolate", action="store_true", help="run every backend in this process")
    bench.add_argument("--out", default=None, help="directory for online.json + online.md (default benchmarks/results)")
    bench.add_argument("--doc", default=None,
                       help="Markdown file whose generated section is replaced (default docs/performance.md; "
                            "'none' to skip; --quick or --out never write it unless given)")
    bench.add_argument("--work-dir", default=None, help="bundles and ONNX exports (default: a temp dir)")
    bench.add_argument("--quiet", action="store_true")
    bench.set_defaults(func=run_bench)


def plan_from(args: argparse.Namespace):
    from react_ros.bench.suite import BenchPlan

    if args.quick:
        plan = BenchPlan(backends=("torch", "ort-fp32"), steps=(1, 4), windows=(8,), samples=(1,), budget_s=0.05,
                         long_minutes=0.2, ros=False, tune=False, protocol=False, isolate=False, quick=True,
                         ros_camera_seconds=0.0, repeats=3, repeat_budget_s=0.03)
    else:
        plan = BenchPlan()
    for key, value in (("backends", args.backends), ("steps", args.steps), ("windows", args.windows),
                       ("samples", args.samples), ("budget_s", args.budget), ("repeats", args.repeats),
                       ("long_minutes", args.long_minutes),
                       ("ros_seconds", args.ros_seconds), ("work_dir", args.work_dir),
                       ("ros_camera_seconds", args.ros_camera_seconds)):
        if value is not None:
            setattr(plan, key, tuple(value) if isinstance(value, list) else value)
    plan.sampler, plan.threads, plan.progress = args.sampler, args.threads, not args.quiet
    if plan.repeats < 1:
        raise ValueError(f"--repeats must be at least 1 (got {plan.repeats})")
    if args.no_ros:
        plan.ros, plan.ros_camera_seconds = False, 0.0
    if args.no_tune:
        plan.tune = False
    if args.no_protocol:
        plan.protocol = False
    if args.no_isolate:
        plan.isolate = False
    if plan.default_steps not in plan.steps:
        plan.default_steps = plan.steps[0]
    if plan.default_window not in plan.windows:
        plan.windows = tuple(sorted({*plan.windows, plan.default_window}))
    return plan


def doc_target(args: argparse.Namespace) -> str | None:
    """The Markdown file whose generated section this run replaces: the one named, else docs/performance.md, but
    only for a full run into the published results (a --quick run, or one written to its own --out, is a trial:
    the page must keep quoting the JSON it was generated from)."""
    if args.doc is not None:
        return None if args.doc == "none" else args.doc
    return None if args.quick or args.out else str(ROOT / "docs" / "performance.md")


def run_bench(args: argparse.Namespace) -> int:
    from react_ros.bench.report import write
    from react_ros.bench.suite import run_plan

    plan = plan_from(args)
    report = run_plan(plan)
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results"
    doc = doc_target(args)
    argv = sys.argv[sys.argv.index("bench") + 1:] if "bench" in sys.argv else sys.argv[1:]
    command = " ".join(["react-ros bench", *argv])
    json_path, md_path = write(report, out, command.strip(), doc)
    if not args.quiet:
        print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}" + (f"; updated {doc}" if doc else ""))
    return 0

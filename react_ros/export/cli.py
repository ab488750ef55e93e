"""`react-ros export onnx | engines | check | animation`: ONNX export + quantisation, TensorRT engines, parity report,
and a session's reactions as a glTF animation of the human-style face."""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

CALIB_PERCEIVED_HELP = ("for a model trained on perceived speakers: a `react-ros perceive` tree of the calibration "
                        "data (default: its train split perceived once into the cache)")


def add_commands(commands) -> None:
    export = commands.add_parser("export", help="ONNX export, FP16/INT8 quantisation, TensorRT engines, parity")
    sub = export.add_subparsers(dest="export_command", required=True)

    onnx = sub.add_parser("onnx", help="export every graph of a model bundle to ONNX (opset 17, dynamic batch)")
    onnx.add_argument("--model", default=None, help="model bundle directory (default: the shipped demo model)")
    onnx.add_argument("--out", required=True, help="export directory (manifest.json, fp32/, fp16/, int8/)")
    onnx.add_argument("--precision", nargs="+", default=["fp32", "fp16"], choices=["fp32", "fp16", "int8", "int8_cpu"],
                      help="int8: static QDQ (TensorRT; needs --calib-data); int8_cpu: dynamic INT8 for ONNX Runtime "
                           "on CPUs")
    onnx.add_argument("--calib-data", default=None, help="MARS-layout data set; its train split calibrates INT8")
    onnx.add_argument("--calib-perceived", default=None, help=CALIB_PERCEIVED_HELP)
    onnx.add_argument("--calib-batches", type=int, default=8)
    onnx.add_argument("--calib-batch-size", type=int, default=16)
    onnx.add_argument("--samplers", nargs="*", default=None,
                      help="unrolled sampler graphs as NAME:STEPS (default: the model card's and dpm:4)")
    onnx.add_argument("--batch", default=None, help="batch profile min,opt,max for TensorRT (default 1,2,32)")
    onnx.add_argument("--seed", type=int, default=0)
    onnx.set_defaults(func=run_onnx)

    animation = sub.add_parser("animation", help="a session's reactions as a glTF 2.0 file (.glb): the human-style "
                                                 "face, 52 ARKit morph targets, their weights over time")
    animation.add_argument("--recording", default=None, help="a session MCAP (react-ros run, or the node's record)")
    animation.add_argument("--reactions", default=None, help="or a .npy of (frames, 25) reactions")
    animation.add_argument("--weights", default="reactions", choices=("reactions", "commands"),
                           help="reactions: each reaction through the arkit_blendshapes map; commands: the weights "
                                "the robot commanded (a session run with --robot arkit_blendshapes)")
    animation.add_argument("--fps", type=float, default=30.0, help="keyframes per second (one per reaction frame)")
    animation.add_argument("--out", required=True, help="the .glb file")
    animation.add_argument("--plot", default=None, help="also a PNG of the most active weights over time")
    animation.set_defaults(func=run_animation)

    engines = sub.add_parser("engines", help="build TensorRT engines from an ONNX export (on the target device)")
    engines.add_argument("--onnx-dir", required=True)
    engines.add_argument("--out", required=True, help="engine directory, e.g. engines/<robot>")
    engines.add_argument("--precision", nargs="+", default=["fp16"], choices=["fp32", "fp16", "int8"])
    engines.add_argument("--graphs", nargs="*", default=None, help="only these graphs (default: all)")
    engines.add_argument("--workspace-mb", type=int, default=1024)
    engines.add_argument("--batch", default=None, help="batch profile min,opt,max (default: the export's)")
    engines.add_argument("--dry-run", action="store_true", help="print the equivalent trtexec commands only")
    engines.set_defaults(func=run_engines)

    check = sub.add_parser("check", help="parity of the ONNX Runtime variants with torch: graph errors, REACT metrics")
    check.add_argument("--model", default=None, help="model bundle directory (default: the shipped demo model)")
    check.add_argument("--data", default=None, help="MARS-layout data set for the REACT metrics (omit: errors only)")
    check.add_argument("--split", default="test")
    check.add_argument("--calib-data", default=None, help="INT8 calibration data set (default: --data)")
    check.add_argument("--calib-perceived", default=None, help=CALIB_PERCEIVED_HELP)
    check.add_argument("--onnx-dir", default=None, help="where to export (default: <out>/onnx)")
    check.add_argument("--out", required=True, help="report directory (parity.json, parity.md)")
    check.add_argument("--markdown", default=None,
                       help="also write the Markdown here (e.g. docs/parity.md), and the JSON beside it")
    check.add_argument("--precision", nargs="+", default=["fp32", "fp16", "int8", "int8_cpu"],
                       choices=["fp32", "fp16", "int8", "int8_cpu"])
    check.add_argument("--samples", type=int, default=10)
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--batch", type=int, default=4, help="batch of the per-graph error check")
    check.add_argument("--threads", type=int, default=1)
    check.add_argument("--sampler", default=None)
    check.add_argument("--steps", type=int, default=None)
    check.add_argument("--directions", default="both")
    check.add_argument("--no-timing", action="store_true")
    check.set_defaults(func=run_check)

    prepare = sub.add_parser("prepare", help="export a model into the ONNX Runtime cache that nodes load from "
                                             "(the runtime never exports; setup.sh runs this for the demo model)")
    prepare.add_argument("--model", default=None, help="model bundle directory (default: the shipped demo model)")
    prepare.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "int8_cpu"])
    prepare.set_defaults(func=run_prepare)


def run_prepare(args) -> int:
    from react_ros.export.prepare import ensure_onnx_export

    directory, exported = ensure_onnx_export(args.model, precision=args.precision)
    print(f"{'exported to' if exported else 'already in'} {directory}")
    return 0


def _profile(text: str | None) -> dict | None:
    if not text:
        return None
    values = [int(v) for v in text.split(",")]
    if len(values) != 3 or not 1 <= values[0] <= values[1] <= values[2]:
        raise ValueError(f"--batch {text!r}: expected min,opt,max with 1 <= min <= opt <= max")
    return dict(zip(("min", "opt", "max"), values, strict=True))


def _samplers(values: list[str] | None, card) -> tuple[tuple[str, int], ...]:
    from react_ros.export.onnx_export import samplers_for

    extra = []
    for value in values or []:
        name, _, steps = value.partition(":")
        if not steps.isdigit():
            raise ValueError(f"--samplers {value!r}: expected NAME:STEPS, e.g. dpm:4")
        extra.append((name, int(steps)))
    return samplers_for(card, extra)


def run_onnx(args: argparse.Namespace) -> int:
    from react_ros.export.onnx_export import export_bundle
    from react_ros.model.card import ModelCard

    card = ModelCard.read(args.model)
    manifest = export_bundle(args.model, args.out, precisions=tuple(args.precision), calib_data=args.calib_data,
                             calib_perceived=args.calib_perceived, calib_batches=args.calib_batches,
                             calib_batch_size=args.calib_batch_size,
                             samplers=_samplers(args.samplers, card), batch_profile=_profile(args.batch),
                             seed=args.seed, progress=True)
    for precision, variant in manifest["variants"].items():
        for name, entry in variant["graphs"].items():
            shapes = ", ".join(f"{t['name']}{tuple(t['shape'])}" for t in entry["inputs"])
            print(f"{precision:5s} {name:14s} {entry['sha256'][:12]}  {shapes}")
    print(f"manifest -> {Path(args.out) / 'manifest.json'}")
    return 0


def run_engines(args: argparse.Namespace) -> int:
    from react_ros.export.engines import build_engines

    results = build_engines(args.onnx_dir, args.out, tuple(args.precision), args.graphs, args.workspace_mb,
                            _profile(args.batch), dry_run=args.dry_run)
    for result in results:
        if args.dry_run:
            print(result["trtexec"])
        else:
            print(f"{result['engine']}: {result['precision']} on {result['gpu_name']} "
                  f"(sm {result['compute_capability']}, TensorRT {result['tensorrt_version']}) "
                  f"in {result['build_seconds']} s\n  equivalent: {result['trtexec']}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    import numpy as np

    from react_ros.export.graphs import graph_specs
    from react_ros.export.onnx_export import export_bundle
    from react_ros.export.parity import (
        cpu_has_vnni,
        frcorr_change,
        graph_errors,
        time_graphs,
        time_windows,
        torch_reference,
        write_report,
    )
    from react_ros.model.bundle import load_bundle
    from react_ros.model.card import given_settings, sampling_setting
    from react_ros.runtime.onnxruntime_backend import OnnxGraphs
    from react_ros.runtime.torch_backend import TorchGraphs

    bundle = load_bundle(args.model)
    sampling = sampling_setting(bundle.card, given_settings(args))
    out = Path(args.out)
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else out / "onnx"
    calib = args.calib_data or args.data
    precisions = tuple(args.precision)
    if "int8" in precisions and calib is None:
        raise ValueError("int8 needs --calib-data or --data (a MARS-layout data set with a train split)")
    samplers = _samplers([f"{sampling.sampler}:{sampling.steps}"], bundle.card)
    manifest = export_bundle(args.model, onnx_dir, precisions=tuple(dict.fromkeys(("fp32", *precisions))),
                             calib_data=calib, calib_perceived=args.calib_perceived, samplers=samplers,
                             seed=args.seed, progress=True)
    command = "react-ros export check " + " ".join(_argv(args))
    report = {"command": command, "model": manifest["model"], "opset": manifest["opset"], "batch": args.batch,
              "seed": args.seed, "sampling": sampling.__dict__, "threads": args.threads,
              "host": f"{platform.machine()} {platform.processor() or ''}".strip(), "vnni": cpu_has_vnni(),
              "quantisation": manifest["variants"].get("int8", {}).get("quantisation"),
              "graph_errors": {p: graph_errors(bundle.model, bundle.estimator, onnx_dir, p, args.batch, args.seed)
                               for p in precisions}}
    if not args.no_timing:
        specs = graph_specs(bundle.model.config, bundle.estimator.config.input_size if bundle.estimator else 64,
                            tuple((s["sampler"], s["steps"]) for s in manifest["samplers"]))
        specs = {k: v for k, v in specs.items() if k in manifest["variants"]["fp32"]["graphs"]}
        import torch

        torch.set_num_threads(args.threads)
        timings = {"torch": time_graphs(lambda n, f: torch_reference(bundle.model, bundle.estimator, n, f), specs, 1)}
        windows = {("torch", "window, per-step sampler"): TorchGraphs(bundle.model)}
        for precision in precisions:
            graphs = OnnxGraphs(onnx_dir, precision, args.threads, use_sample_graphs=True)
            timings[f"ORT {precision}"] = time_graphs(lambda n, f, g=graphs: g.sessions[n].run(None, f), specs, 1)
            windows[(f"ORT {precision}", "window, unrolled sampler")] = graphs
            windows[(f"ORT {precision}", "window, per-step sampler")] = OnnxGraphs(
                onnx_dir, precision, args.threads, use_sample_graphs=False)
        for (column, row), ms in time_windows(windows, sampling).items():
            timings[column][row] = ms
        report["timings_ms"], report["timing_batch"] = timings, 1
    if args.data:
        from react_ros.evaluation.pipeline import evaluate_graphs
        from react_ros.evaluation.speakers import speaker_source

        perceived = speaker_source(bundle.card, args.data, args.split)  # what the model was trained to read
        metrics = {"torch": evaluate_graphs(TorchGraphs(bundle.model, args.threads), args.data, args.split,
                                            args.samples, args.seed, sampling, args.directions, progress=True,
                                            perceived=perceived)}
        for precision in precisions:
            metrics[f"ORT {precision}"] = evaluate_graphs(OnnxGraphs(onnx_dir, precision, args.threads), args.data,
                                                          args.split, args.samples, args.seed, sampling,
                                                          args.directions, progress=True, perceived=perceived)
        report.update(data=args.data, split=args.split, samples=args.samples,
                      metrics={k: {m: float(v) for m, v in values.items() if np.isscalar(v)}
                               for k, values in metrics.items()})
        report["frcorr_change_percent"] = frcorr_change(report["metrics"])
    json_path, md_path = write_report(out, report)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(md_path.read_text())
        Path(args.markdown).with_suffix(".json").write_text(json_path.read_text())
    print(md_path.read_text())
    print(f"report -> {json_path}, {md_path}" + (f", {args.markdown}" if args.markdown else ""))
    print(json.dumps({p: {g: round(e["max_rel"], 6) for g, e in errs.items()}
                      for p, errs in report["graph_errors"].items()}))
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    parts = []
    for key in ("model", "data", "split", "calib_data", "calib_perceived", "onnx_dir", "out", "markdown", "samples",
                "seed"):
        value = getattr(args, key)
        if value is not None:
            parts.append(f"--{key.replace('_', '-')} {value}")
    parts.append("--precision " + " ".join(args.precision))
    if getattr(args, "directions", "both") != "both":  # the metrics depend on it: the page must say it
        parts.append(f'--directions "{args.directions}"')
    return parts


def run_animation(args: argparse.Namespace) -> int:
    from react_ros.export.animation import write_session_animation

    path, frames = write_session_animation(args.out, args.recording, args.reactions, args.weights, args.fps,
                                           args.plot)
    print(f"wrote {path}: {frames} frames at {args.fps:g} fps, 52 morph targets (glTF 2.0)")
    return 0

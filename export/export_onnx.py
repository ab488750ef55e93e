#!/usr/bin/env python3
"""Export a model bundle's graphs to ONNX (fp32/fp16/int8) with a manifest.

A thin wrapper around `react-ros export onnx` (react_ros/export/); `--help` lists the options.
"""
import sys

from react_ros.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", "onnx", *sys.argv[1:]]))

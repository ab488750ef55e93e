#!/usr/bin/env python3
"""Build TensorRT engines from an ONNX export (run this on the robot / target GPU).

A thin wrapper around `react-ros export engines` (react_ros/export/); `--help` lists the options.
"""
import sys

from react_ros.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", "engines", *sys.argv[1:]]))

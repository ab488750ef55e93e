#!/usr/bin/env python3
"""Parity of the ONNX Runtime variants with torch (graph errors, timings, REACT metrics).

A thin wrapper around `react-ros export check` (react_ros/export/); `--help` lists the options.
"""
import sys

from react_ros.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", "check", *sys.argv[1:]]))

"""`react-ros bench`: online latency, real-time factor, ROS end-to-end latency, CPU/memory and a long stream.

Modules: models (random-init bundles per window, ONNX exports, backend loading), timing (clocks, percentiles,
RSS/CPU), stages (front end, per-graph and per-window latency, real-time factor), stream (a long simulated
conversation), protocol (the public REACT online protocol emulated for comparison), flops (FLOPs / bytes per
graph and the on-paper Jetson estimate), repeats (interleaved rounds: the targets' ratios with their spread), ros_e2e (end-to-end latency through the real ROS 2 nodes), report
(JSON + Markdown), cli (the sub-command). See docs/performance.md for the method and the numbers.
"""

"""Export for deployment: ONNX (opset 17, dynamic batch), FP16 / INT8 (Q/DQ) variants, TensorRT engines,
and the parity check against the torch reference. See docs/export.md."""

"""The ONNX operators TensorRT builds: the one place the export checks exported graphs against.

The floor is TensorRT 8.5 (JetPack 5.1), from onnx-tensorrt's operator support matrix (docs/operators.md,
8.4/8.5 branches) and shared/TENSORRT_FACTS.md; newer TensorRT (8.6, 10.x on JetPack 6) supports more,
so a graph that passes here builds on every JetPack we target. Operators listed as unsupported in
8.5 (or only added later, like LayerNormalization in 8.6) are absent on purpose: the exporter
decomposes LayerNorm into ReduceMean/Sub/Mul/Sqrt/Div, and INT8 goes through QuantizeLinear /
DequantizeLinear pairs with zero points equal to 0 (explicit, symmetric quantisation).
"""
from __future__ import annotations

from collections.abc import Iterable

TENSORRT_FLOOR = "8.5"

# Supported by the TensorRT 8.5 ONNX parser (default ONNX domain). Restrictions that matter to us are in
# RESTRICTIONS and checked where they can be (see check_graph_ops / check_qdq).
TENSORRT_SUPPORTED_OPS: frozenset[str] = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Cast Ceil Celu Clip
Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DepthToSpace DequantizeLinear Div Dropout
Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gemm GlobalAveragePool
GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GRU HardSigmoid HardSwish Identity If ImageScaler
InstanceNormalization IsNaN LeakyRelu Less LessOrEqual Log LogSoftmax Loop LRN LSTM LpNormalization LpPool
MatMul Max MaxPool Mean Min Mul Neg NonMaxSuppression Not Or Pad ParametricSoftplus Pow PRelu QuantizeLinear
RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range ReduceL1 ReduceL2 ReduceLogSum
ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize
ReverseSequence RNN Round ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Sigmoid Sign Sin Sinh
Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile
TopK Transpose Unsqueeze Upsample Where Xor
""".split())

# Known to be missing from the 8.5 parser (for the error message: "known unsupported" vs "not on the list").
TENSORRT_UNSUPPORTED_OPS: frozenset[str] = frozenset("""
BitShift BlackmanWindow Compress ConcatFromSequence ConvInteger DFT Det DynamicQuantizeLinear HammingWindow
HannWindow Hardmax IsInf LayerNormalization MatMulInteger MaxRoiPool MaxUnpool MeanVarianceNormalization
MelWeightMatrix Multinomial Bernoulli NegativeLogLikelihoodLoss Optional OptionalGetElement OptionalHasElement
QLinearConv QLinearMatMul RoiAlign SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert
SequenceLength Shrink SoftmaxCrossEntropyLoss SplitToSequence STFT StringNormalizer TfIdfVectorizer Unique
""".split())

RESTRICTIONS = {
    "Conv": "2D or 3D only; weights must be initializers",
    "ConvTranspose": "2D or 3D only; weights must be initializers",
    "Slice": "axes must be constants",
    "Squeeze": "axes must be constants",
    "Unsqueeze": "axes must be constants",
    "TopK": "K must be an initializer",
    "QuantizeLinear": "zero point must be 0 (symmetric INT8)",
    "DequantizeLinear": "zero point must be 0; INT8 input",
    "RandomNormal": "seed ignored: diffusion noise must be a graph input",
}


class UnsupportedOperatorError(ValueError):
    """An exported graph contains an operator TensorRT (8.5 floor) cannot build."""


def _nodes(model) -> Iterable:
    """Every node, including those inside If/Loop/Scan sub-graphs."""
    stack = [model.graph]
    while stack:
        graph = stack.pop()
        for node in graph.node:
            yield node
            for attribute in node.attribute:
                if attribute.g is not None and attribute.g.node:
                    stack.append(attribute.g)
                stack.extend(g for g in attribute.graphs)


def unsupported_nodes(model) -> list[tuple[str, str, str]]:
    """(op_type, node name, domain) of every node outside the whitelist."""
    bad = []
    for node in _nodes(model):
        domain = node.domain or "ai.onnx"
        if domain not in ("ai.onnx", "") or node.op_type not in TENSORRT_SUPPORTED_OPS:
            bad.append((node.op_type, node.name or "<unnamed>", domain))
    return bad


def check_graph_ops(model, graph_name: str) -> set[str]:
    """Raise UnsupportedOperatorError naming the op, the node and the graph; returns the op types used."""
    bad = unsupported_nodes(model)
    if bad:
        lines = []
        for op, node, domain in bad[:10]:
            why = ("known unsupported by the TensorRT 8.5 ONNX parser" if op in TENSORRT_UNSUPPORTED_OPS
                   else f"not in TensorRT's supported-operator list (domain {domain})")
            lines.append(f"  - op {op!r} in node {node!r}: {why}")
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise UnsupportedOperatorError(
            f"graph {graph_name!r}: {len(bad)} node(s) use operators TensorRT {TENSORRT_FLOOR} cannot build:\n"
            + "\n".join(lines) + more
            + "\nRewrite the module with supported operators (react_ros/export/trt_ops.py has the list).")
    return {node.op_type for node in _nodes(model)}


def check_qdq(model, graph_name: str) -> int:
    """Explicit INT8 as TensorRT wants it: Q/DQ zero points all 0 and int8; returns the number of Q/DQ nodes."""
    from onnx import TensorProto, numpy_helper

    initializers = {init.name: init for init in model.graph.initializer}
    count = 0
    for node in _nodes(model):
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        count += 1
        if len(node.input) < 3 or not node.input[2]:
            continue  # default zero point: uint8 0 -- but TensorRT needs int8; flag it
        zero = initializers.get(node.input[2])
        if zero is None:
            raise UnsupportedOperatorError(f"graph {graph_name!r}: {node.op_type} node {node.name!r} has a "
                                           "zero point that is not an initializer")
        if zero.data_type != TensorProto.INT8:
            raise UnsupportedOperatorError(f"graph {graph_name!r}: {node.op_type} node {node.name!r} uses "
                                           f"{TensorProto.DataType.Name(zero.data_type)}; TensorRT needs INT8")
        if numpy_helper.to_array(zero).any():
            raise UnsupportedOperatorError(f"graph {graph_name!r}: {node.op_type} node {node.name!r} has a non-zero "
                                           "zero point; TensorRT needs symmetric quantisation")
    return count


def fp32_nodes(model, roots=("Sin", "Cos")) -> list[str]:
    """Names of the Sin/Cos nodes and every node computing their inputs (stopping at Shape: a shape does
    not carry values), to keep in float32."""
    producer = {out: node for node in model.graph.node for out in node.output}
    keep, stack = set(), [n for n in model.graph.node if n.op_type in roots]
    while stack:
        node = stack.pop()
        if node.name in keep:
            continue
        keep.add(node.name)
        if node.op_type == "Shape":
            continue
        stack.extend(producer[i] for i in node.input if i in producer)
    return sorted(keep)

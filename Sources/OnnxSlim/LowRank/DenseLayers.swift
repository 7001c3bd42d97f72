import Foundation

/// The layers `--low-rank` may factor: MatMul(x, W), Gemm(x, W) (transA 0, transB either) and
/// pointwise Conv (every kernel dim 1, group 1), in the main graph or any subgraph, whose W is a
/// float32 or float16 weight (initializer or Constant node, of its graph or an enclosing one)
/// that this layer alone reads, with x an activation. Everything else is left, with a reason.
struct DenseLayer {
    /// The graph holding the layer, and the node's index there.
    var path: GraphPath
    var node: Int
    var label: String
    var input: String
    /// x as the layer's graph sees it: a branch's value read from an enclosing graph is
    /// observed there when the branch runs (its covariance is over the samples taking it).
    var inputKey: GraphIndex.Key { GraphIndex.Key(path: path, name: input) }
    var weight: String
    var weightKey: GraphIndex.Key
    /// W's element type, the factors' too (factored in Float64 either way).
    var dataType: DataType
    /// Gemm with transB, and Conv: W is stored out×in (Conv: out×in×1…).
    var transposed: Bool
    var isConv: Bool
    var inputs: Int
    var outputs: Int
    /// A Conv's spatial dims (its kernel's rank), 0 otherwise.
    var spatial = 0
    /// The input's feature axis: the last (MatMul, Gemm) or the channel axis (Conv).
    var featureAxis: Int { isConv ? 1 : -1 }

    /// W as inputs × outputs in Float64 (a stored out×in weight transposed; a Conv's [out, in, …]
    /// read as out × the rest).
    func weightMatrix(_ index: GraphIndex, _ reader: ExternalDataReader) throws -> Matrix {
        guard let t = index.definition(weightKey)?.tensor else { throw OnnxSlimError(.badInput, "'\(weight)' is not a weight") }
        let a = try NDArray(tensor: t, reader: reader)
        let m = Matrix(rows: a.shape[0], cols: a.count / max(a.shape[0], 1), values: a.asFloats.map(Double.init))
        return transposed ? m.transposed : m
    }
}

enum DenseLayers {
    static let factorable: Set<DataType> = [.float, .float16]

    /// `includingHeads`: also the layers computing a model output (repair refits them; low-rank
    /// leaves them).
    static func find(_ index: GraphIndex, ops: Set<String>, exclude: NSRegularExpression?,
                     includingHeads: Bool = false) -> (layers: [DenseLayer], skipped: [String: Int]) {
        var layers: [DenseLayer] = [], skipped: [String: Int] = [:]
        for path in index.scopeOrder {
            find(in: path, index, ops: ops, exclude: exclude, includingHeads: includingHeads, into: &layers, skipped: &skipped)
        }
        return (layers, skipped)
    }

    private static func find(in path: GraphPath, _ index: GraphIndex, ops: Set<String>, exclude: NSRegularExpression?,
                             includingHeads: Bool, into layers: inout [DenseLayer], skipped: inout [String: Int]) {
        guard let scope = index[path] else { return }
        for (k, node) in scope.nodes.enumerated() where node.isDefaultDomain && ops.contains(node.opType) && node.inputs.count > 1 {
            let label = node.name.isEmpty ? node.outputs.first ?? node.opType : node.name
            if let exclude, exclude.firstMatch(in: label, range: NSRange(label.startIndex..., in: label)) != nil {
                skipped["excluded by --low-rank-exclude", default: 0] += 1
                continue
            }
            let name = node.inputs[1]
            guard index.weight(node.inputs[0], from: path) == nil, let w = index.weight(name, from: path) else {
                skipped["\(node.opType): the weight is computed", default: 0] += 1
                continue
            }
            let isConv = node.opType == "Conv"
            let dims = w.tensor.dims
            if isConv {
                guard dims.count >= 3, dims[2...].allSatisfy({ $0 == 1 }), node.attribute("group")?.i ?? 1 == 1,
                      factorable.contains(w.tensor.dataType) else {
                    skipped["Conv: not a pointwise (1×1, group 1) float32/float16 conv", default: 0] += 1
                    continue
                }
            } else {
                guard dims.count == 2, factorable.contains(w.tensor.dataType) else {
                    skipped["\(node.opType): the weight is not a 2-D float32/float16 matrix", default: 0] += 1
                    continue
                }
            }
            guard index.uses(of: GraphIndex.Key(path: w.path, name: name)).count == 1 else {
                skipped["\(node.opType): the weight is shared with other nodes", default: 0] += 1
                continue
            }
            // A classifier or LM head (its output, or its bias Add's, is the model's): every
            // error lands in the result unaveraged, and its width (a vocabulary) would take the
            // whole budget (SmolLM2 at 80%: perplexity 299 with its head factored).
            if !includingHeads && computesModelOutput(node.outputs[0], in: path, index) {
                skipped["\(node.opType): computes a graph output (a classifier or LM head)", default: 0] += 1
                continue
            }
            var transposed = isConv
            if node.opType == "Gemm" {
                guard node.attribute("transA")?.i ?? 0 == 0 else { skipped["Gemm with transA", default: 0] += 1; continue }
                transposed = node.attribute("transB")?.i ?? 0 != 0
            }
            let rows = Int(dims[0]), cols = Int(dims[1])
            layers.append(DenseLayer(path: path, node: k, label: label, input: node.inputs[0],
                                     weight: name, weightKey: GraphIndex.Key(path: w.path, name: name), dataType: w.tensor.dataType,
                                     transposed: transposed, isConv: isConv,
                                     inputs: transposed ? cols : rows, outputs: transposed ? rows : cols,
                                     spatial: isConv ? dims.count - 2 : 0))
        }
    }

    /// True when `name` (or the output of the one bias Add reading it) is a model output, in a
    /// subgraph through its owner: an If's or Scan's output k is its graph's output k, a Loop's
    /// output k its body's output k + 1 (the body's first output is the condition).
    static func computesModelOutput(_ name: String, in path: GraphPath, _ index: GraphIndex) -> Bool {
        guard let scope = index[path] else { return false }
        var output = name
        if let readers = scope.readers[output], readers.count == 1, scope.nodes[readers[0].node].opType == "Add" {
            output = scope.nodes[readers[0].node].outputs[0]
        }
        guard let k = scope.graphOutputs.firstIndex(of: output) ?? scope.graphOutputs.firstIndex(of: name) else { return false }
        guard let step = path.steps.last else { return true }
        let parentPath = GraphPath(steps: Array(path.steps.dropLast()))
        guard let owner = index[parentPath]?.nodes[step.node] else { return false }
        let outer = owner.opType == "Loop" ? k - 1 : k
        guard outer >= 0, outer < owner.outputs.count, !owner.outputs[outer].isEmpty else { return false }
        return computesModelOutput(owner.outputs[outer], in: parentPath, index)
    }
}

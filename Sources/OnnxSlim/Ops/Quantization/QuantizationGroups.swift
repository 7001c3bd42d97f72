/// Which scale (and zero point) each element of a (de)quantized tensor uses: one for the whole
/// tensor, one per index along `axis`, or one per block of `block_size` indices along `axis`
/// (opset 21). Kernels walk the data as runs of consecutive elements whose parameter index is
/// either constant or steps by one, so the inner loops stay plain.
struct QuantizationGroups {
    /// A stretch of the data: elements start..<start+count use parameters paramStart + k·paramStep.
    struct Run {
        var start: Int, count: Int, paramStart: Int, paramStep: Int
    }

    let runs: [Run]
    let parameterCount: Int

    /// `dataShape` is the quantized tensor's shape, `parameterShape` the scale's.
    init(dataShape: [Int], parameterShape: [Int], axis: Int, blockSize: Int, call: KernelCall) throws {
        let n = dataShape.reduce(1, *)
        let p = parameterShape.reduce(1, *)
        parameterCount = p
        if p == 1 {
            runs = n == 0 ? [] : [Run(start: 0, count: n, paramStart: 0, paramStep: 0)]
            return
        }
        let rank = dataShape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw call.failure("axis \(axis) is out of range for rank \(rank)") }
        let outer = Axes.product(dataShape, 0..<a), length = dataShape[a], inner = Axes.product(dataShape, (a + 1)..<rank)
        var runs: [Run] = []
        if blockSize > 0 {
            let blocks = (length + blockSize - 1) / blockSize
            var expected = dataShape
            expected[a] = blocks
            guard parameterShape == expected else {
                throw call.failure("blocked scale shape \(parameterShape) does not fit data \(dataShape) with block_size \(blockSize) on axis \(a)")
            }
            if inner == 1 {
                // Blocks lie along the innermost axis: one run per block.
                runs.reserveCapacity(outer * blocks)
                for o in 0..<outer {
                    for j in 0..<blocks {
                        let from = j * blockSize
                        runs.append(Run(start: o * length + from, count: min(blockSize, length - from), paramStart: o * blocks + j, paramStep: 0))
                    }
                }
            } else {
                runs.reserveCapacity(outer * length)
                for o in 0..<outer {
                    for d in 0..<length {
                        runs.append(Run(start: (o * length + d) * inner, count: inner, paramStart: (o * blocks + d / blockSize) * inner, paramStep: 1))
                    }
                }
            }
        } else {
            guard parameterShape.count == 1 && p == length else {
                throw call.failure("per-axis scale shape \(parameterShape) does not match dimension \(length) of axis \(a) in \(dataShape)")
            }
            if inner == 1 {
                // Parameters change with every element: one run per row, stepping through them.
                runs.reserveCapacity(outer)
                for o in 0..<outer { runs.append(Run(start: o * length, count: length, paramStart: 0, paramStep: 1)) }
            } else {
                runs.reserveCapacity(outer * length)
                for o in 0..<outer {
                    for d in 0..<length { runs.append(Run(start: (o * length + d) * inner, count: inner, paramStart: d, paramStep: 0)) }
                }
            }
        }
        self.runs = runs
    }

    /// Checks that a zero point has the scale's shape (or is a single value like the scale).
    static func checkZeroPoint(_ zero: NDArray?, scale: NDArray, call: KernelCall) throws {
        guard let zero else { return }
        if zero.count == 1 && scale.count == 1 { return }
        guard zero.shape == scale.shape else {
            throw call.failure("zero point shape \(zero.shape) differs from scale shape \(scale.shape)")
        }
    }
}

/// Dropout. At inference (no training_mode input, or false, or ratio 0) it is the identity with
/// an all-true mask. In training mode each element is kept with probability 1 - ratio and scaled
/// by 1 / (1 - ratio); the mask is drawn from numpy's legacy MT19937 generator seeded with the
/// `seed` attribute (0 when absent), so results reproduce the ONNX reference outputs.
enum DropoutOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        var ratio: Float = call.float("ratio", 0.5)
        var training = false
        if call.opset >= 12 {
            if let r = try call.optionalTensor(1) { ratio = r.asFloats.first ?? 0.5 }
            if let t = try call.optionalTensor(2) { training = (t.asInt64s.first ?? 0) != 0 }
        }
        guard ratio >= 0 && ratio <= 1 else { throw call.failure("ratio \(ratio) is outside [0, 1]") }
        if !training || ratio == 0 {
            // The mask was of the input's type before opset 10.
            let mask = call.opset < 10 && x.kind == .float
                ? NDArray(floats: [Float](repeating: 1, count: x.count), shape: x.shape, type: x.dataType)
                : NDArray(bools: [Bool](repeating: true, count: x.count), shape: x.shape)
            return [.tensor(x), .tensor(mask)]
        }
        guard let v = x.floats else { throw call.failure("training-mode Dropout of \(x.dataType)") }
        var rng = MersenneTwister(seed: UInt32(truncatingIfNeeded: call.int("seed", 0)))
        let mask = (0..<x.count).map { _ in rng.nextDouble() >= Double(ratio) }
        let scale: Float = ratio < 1 ? 1 / (1 - ratio) : 0
        let y = zip(v, mask).map { $1 ? $0 * scale : 0 }
        return [.tensor(NDArray(floats: y, shape: x.shape, type: x.dataType)), .tensor(NDArray(bools: mask, shape: x.shape))]
    }
}

/// MT19937 as numpy's legacy `RandomState` uses it (`np.random.seed(s)`; `random_sample`).
struct MersenneTwister {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A double in [0, 1) from 53 random bits, as numpy draws it.
    mutating func nextDouble() -> Double {
        let a = Double(next() >> 5), b = Double(next() >> 6)
        return (a * 67_108_864 + b) / 9_007_199_254_740_992
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }
}

extension DropoutOp {
    /// The output keeps the input; the mask is bool (of the input's type before opset 10).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0)
        let maskType: DataType = call.opset < 10 && ElementKind(x.elemType) == .float ? x.elemType : .bool
        return [x, .tensor(maskType, x.shape)]
    }
}

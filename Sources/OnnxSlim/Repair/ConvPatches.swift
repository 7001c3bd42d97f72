/// A 2-D Conv as the linear layers repair refits: one per group, each a matrix product of the
/// input's patches (im2col: one row per output pixel, one column per input channel of the group
/// and kernel position) with the group's filters ([Cg·kh·kw, Cout/g], the weight's rows
/// transposed). A depthwise conv is C layers of kh·kw inputs and one output each.
struct ConvPatches {
    let groups: Int
    /// Input channels per group.
    let channels: Int
    let kernel: (h: Int, w: Int)
    let strides: (h: Int, w: Int)
    let dilations: (h: Int, w: Int)
    /// Top and left padding (bottom and right follow from the output size).
    let pads: (top: Int, left: Int)

    /// The layer's geometry, or nil for what this does not cover: not 2-D, or auto_pad SAME_*.
    init?(_ node: Node, weightDims: [Int64]) {
        guard weightDims.count == 4 else { return nil }
        let autoPad = node.attribute("auto_pad").map { String(decoding: $0.s, as: UTF8.self) } ?? "NOTSET"
        guard autoPad == "NOTSET" || autoPad == "VALID" || autoPad.isEmpty else { return nil }
        func pair(_ name: String, _ fallback: Int) -> (Int, Int)? {
            guard let v = node.attribute(name)?.ints, !v.isEmpty else { return (fallback, fallback) }
            return v.count == 2 ? (Int(v[0]), Int(v[1])) : nil
        }
        guard let s = pair("strides", 1), let d = pair("dilations", 1) else { return nil }
        let p = node.attribute("pads")?.ints ?? []
        guard p.isEmpty || p.count == 4 else { return nil }
        groups = Int(node.attribute("group")?.i ?? 1)
        channels = Int(weightDims[1])
        kernel = (Int(weightDims[2]), Int(weightDims[3]))
        strides = s
        dilations = d
        pads = autoPad == "VALID" || p.isEmpty ? (0, 0) : (Int(p[0]), Int(p[1]))
    }

    /// Inputs of one group's layer.
    var width: Int { channels * kernel.h * kernel.w }

    /// Group `group`'s patches of x ([N, groups·channels, H, W]) for an output of `outSize`
    /// pixels per image: [N·oh·ow, width], zeros where a patch reaches the padding.
    func patches(_ x: [Float], shape: [Int], group: Int, outSize: (h: Int, w: Int)) -> [Float] {
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let rows = n * outSize.h * outSize.w, width = self.width
        var out = [Float](repeating: 0, count: rows * width)
        for b in 0..<n {
            for oy in 0..<outSize.h {
                for ox in 0..<outSize.w {
                    let row = ((b * outSize.h + oy) * outSize.w + ox) * width
                    for ch in 0..<channels {
                        let plane = (b * c + group * channels + ch) * h * w
                        for ky in 0..<kernel.h {
                            let y = oy * strides.h - pads.top + ky * dilations.h
                            guard y >= 0 && y < h else { continue }
                            for kx in 0..<kernel.w {
                                let xx = ox * strides.w - pads.left + kx * dilations.w
                                guard xx >= 0 && xx < w else { continue }
                                out[row + (ch * kernel.h + ky) * kernel.w + kx] = x[plane + y * w + xx]
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

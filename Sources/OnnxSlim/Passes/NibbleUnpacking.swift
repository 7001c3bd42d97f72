/// 4-bit embedding tables for lookups. ONNX's Gather does not take int4/uint4 data, so the table is
/// stored as bytes (two codes each, offset binary: code + 8 for int4), rows are gathered as bytes,
/// and the nibbles are unpacked into uint8 codes that a blocked DequantizeLinear scales:
///
///     Gather(table_bytes, ids)                   [.., H/2] uint8
///       → BitwiseAnd(·, 15), BitShift(·, 4)       low and high nibbles (even and odd columns)
///       → Unsqueeze, Concat(axis -1), Reshape     [.., H] uint8 codes
///       → DequantizeLinear(codes, Gather(scales, ids), Gather(zero_points, ids), axis -1, block_size)
///
/// Only the gathered rows are unpacked and dequantized at run time. The whole-table form (for
/// other consumers of the table) is the same chain without the Gathers, which runtimes fold once.
struct NibbleUnpacking {
    /// The packed table in offset-binary form (int4 codes + 8), so every nibble reads as 0...15.
    static func offsetBinaryBytes(_ data: [UInt8], signed: Bool) -> [UInt8] {
        signed ? data.map { $0 ^ 0x88 } : data
    }

    /// Zero points in offset binary, one byte per block.
    static func offsetBinaryZeroPoints(_ packed: [UInt8]?, groups: Int, signed: Bool) -> [UInt8] {
        (0..<groups).map { g in
            let z: UInt8 = packed.map { g & 1 == 0 ? $0[g >> 1] & 0x0F : $0[g >> 1] >> 4 } ?? (signed ? 0 : 8)
            return signed ? (z ^ 0x08) & 0x0F : z
        }
    }

    /// Constants the unpacking chain shares within one graph.
    struct Constants {
        var lowMask: String
        var shift: String
        var lastAxis: String
    }

    static func constants(_ names: inout NameAllocator) -> (Constants, [Tensor]) {
        let c = Constants(lowMask: names.fresh("nibble_mask"), shift: names.fresh("nibble_shift"),
                          lastAxis: names.fresh("nibble_axis"))
        return (c, [
            TensorValues.tensor(c.lowMask, dims: [], type: .uint8, bytes: [0x0F]),
            TensorValues.tensor(c.shift, dims: [], type: .uint8, bytes: [4]),
            TensorValues.tensor(c.lastAxis, dims: [1], int64s: [-1]),
        ])
    }

    /// Nodes turning packed bytes `bytes` ([.., H/2]) into uint8 codes `codes` ([.., H]), where
    /// `shape` names the int64 target shape.
    static func unpack(bytes: String, into codes: String, shape: String, base: String, _ c: Constants,
                       names: inout NameAllocator) -> [Node] {
        let low = names.fresh("\(codes)_low"), high = names.fresh("\(codes)_high")
        let low3 = names.fresh("\(codes)_low_pairs"), high3 = names.fresh("\(codes)_high_pairs")
        let pairs = names.fresh("\(codes)_pairs")
        return [
            Node("BitwiseAnd", inputs: [bytes, c.lowMask], outputs: [low], name: names.fresh("\(base)/low_nibbles")),
            Node("BitShift", inputs: [bytes, c.shift], outputs: [high], name: names.fresh("\(base)/high_nibbles"),
                 attributes: [.string("direction", "RIGHT")]),
            Node("Unsqueeze", inputs: [low, c.lastAxis], outputs: [low3], name: names.fresh("\(base)/low_pairs")),
            Node("Unsqueeze", inputs: [high, c.lastAxis], outputs: [high3], name: names.fresh("\(base)/high_pairs")),
            Node("Concat", inputs: [low3, high3], outputs: [pairs], name: names.fresh("\(base)/interleave"),
                 attributes: [.int("axis", -1)]),
            Node("Reshape", inputs: [pairs, shape], outputs: [codes], name: names.fresh("\(base)/codes")),
        ]
    }
}

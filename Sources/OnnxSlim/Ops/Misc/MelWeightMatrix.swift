/// MelWeightMatrix (not evaluated): [floor(dft_length / 2) + 1, num_mel_bins] of `output_datatype`.
enum MelWeightMatrix {
    static let shapeRules: [String: ShapeRule] = ["MelWeightMatrix": { call in
        let bins = try call.requiredDims(0, "num_mel_bins"), length = try call.requiredDims(1, "dft_length")
        guard let b = bins.first, let l = length.first else { throw call.gap("empty inputs") }
        return [.tensor(DataType(Int32(call.int("output_datatype", 1))), [l.floorDiv(2) + 1, b])]
    }]
}

import Foundation

/// `--repair` after `--prune-*` and `--low-rank`: every layer compression changed, and every
/// layer after them, is refit in closed form so its output matches the original model's (the
/// teacher, `PassContext.teacher`) on calibration samples, by `LeastSquaresRefit`.
///
/// 1. Layers: `RepairLayers` pairs each changed MatMul/Gemm/Conv with the teacher's (a Conv is
///    one layer per group, on its input's patches: `ConvPatches`); a pruned layer
///    keeps its structure (only its kept rows or columns are refit), a factored one has its
///    second factor refit (its input is the first factor's output).
/// 2. Sequential, in stages: a layer is fitted on the inputs the student produces once every
///    changed layer before it is repaired, so errors do not accumulate down the network. Each
///    stage runs the student, up to its layers' inputs, on every sample and holds only its own
///    layers' sums; the teacher's outputs come from `TeacherTargets`, many stages per run.
/// 3. One `GraphPatch` per stage replaces the weights (and biases) in place; each layer's
///    teacher-matching error ‖X̃W − Y‖²/‖Y‖² before and after is in the report.
public struct LayerRepairPass: ModelPass {
    public struct Options {
        /// λ = damping · mean(diag X̃ᵀX̃), pulling Ŵ toward the compressed W.
        public var damping = 0.01
        public var calibration = ActivationQDQPass.Calibration()
        /// Bytes of teacher outputs held at once (more stages: more teacher runs).
        public var targetBudget = 512 << 20
        public init() {}
    }

    public var options: Options
    public init(_ options: Options) { self.options = options }

    public var name: String { "repair" }
    public var summary: String { "Refits the layers pruning and low-rank changed, and the layers after them, to the original model's outputs by least squares, layer after layer on the repaired model's own inputs." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 1 }

    /// Samples generated when no calibration folder is given.
    public static let generatedSamples = 8

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        guard let teacher = context.teacher else {
            return PassOutcome(name: name, changed: false, summary: ["no pruning or low-rank ran before it: nothing to repair"])
        }
        var (layers, skippedCounts) = try RepairLayers.find(teacher: teacher, student: model, kept: context.keptIndices, reader: context.reader)
        let skipped = skippedCounts.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
        guard !layers.isEmpty else { return PassOutcome(name: name, changed: false, summary: ["no compressed layer to refit"], skipped: skipped) }
        layers.sort { ($0.stage, $0.layer.node) < ($1.stage, $1.layer.node) }

        let (samples, source) = try CalibrationRun.samples(model, options.calibration, generated: Self.generatedSamples)
        let stages = Array(Set(layers.map(\.stage))).sorted()
        var teacherTargets = try TeacherTargets(teacher: teacher, reader: context.reader, samples: samples,
                                                stages: stages.map { s in Set(layers.filter { $0.stage == s }.map(\.target)) },
                                                budget: options.targetBudget)

        var details: [String] = [], refit = 0, errorBefore = 0.0, errorAfter = 0.0
        for (position, stage) in stages.enumerated() {
            let group = layers.filter { $0.stage == stage }
            // One refit per layer, per group for a grouped Conv (each group its own filters).
            var fits = group.map { l in
                let groups = l.conv?.groups ?? 1
                return [LeastSquaresRefit](repeating: LeastSquaresRefit(inputs: l.layer.inputs, outputs: l.layer.outputs / groups,
                                                                       withBias: l.bias != nil), count: groups)
            }
            var mismatched = Set<Int>()
            var byInput: [String: [Int]] = [:]
            for (k, l) in group.enumerated() { byInput[l.layer.input, default: []].append(k) }
            var targets: [String: NDArray] = [:]
            let studentRun = try Evaluator(model: model.producing(Set(byInput.keys)), reader: context.reader)
            studentRun.observe = { name, x in
                for k in byInput[name] ?? [] where !mismatched.contains(k) {
                    let l = group[k]
                    guard let y = targets[l.target], case .float(let xs) = x.storage, case .float(let ys) = y.storage else {
                        mismatched.insert(k)
                        continue
                    }
                    if let conv = l.conv {
                        // Every output pixel is a row; x's patches are the inputs.
                        guard x.rank == 4, y.rank == 4, x.shape[0] == y.shape[0], x.shape[1] == conv.groups * conv.channels,
                              y.shape[1] == l.targetWidth else { mismatched.insert(k); continue }
                        let outSize = (h: y.shape[2], w: y.shape[3]), rows = y.count / l.targetWidth
                        let pixels = Self.channelsLast(ys, shape: y.shape), width = l.layer.outputs / conv.groups
                        for g in 0..<conv.groups {
                            let columns = (g * width..<(g + 1) * width).map { l.columns?[$0] ?? $0 }
                            fits[k][g].add(x: conv.patches(xs, shape: x.shape, group: g, outSize: outSize), y: pixels, rows: rows,
                                           yWidth: l.targetWidth, columns: columns)
                        }
                        continue
                    }
                    guard xs.count % l.layer.inputs == 0, y.count % l.targetWidth == 0,
                          xs.count / l.layer.inputs == y.count / l.targetWidth else { mismatched.insert(k); continue }
                    fits[k][0].add(x: xs, y: ys, rows: xs.count / l.layer.inputs, yWidth: l.targetWidth, columns: l.columns)
                }
            }
            for (i, s) in samples.enumerated() {
                targets = try teacherTargets.values(stage: position, sample: i)
                for (name, value) in s.values { if case .tensor(let t) = value { studentRun.observe?(name, t) } }
                _ = try studentRun.run(s.values)
            }
            teacherTargets.release(stage: position)

            let index = GraphIndex(model.graph!)
            var patch = GraphPatch("repair")
            for (k, l) in group.enumerated() {
                guard !mismatched.contains(k), fits[k][0].rows > 0 else {
                    details.append("\(l.layer.label): not refit (its input and the teacher's output did not line up on the samples)")
                    continue
                }
                var start = try l.layer.weightMatrix(index, context.reader)
                if let b = l.bias, let t = index.definition(b)?.tensor {
                    start = Matrix(rows: start.rows + 1, cols: start.cols, values: start.values + (try NDArray(tensor: t, reader: context.reader)).asFloats.map(Double.init))
                }
                // Each group's columns of W solved alone; errors summed weighted by each group's ‖Y‖².
                var w = start, before = 0.0, after = 0.0, energy = 0.0, dampings: [Double] = []
                let width = l.layer.outputs / fits[k].count
                for (g, fit) in fits[k].enumerated() {
                    let columns = g * width..<(g + 1) * width
                    let (refit, b, a, damping) = try fit.solve(from: start.columns(columns), damping: options.damping)
                    before += b * fit.energy
                    after += a * fit.energy
                    energy += fit.energy
                    guard let damping else { continue }
                    dampings.append(damping)
                    for r in 0..<w.rows { for (j, c) in columns.enumerated() { w[r, c] = refit[r, j] } }
                }
                before /= max(energy, .leastNormalMagnitude)
                after /= max(energy, .leastNormalMagnitude)
                guard !dampings.isEmpty else {
                    details.append("\(l.layer.label): kept (no refit on half the samples did better on the other half; error \(Self.format(before)), stage \(stage))")
                    continue
                }
                let damping = dampings.sorted()[dampings.count / 2]
                let inputs = l.layer.inputs
                var weight = (l.layer.transposed ? w.rows(0..<inputs).transposed : w.rows(0..<inputs)).ndarray().tensor(name: l.layer.weight)
                weight.dims = index.definition(l.layer.weightKey)!.tensor.dims
                patch.add(.replaceWeight(l.layer.weightKey, weight))
                if let b = l.bias {
                    var bias = w.rows(inputs..<(inputs + 1)).ndarray().tensor(name: b.name)
                    bias.dims = [Int64(l.layer.outputs)]
                    patch.add(.replaceWeight(b, bias))
                }
                refit += 1
                errorBefore += before
                errorAfter += after
                let groups = fits[k].count
                details.append("\(l.layer.label): teacher-matching error \(Self.format(before)) → \(Self.format(after)) (stage \(stage), damping \(damping)"
                               + (groups == 1 ? "" : " (median of \(groups) groups, \(groups - dampings.count) kept)")
                               + "\(l.changed ? "" : ", downstream")\(l.bias == nil ? "" : ", with its bias")\(l.columns == nil ? "" : ", \(l.layer.outputs) of \(l.targetWidth) outputs kept"))")
            }
            model = try patch.applied(to: model)
        }
        let n = Double(max(refit, 1))
        var summary = ["\(refit) of \(layers.count) compressed or downstream layers refit in \(stages.count) stages on \(source) "
                       + "(the original model run \(teacherTargets.runs) time\(teacherTargets.runs == 1 ? "" : "s") per sample)"]
        if refit > 0 { summary.append("mean teacher-matching error of those refit \(Self.format(errorBefore / n)) → \(Self.format(errorAfter / n))") }
        return PassOutcome(name: name, changed: refit > 0, summary: summary, skipped: skipped, details: details)
    }

    /// [N, C, rest…] values as [N, rest…, C].
    static func channelsLast(_ v: [Float], shape: [Int]) -> [Float] {
        let n = shape[0], c = shape[1], pixels = shape[2...].reduce(1, *)
        var out = [Float](repeating: 0, count: v.count)
        for b in 0..<n {
            for ch in 0..<c {
                let from = (b * c + ch) * pixels
                for p in 0..<pixels { out[(b * pixels + p) * c + ch] = v[from + p] }
            }
        }
        return out
    }

    static func format(_ e: Double) -> String { String(format: "%.5f", e) }
}

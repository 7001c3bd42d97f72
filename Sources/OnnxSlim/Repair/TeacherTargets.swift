/// The teacher's outputs repair fits each stage's layers to, per calibration sample. The teacher
/// does not change, so one run of it can serve many stages: stages are taken in windows whose
/// outputs over every sample fit `budget` bytes, and each window costs one teacher run per sample
/// (of the teacher up to those outputs only). A stage's outputs are dropped once it is fitted.
/// The sizes come from one probe run on the first sample.
struct TeacherTargets {
    private let teacher: Model
    private let reader: ExternalDataReader
    private let samples: [ModelInputs]
    private let stages: [Set<String>]
    private let bytes: [String: Int]
    private let budget: Int
    /// Stages whose values are held, and the values by sample.
    private var window = 0..<0
    private var held: [[String: NDArray]] = []
    /// Teacher runs so far, per sample (the report's cost line).
    private(set) var runs = 0

    init(teacher: Model, reader: ExternalDataReader, samples: [ModelInputs], stages: [Set<String>], budget: Int) throws {
        self.teacher = teacher
        self.reader = reader
        self.samples = samples
        self.stages = stages
        self.budget = budget
        var bytes: [String: Int] = [:]
        if let first = samples.first, stages.count > 1 {
            let all = stages.reduce(into: Set<String>()) { $0.formUnion($1) }
            let probe = try Evaluator(model: teacher.producing(all), reader: reader)
            probe.observe = { name, value in if all.contains(name) { bytes[name] = value.count * 4 } }
            for (name, value) in first.values { if case .tensor(let t) = value, all.contains(name) { bytes[name] = t.count * 4 } }
            _ = try probe.run(first.values)
        }
        self.bytes = bytes
    }

    /// The teacher values stage `stage` (its position) needs on sample `sample`.
    mutating func values(stage: Int, sample: Int) throws -> [String: NDArray] {
        if !window.contains(stage) { try load(from: stage) }
        return held[sample]
    }

    /// Forgets a fitted stage's values (a value is one layer's output: no other stage reads it).
    mutating func release(stage: Int) {
        guard window.contains(stage) else { return }
        for i in held.indices { for name in stages[stage] { held[i][name] = nil } }
    }

    /// Runs the teacher for the stages from `first` on, as many as fit the budget (one at least).
    private mutating func load(from first: Int) throws {
        var end = first + 1, total = stageBytes(first)
        while end < stages.count, total + stageBytes(end) <= budget {
            total += stageBytes(end)
            end += 1
        }
        window = first..<end
        let wanted = stages[window].reduce(into: Set<String>()) { $0.formUnion($1) }
        held = Array(repeating: [:], count: samples.count)
        let run = try Evaluator(model: teacher.producing(wanted), reader: reader)
        var current: [String: NDArray] = [:]
        run.observe = { name, value in if wanted.contains(name) { current[name] = value } }
        for (i, s) in samples.enumerated() {
            current = [:]
            for (name, value) in s.values { if case .tensor(let t) = value, wanted.contains(name) { current[name] = t } }
            _ = try run.run(s.values)
            held[i] = current
        }
        current = [:]
        runs += 1
    }

    /// Bytes a stage's values take over every sample (unknown sizes count as none).
    private func stageBytes(_ stage: Int) -> Int {
        stages[stage].reduce(0) { $0 + (bytes[$1] ?? 0) } * samples.count
    }
}

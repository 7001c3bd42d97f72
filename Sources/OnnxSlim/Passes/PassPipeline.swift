/// Runs passes in order on one model: upgrades the opset first when a pass needs a newer one,
/// checks the graph after every pass (a pass that breaks it stops the run, naming the pass,
/// before anything is written), keeps the graph's input and output names, and finishes by
/// dropping value_info declarations the passes made stale.
public struct PassPipeline {
    public var passes: [any ModelPass]

    public init(_ passes: [any ModelPass]) { self.passes = passes }

    /// One outcome per pass that ran (opset upgrades the pipeline inserted included), and the
    /// value_info check when it acted.
    public func run(_ model: inout Model, _ context: PassContext,
                    afterEach: (any ModelPass) -> Void = { _ in }) throws -> [PassOutcome] {
        let inputs = Self.feeds(model), outputs = model.graph?.outputs.map(\.name) ?? []
        var outcomes: [PassOutcome] = []
        func apply(_ pass: any ModelPass) throws {
            if pass is any LayerCompressingPass, context.teacher == nil { context.teacher = model }
            let outcome = try pass.run(&model, context)
            context.changedSoFar = context.changedSoFar || outcome.changed
            outcomes.append(outcome)
            if outcome.changed { try check(model, after: pass, inputs: inputs, outputs: outputs) }
            afterEach(pass)
        }
        // One upgrade up front for everything the passes need on the model as given, so the
        // passes see one opset; a later pass that needs more still gets its upgrade.
        // An upgrade the caller asked for first absorbs it.
        var passes = self.passes
        let upFront = try passes.map { try $0.requiredOpset(model) }.max() ?? 1
        if let asked = passes.first as? OpsetUpgradePass {
            passes[0] = OpsetUpgradePass(target: max(asked.target, upFront))
        } else if upFront > (model.opsetVersion() ?? 1), model.graph != nil {
            passes.insert(OpsetUpgradePass(target: upFront), at: 0)
        }
        // Asked again only once an earlier pass rewrote the model (the up-front answers hold until then).
        var rewritten = false
        for pass in passes {
            if rewritten {
                let needed = try pass.requiredOpset(model)
                if needed > (model.opsetVersion() ?? 1), model.graph != nil { try apply(OpsetUpgradePass(target: needed)) }
            }
            try apply(pass)
            rewritten = rewritten || (outcomes.last?.changed == true && !(pass is OpsetUpgradePass))
        }
        // Declarations the passes made stale would fail onnx's checker; reported only when it acts.
        let declarations = try StaleValueInfoPass().run(&model, context)
        if declarations.changed || !declarations.skipped.isEmpty { outcomes.append(declarations) }
        return outcomes
    }

    /// The model after `pass` must still be a graph onnx-slim would load, with the same inputs and outputs.
    func check(_ model: Model, after pass: any ModelPass, inputs: [String], outputs: [String]) throws {
        do {
            try ModelValidator(fileName: "the model after pass '\(pass.name)'").validate(model)
        } catch let error as OnnxSlimError {
            throw OnnxSlimError(.badInput, "internal error, nothing written: \(error.message)")
        }
        guard Self.feeds(model) == inputs, model.graph?.outputs.map(\.name) ?? [] == outputs else {
            throw OnnxSlimError(.badInput, "internal error, nothing written: pass '\(pass.name)' changed the graph's inputs or outputs")
        }
    }

    /// The graph inputs a caller feeds: inputs that are not initializers (IR 3 lists weights as
    /// inputs too, and storage passes may rename those).
    static func feeds(_ model: Model) -> [String] {
        guard let g = model.graph else { return [] }
        let weights = Set(g.initializers.map(\.name))
        return g.inputs.map(\.name).filter { !weights.contains($0) }
    }
}

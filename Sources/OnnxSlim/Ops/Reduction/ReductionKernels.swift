/// Reductions, ArgMax/ArgMin, TopK, CumSum: the evaluator's kernels of this family, by operator type.
enum ReductionKernels {
    static let table: [String: Kernel] = Reduce.table
        .merging(ArgMinMax.table) { a, _ in a }
        .merging(TopK.table) { a, _ in a }
        .merging(CumSum.table) { a, _ in a }
}

extension ReductionKernels {
    static let shapeRules: [String: ShapeRule] = Reduce.shapeRules
        .merging(ArgMinMax.shapeRules) { a, _ in a }
        .merging(TopK.shapeRules) { a, _ in a }
        .merging(CumSum.shapeRules) { a, _ in a }
}

extension ReductionKernels {
    /// A reduction mixes the units of a reduced axis; the kept axes keep theirs (shifted when
    /// the reduced axes drop).
    static func reductionAxes(axesInputFrom opset: Int, single: Bool) -> AxisRule {
        { call, from, u in
            guard from == .input(0) || from == .output(0) else { return .tied([]) }
            guard let rank = call.rank(.input(0)) else { return .opaque("rank unknown") }
            var axes: [Int]
            if single {
                axes = [call.int("axis", 0)]
            } else if call.opset >= opset {
                guard !call.hasInput(1) || call.knownValues(1) != nil else { return .opaque("axes known only at run time") }
                axes = call.hasInput(1) ? call.knownValues(1)! : []
            } else {
                axes = call.ints("axes") ?? []
            }
            if axes.isEmpty && call.int("noop_with_empty_axes", 0) == 0 { axes = Array(0..<rank) }
            let reduced = Set(axes.map { AxisRules.normalize($0, rank: rank) })
            let keep = call.int("keepdims", 1) != 0
            let kept = (0..<rank).filter { keep || !reduced.contains($0) }
            if from == .input(0) {
                if reduced.contains(u.axis) { return .opaque("reduced over the axis") }
                return .tied([(.output(0), u.on(axis: kept.firstIndex(of: u.axis)!))])
            }
            guard u.axis < kept.count, !reduced.contains(kept[u.axis]) else { return .opaque("reduced over the axis") }
            return .tied([(.input(0), u.on(axis: kept[u.axis]))])
        }
    }

    static let axisRules: [String: AxisRule] = {
        var all: [String: AxisRule] = [:]
        for op in Reduce.table.keys { all[op] = reductionAxes(axesInputFrom: op == "ReduceSum" ? 13 : 18, single: false) }
        for op in ArgMinMax.table.keys { all[op] = reductionAxes(axesInputFrom: .max, single: true) }
        // TopK and CumSum act along one axis and keep the others.
        all["TopK"] = { call, from, u in
            guard let rank = call.rank(.input(0)), from != .input(1) else { return .opaque("TopK k") }
            if u.axis == AxisRules.normalize(call.int("axis", -1), rank: rank) { return .opaque("TopK along the axis") }
            return .tied(([NodePort.input(0), .output(0), .output(1)]).filter { $0 != from }.map { ($0, u) })
        }
        all["CumSum"] = { call, from, u in
            guard let rank = call.rank(.input(0)), let axis = call.knownValues(1)?.first else { return .opaque("CumSum axis unknown") }
            if from == .input(1) || u.axis == AxisRules.normalize(axis, rank: rank) { return .opaque("summed along the axis") }
            return AxisRules.identity(call, from, u)
        }
        return all
    }()
}

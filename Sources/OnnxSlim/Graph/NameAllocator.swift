/// Hands out value and node names that no graph of the model uses yet.
public struct NameAllocator {
    private var taken: Set<String>

    public init(_ model: Model) {
        var names = Set<String>()
        func collect(_ g: Graph) {
            for v in g.inputs + g.outputs + g.valueInfo { names.insert(v.name) }
            for t in g.initializers { names.insert(t.name) }
            for s in g.sparseInitializers { if let n = s.values?.name { names.insert(n) } }
            for n in g.nodes {
                names.insert(n.name)
                for o in n.outputs { names.insert(o) }
                for i in n.inputs { names.insert(i) }
                for sub in n.subgraphs { collect(sub) }
            }
        }
        if let g = model.graph { collect(g) }
        for f in model.functions { for n in f.nodes { names.insert(n.name); names.formUnion(n.outputs) } }
        taken = names
    }

    /// `base` if free, else `base_1`, `base_2`, …; the name is reserved.
    public mutating func fresh(_ base: String) -> String {
        var name = base
        var k = 1
        while taken.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        taken.insert(name)
        return name
    }
}

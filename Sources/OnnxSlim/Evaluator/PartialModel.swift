extension Model {
    /// The model with only the main-graph nodes `names` depend on, and those names as its outputs:
    /// an evaluator run of it computes what is asked and nothing after (repair asks for one
    /// stage's layer inputs). Inputs and weights stay (weights are decoded only when read).
    func producing(_ names: Set<String>) -> Model {
        guard var graph = self.graph else { return self }
        let scope = GraphIndex(graph, weights: false).main
        var needed = names, keep = Set<Int>(), stack = Array(names)
        while let name = stack.popLast() {
            guard let site = scope.producers[name], keep.insert(site.node).inserted else { continue }
            for read in scope.nodeReads[site.node] where needed.insert(read).inserted { stack.append(read) }
        }
        graph.nodes = graph.nodes.enumerated().filter { keep.contains($0.offset) }.map(\.element)
        graph.outputs = names.sorted().map { ValueInfo(name: $0, type: nil) }
        var model = self
        model.graph = graph
        return model
    }
}

import XCTest
@testable import OnnxSlim

/// The pass pipeline: opset upgrades a pass needs come first, and a pass that breaks the graph
/// or its signature stops the run with an error naming it.
final class PassPipelineTests: XCTestCase {
    /// A pass that applies `edit` and claims opset `opset`.
    private struct EditPass: ModelPass {
        var name: String
        var opset: Int64 = 1
        var edit: (inout Model) -> Void
        var summary: String { "edits the model for a test" }
        func requiredOpset(_ model: Model) throws -> Int64 { opset }
        func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
            edit(&model)
            return PassOutcome(name: name, changed: true, summary: ["edited"])
        }
    }

    func testAPassNeedingANewerOpsetGetsOneUpgradeFirst() throws {
        var m = TestSupport.smallModel()
        m.opsetImports = [OperatorSetID(version: 11)]
        let pass = EditPass(name: "rename node", opset: 13) { $0.mainGraph.nodes[0].name = "renamed" }
        let outcomes = try PassPipeline([pass, pass]).run(&m, PassContext())
        XCTAssertEqual(outcomes.map(\.name), ["opset 11 → 13", "rename node", "rename node"])
        XCTAssertEqual(m.opsetVersion(), 13)
    }

    func testAnAskedUpgradeAbsorbsWhatThePassesNeed() throws {
        var m = TestSupport.smallModel()
        m.opsetImports = [OperatorSetID(version: 11)]
        let pass = EditPass(name: "needs 17", opset: 17) { _ in }
        let outcomes = try PassPipeline([OpsetUpgradePass(target: 13), pass]).run(&m, PassContext())
        XCTAssertEqual(outcomes.map(\.name), ["opset 11 → 17", "needs 17"])
    }

    func testAPassThatBreaksTheGraphIsNamed() {
        var m = TestSupport.smallModel()
        let breaking = EditPass(name: "drop matmul") { $0.mainGraph.nodes.removeFirst() }
        XCTAssertThrowsError(try PassPipeline([breaking]).run(&m, PassContext())) { error in
            let message = (error as? OnnxSlimError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("internal error, nothing written: the model after pass 'drop matmul': "), message)
            XCTAssertTrue(message.hasSuffix("uses 'h', which nothing produces"), message)
        }
    }

    func testAPassThatChangesTheSignatureIsNamed() {
        var m = TestSupport.smallModel()
        let renaming = EditPass(name: "rename output") { model in
            model.mainGraph.outputs[0].name = "z"
            model.mainGraph.nodes[1].outputs = ["z"]
        }
        XCTAssertThrowsError(try PassPipeline([renaming]).run(&m, PassContext())) { error in
            XCTAssertEqual((error as? OnnxSlimError)?.message,
                           "internal error, nothing written: pass 'rename output' changed the graph's inputs or outputs")
        }
    }
}

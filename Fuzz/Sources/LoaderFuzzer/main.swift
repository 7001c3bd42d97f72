import CFuzzerDriver
import OnnxSlim
#if canImport(Glibc)
import Glibc
#endif

/// Any bytes must load or fail with OnnxSlimError; a model that loads must re-encode and load
/// again to the same IR.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let model = try ModelLoader.load(bytes: bytes, name: "fuzz.onnx")
        let again = try ModelLoader.load(bytes: try ModelSaver.serialize(model), name: "again.onnx")
        if again != model { fatalError("re-encoded model differs") }
    } catch is OnnxSlimError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

// SwiftPM gives executables their own main; hand control to libFuzzer's driver from it.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) })

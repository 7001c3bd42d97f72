import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS, opened at first use rather than linked.
///
/// Why: OpenBLAS chooses its kernels once, in its load-time constructor, from the CPU model it
/// knows. Debian's build (0.3.21) does not know recent Xeons and falls back to "Prescott" (SSE3),
/// which runs sgemm 2–3x slower. The core type can only be overridden by `OPENBLAS_CORETYPE`
/// before the library loads, so we read the CPU's features, set it when the user has not, and
/// then `dlopen` the library.
enum BLASLibrary {
    typealias Order = CBLAS_ORDER
    typealias Transpose = CBLAS_TRANSPOSE
    typealias Sgemm = @convention(c) (Order, Transpose, Transpose, blasint, blasint, blasint, Float,
                                      UnsafePointer<Float>?, blasint, UnsafePointer<Float>?, blasint, Float,
                                      UnsafeMutablePointer<Float>?, blasint) -> Void
    typealias Dgemm = @convention(c) (Order, Transpose, Transpose, blasint, blasint, blasint, Double,
                                      UnsafePointer<Double>?, blasint, UnsafePointer<Double>?, blasint, Double,
                                      UnsafeMutablePointer<Double>?, blasint) -> Void
    typealias Sgemv = @convention(c) (Order, Transpose, blasint, blasint, Float, UnsafePointer<Float>?, blasint,
                                      UnsafePointer<Float>?, blasint, Float, UnsafeMutablePointer<Float>?, blasint) -> Void
    typealias Ssyrk = @convention(c) (Order, CBLAS_UPLO, Transpose, blasint, blasint, Float, UnsafePointer<Float>?, blasint,
                                      Float, UnsafeMutablePointer<Float>?, blasint) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias CoreName = @convention(c) () -> UnsafeMutablePointer<CChar>?

    struct Functions {
        let sgemm: Sgemm, dgemm: Dgemm, sgemv: Sgemv, setThreads: SetThreads, coreName: CoreName
    }

    /// The opened library; failure is fatal (the package installs libopenblas).
    static let handle: UnsafeMutableRawPointer = {
        chooseCoreType()
        let names = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"]
        guard let handle = names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_GLOBAL) }).first else {
            fatalError("onnx-slim: cannot load OpenBLAS (install libopenblas0 / libopenblas-dev)")
        }
        return handle
    }()

    /// An entry point of the library (BLAS, CBLAS, or the LAPACK routines OpenBLAS bundles).
    static func symbol<T>(_ name: String, as _: T.Type) -> T {
        guard let p = dlsym(handle, name) else { fatalError("onnx-slim: OpenBLAS lacks \(name)") }
        return unsafeBitCast(p, to: T.self)
    }

    static let functions = Functions(sgemm: symbol("cblas_sgemm", as: Sgemm.self), dgemm: symbol("cblas_dgemm", as: Dgemm.self),
                                     sgemv: symbol("cblas_sgemv", as: Sgemv.self),
                                     setThreads: symbol("openblas_set_num_threads", as: SetThreads.self),
                                     coreName: symbol("openblas_get_corename", as: CoreName.self))

    static let ssyrk = symbol("cblas_ssyrk", as: Ssyrk.self)

    /// The kernel family OpenBLAS runs with ("SkylakeX", "Haswell", …).
    static var coreName: String {
        guard let p = functions.coreName() else { return "unknown" }
        return String(cString: p)
    }

    /// Sets `OPENBLAS_CORETYPE` from the CPU's flags unless the user set it: AVX-512 (F, BW, VL,
    /// DQ) → SkylakeX, AVX2 + FMA → Haswell; otherwise OpenBLAS's own detection stands.
    static func chooseCoreType() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let core = coreType(cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", core, 0)
    }

    static func coreType(cpuFlags flags: Set<Substring>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// The first "flags" line of /proc/cpuinfo (Linux); empty elsewhere.
    static func cpuFlags() -> Set<Substring> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " "))
    }
}

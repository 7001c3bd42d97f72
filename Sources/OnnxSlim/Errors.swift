/// Errors that reach the user as one line. `exitCode` follows the CLI contract:
/// 1 usage, 2 bad input, 3 a verification bound breached, 4 an I/O failure on our side.
public struct OnnxSlimError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case usage, badInput, verification, io }
    public var kind: Kind
    public var message: String

    /// Control characters (from names in a damaged file, say) are escaped: the message stays one line.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        var clean = ""
        for scalar in message.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                clean += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
            } else {
                clean.unicodeScalars.append(scalar)
            }
        }
        self.message = clean
    }

    public static func badInput(_ file: String, _ problem: String) -> OnnxSlimError {
        OnnxSlimError(.badInput, "\(file): \(problem)")
    }

    public static func usage(_ message: String) -> OnnxSlimError { OnnxSlimError(.usage, message) }

    public var exitCode: Int32 {
        switch kind {
        case .usage: return 1
        case .badInput: return 2
        case .verification: return 3
        case .io: return 4
        }
    }

    public var description: String { message }
}

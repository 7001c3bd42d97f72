import ArgumentParser
import OnnxSlim
#if canImport(Glibc)
import Glibc
#endif

/// Runs the command and maps failures to the documented exit codes with a one-line message.
func runMain() -> Int32 {
    if CommandLine.arguments.count == 1 {
        fputs(OnnxSlimCommand.helpMessage() + "\n", stderr)
        return 1
    }
    do {
        var command = try OnnxSlimCommand.parseAsRoot(VerifyOptions.normalize(Array(CommandLine.arguments.dropFirst())))
        try command.run()
        return 0
    } catch let error as OnnxSlimError {
        fputs("onnx-slim: \(error.message)\n", stderr)
        return error.exitCode
    } catch {
        let code = OnnxSlimCommand.exitCode(for: error)
        if code == .success {
            print(OnnxSlimCommand.fullMessage(for: error))
            return 0
        }
        let message = OnnxSlimCommand.message(for: error)
        fputs("onnx-slim: \(message.split(separator: "\n").first ?? "") (see onnx-slim --help)\n", stderr)
        return 1
    }
}

exit(runMain())

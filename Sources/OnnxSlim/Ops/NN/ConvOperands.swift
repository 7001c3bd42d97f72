/// The float operands of Conv and ConvTranspose, read and checked once: X [N, C, spatial…],
/// W of the same rank, optional B, and the kernel size (W's trailing dims, which a
/// `kernel_shape` attribute must repeat).
struct ConvOperands {
    let x: NDArray, xv: [Float], w: NDArray, wv: [Float], b: NDArray?
    var kernel: [Int] { Array(w.shape.dropFirst(2)) }
    var spatial: [Int] { Array(x.shape.dropFirst(2)) }

    init(_ call: KernelCall) throws {
        x = try call.tensor(0)
        w = try call.tensor(1)
        b = try call.optionalTensor(2)
        guard let xv = x.floats, let wv = w.floats else { throw call.unsupported("\(call.node.opType) on \(x.dataType)") }
        guard x.rank >= 3, w.rank == x.rank else { throw call.failure("input \(x.shape) and weight \(w.shape) ranks") }
        (self.xv, self.wv) = (xv, wv)
        if let ks = call.ints("kernel_shape"), ks != Array(w.shape.dropFirst(2)) {
            throw call.failure("kernel_shape \(ks) disagrees with weight \(w.shape)")
        }
    }
}

"""Runs models in onnxruntime from a job list; started under qemu-user by emulated_cpu.py.

    python ort_runner.py jobs.json

Each job is {"model": path, "inputs": npz, "outputs": npz}: the model runs single-threaded on the
arrays of ``inputs`` (named after graph inputs) and its outputs are saved to ``outputs`` in graph
order (``out0``, ``out1``, …). A job that fails writes ``{"error": message}`` into ``outputs + ".err"``.
Also writes the saturation probe's answer to ``jobs.json + ".probe"``.

Kept free of the test helpers (numpy and onnxruntime only): under emulation every import costs.
"""

import json
import sys

import numpy as np
import onnxruntime as ort


def probe_model(k: int = 64) -> bytes:
    """MatMulInteger, A = 255 (uint8, [1, K]) times B = 127 (int8, [K, 1]): exact answer 255·127·K."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    a = helper.make_tensor_value_info("a", TensorProto.UINT8, [1, k])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [1, 1])
    b = numpy_helper.from_array(np.full((k, 1), 127, np.int8), "b")
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "probe", [a], [y], [b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


def saturation_probe(k: int = 64) -> int:
    """What this CPU's onnxruntime answers for the probe (2,072,640 when exact; 1,048,544 on x86
    without VNNI, whose int16 pair sums saturate at 32767)."""
    session = ort.InferenceSession(probe_model(k), providers=["CPUExecutionProvider"])
    return int(session.run(None, {"a": np.full((1, k), 255, np.uint8)})[0][0, 0])


def main(jobs_path: str) -> None:
    with open(jobs_path) as f:
        jobs = json.load(f)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    for job in jobs:
        try:
            session = ort.InferenceSession(job["model"], options, providers=["CPUExecutionProvider"])
            feeds = dict(np.load(job["inputs"]))
            outputs = session.run(None, feeds)
            np.savez(job["outputs"], **{f"out{k}": v for k, v in enumerate(outputs)})
        except Exception as e:  # reported per job; the others still run
            with open(job["outputs"] + ".err", "w") as f:
                json.dump({"error": str(e).splitlines()[0][:500]}, f)
    with open(jobs_path + ".probe", "w") as f:
        json.dump({"value": saturation_probe()}, f)


if __name__ == "__main__":
    main(sys.argv[1])

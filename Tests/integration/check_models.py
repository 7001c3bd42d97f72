"""Checks models in a child process: onnx's checker and onnxruntime abort (SIGABRT) on some
models with negative dims, which would take the test process with them.

    python check_models.py MODEL...   prints one JSON line per model as it is checked:
    {"path": ..., "problem": null | "why"}; a model after the last line printed aborted."""
import json
import sys

import onnx

from slim_helpers import ort_session, random_feed


def problem(path: str) -> str | None:
    """None when the model passes the full checker and runs in onnxruntime, else why not."""
    try:
        onnx.checker.check_model(path, full_check=True)
        session = ort_session(path)
        session.run(None, random_feed(session, onnx.load(path)))
        return None
    except Exception as e:  # the checker and onnxruntime raise several exception types
        return str(e).splitlines()[0][:200]


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(json.dumps({"path": p, "problem": problem(p)}), flush=True)

"""pytest configuration for the onnx-slim integration suite.

Run from the repository root:

    ONNX_SLIM_BIN=/path/to/onnx-slim /tmp/venv/bin/python -m pytest Tests/integration

The binary defaults to .build/release/onnx-slim. It is copied once per session
into a temporary folder so that a rebuild during the run cannot mix versions.
"""

from __future__ import annotations

import os
import shutil
import stat

import pytest

import slim_helpers

_SUMMARY_KEY = pytest.StashKey[list]()


def _configured_binary() -> str:
    return os.environ.get("ONNX_SLIM_BIN", slim_helpers.DEFAULT_BIN)


def pytest_report_header(config):
    return f"onnx-slim binary: {_configured_binary()}"


@pytest.fixture(scope="session")
def slim_bin(tmp_path_factory) -> str:
    """Path of a private copy of the onnx-slim binary under test."""
    src = _configured_binary()
    if not os.path.isfile(src):
        pytest.fail(f"onnx-slim binary not found at {src} (set ONNX_SLIM_BIN)", pytrace=False)
    dst = tmp_path_factory.mktemp("bin") / "onnx-slim"
    shutil.copy2(src, dst)
    dst.chmod(dst.stat().st_mode | stat.S_IXUSR)
    return str(dst)


@pytest.fixture
def slim(slim_bin):
    """``slim(*args)`` runs the binary and returns the CompletedProcess."""
    def run(*args, timeout: float = slim_helpers.TIMEOUT):
        return slim_helpers.run_slim(slim_bin, *args, timeout=timeout)
    return run


@pytest.fixture(scope="session")
def minilm(tmp_path_factory):
    """The trained MiniLM model and 32 lee_background calibration sentences (written once)."""
    import task_metrics as tm
    path = tm.trained_models.ensure("minilm")["model"]
    calibration = tm.write_minilm_calibration(str(tmp_path_factory.mktemp("minilm_calibration")))
    return path, calibration


@pytest.fixture
def summary_lines(request) -> list:
    """Lines printed in the terminal summary at the end of the run."""
    return request.config.stash.setdefault(_SUMMARY_KEY, [])


@pytest.fixture(scope="session")
def session_summary_lines(pytestconfig) -> list:
    """The same list as ``summary_lines``, for session-scoped fixtures that
    add lines when they are torn down (e.g. a table built over many tests)."""
    return pytestconfig.stash.setdefault(_SUMMARY_KEY, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(_SUMMARY_KEY, [])
    if lines:
        terminalreporter.section("onnx-slim summary")
        for line in lines:
            terminalreporter.write_line(line)

"""A short run of the fuzzer (``bench/fuzz_ingest.py``): no input may end in a traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.test_cli import run_cli

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_ingest.py"


def _fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_ingest", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_inputs_give_a_letter_or_a_clean_error():
    results = _fuzzer().fuzz(400, seed=7, show=0)
    assert results["traceback"] == 0, results
    assert results["letter"] > 0 and results["clean error"] > 0  # both kinds of input occur


def test_a_damaged_pdf_is_one_error_line_and_nothing_else(tmp_path):
    path = tmp_path / "kst-28676-1.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    result = run_cli("segment", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")

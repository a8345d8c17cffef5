"""The micro-benchmarks run, and `benchmarks/micro/compare.py` judges ratios as documented."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "benchmarks" / "micro"


@pytest.fixture(scope="module")
def compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("micro_compare", MICRO / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _run_json(calibration: float = 10e-6, **times: float) -> dict[str, Any]:
    """What `pytest --benchmark-json` writes, reduced to the fields compare.py reads."""
    entries = {"test_calibration": calibration, **times}
    return {
        "machine_info": {"python_version": "3.11.7", "cpu": {"brand_raw": "Test CPU", "count": 2}},
        "benchmarks": [
            {
                "name": name,
                "fullname": f"benchmarks/micro/test_hot_paths.py::{name}",
                "stats": {"min": value, "median": value * 1.02, "mean": value * 1.05},
            }
            for name, value in entries.items()
        ],
        "datetime": "2026-01-01T00:00:00+00:00",
        "version": "5.3.1",
    }


def _baseline_json(**ratios: float) -> dict[str, Any]:
    return {"statistic": "min", "ratios": ratios}


def _write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), "utf-8")
    return path


@pytest.fixture
def judge(compare: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run compare.py's main on a run and a baseline; answer the exit code, stdout, stderr."""

    def judge_(run: Any, baseline: Any, *extra: str) -> tuple[int, str, str]:
        argv = ["--run", str(_write(tmp_path / "run.json", run))]
        if baseline is not None:
            argv += ["--baseline", str(_write(tmp_path / "baseline.json", baseline))]
        else:
            argv += ["--baseline", str(tmp_path / "absent.json")]
        code = compare.main([*argv, *extra])
        out, err = capsys.readouterr()
        return code, out, err

    return judge_


def _verdicts(out: str) -> dict[str, str]:
    """Benchmark name to verdict, from the table's rows."""
    rows = [line.split() for line in out.splitlines()[1:]]
    return {row[0]: row[-1] for row in rows if len(row) == 5}


def test_within_margin_passes(judge: Any) -> None:
    # 20 µs against a 10 µs calibration is a ratio of 2.0; 2.4 is 20 % up, inside 25 %.
    code, out, _ = judge(_run_json(a=20e-6, b=24e-6), _baseline_json(a=2.0, b=2.0))
    assert code == 0
    assert _verdicts(out) == {"a": "ok", "b": "ok"}


def test_ratio_rise_beyond_margin_fails(judge: Any) -> None:
    code, out, _ = judge(_run_json(a=20e-6, b=26e-6), _baseline_json(a=2.0, b=2.0))
    assert code == 1
    assert _verdicts(out) == {"a": "ok", "b": "REGRESSION"}
    assert "+30.0%" in out and "1 failed (b)" in out


def test_margin_option(judge: Any) -> None:
    run, baseline = _run_json(b=26e-6), _baseline_json(b=2.0)
    assert judge(run, baseline, "--margin", "35")[0] == 0
    assert judge(run, baseline, "--margin", "25")[0] == 1


def test_slower_machine_alone_is_no_regression(judge: Any) -> None:
    # Everything twice as slow, calibration included: the ratios have not moved.
    code, _, _ = judge(_run_json(calibration=20e-6, a=40e-6), _baseline_json(a=2.0))
    assert code == 0


def test_missing_from_run_fails_and_new_in_run_is_noted(judge: Any) -> None:
    code, out, _ = judge(_run_json(a=20e-6, c=5e-6), _baseline_json(a=2.0, b=1.0))
    assert code == 1
    assert _verdicts(out) == {"a": "ok", "b": "MISSING", "c": "new"}
    assert "1 failed (b)" in out
    assert "not in the baseline yet (refresh with make bench-baseline): c" in out


def test_only_new_benchmarks_pass(judge: Any) -> None:
    code, out, _ = judge(_run_json(a=20e-6, c=5e-6), _baseline_json(a=2.0))
    assert code == 0
    assert "not in the baseline yet" in out


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        (None, "absent.json: not found; make bench-baseline writes it"),
        ("{not json", "not valid JSON"),
        ([1, 2], "expected a JSON object"),
        ({"statistic": "min", "ratios": {}}, "'ratios' must map"),
        ({"statistic": "min", "ratios": {"a": "fast"}}, "'ratios' must map"),
        ({"statistic": "p95", "ratios": {"a": 1.0}}, "'statistic' must be one of"),
    ],
    ids=["absent", "not-json", "not-object", "empty", "not-number", "statistic"],
)
def test_unusable_baseline_is_one_line_and_exit_2(judge: Any, baseline: Any, message: str) -> None:
    code, out, err = judge(_run_json(a=20e-6), baseline)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"benchmarks": []}, "--benchmark-disable"),
        ({"benchmarks": [{"name": "a", "stats": {"min": 1e-6}}]}, "no test_calibration"),
        ({"tests": []}, "not pytest-benchmark JSON"),
    ],
    ids=["no-timings", "no-calibration", "other-json"],
)
def test_unusable_run_is_one_line_and_exit_2(judge: Any, run: Any, message: str) -> None:
    code, _, err = judge(run, _baseline_json(a=2.0))
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_write_baseline_then_compare_the_same_run(
    compare: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _write(tmp_path / "run.json", _run_json(a=20e-6, b=5e-6))
    baseline = tmp_path / "baseline.json"
    assert compare.main(["--run", str(run), "--baseline", str(baseline), "--write-baseline"]) == 0
    written = json.loads(baseline.read_text("utf-8"))
    assert written["ratios"] == {"a": 2.0, "b": 0.5}
    assert written["statistic"] == "min"
    assert written["measured_on"]["cpu"] == "Test CPU"
    assert compare.main(["--run", str(run), "--baseline", str(baseline)]) == 0
    assert "all within" in capsys.readouterr().out


def test_help_states_the_margin() -> None:
    result = subprocess.run(
        [sys.executable, str(MICRO / "compare.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "in percent (default 25;" in " ".join(result.stdout.split())


def test_benchmarks_run_and_the_baseline_names_them_all(compare: ModuleType) -> None:
    # Each benchmark once, untimed: a broken benchmark fails here rather than only in make bench.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks/micro",
            "--benchmark-disable",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-rA",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ran = {
        line.split("::", 1)[1]
        for line in result.stdout.splitlines()
        if line.startswith("PASSED benchmarks/micro/")
    }
    _, saved = compare.baseline_ratios(json.loads((MICRO / "baseline.json").read_text("utf-8")))
    assert ran == {compare.CALIBRATION, *saved}

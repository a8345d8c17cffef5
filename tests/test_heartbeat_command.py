"""`swfbench heartbeat`: every flag combination, precedence, skeletons and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from swfbench.activity import ActivityHandle, start_activity
from swfbench.cli import main
from swfbench.client import SWFClient
from swfbench.embedded import EmbeddedServer, free_port
from swfbench.errors import ExitCode


@pytest.fixture
def handle(client: SWFClient) -> ActivityHandle:
    return start_activity(client)


@pytest.fixture
def endpoint(moto_server: EmbeddedServer) -> list[str]:
    return ["--endpoint-url", moto_server.url]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["heartbeat", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_flags_heartbeat_a_real_task(
    handle: ActivityHandle, endpoint: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle.task_token
    code, out, err = run([*endpoint, "--task-token", handle.task_token, "--details", "42%"], capsys)
    assert (code, err) == (0, "")
    assert json.loads(out) == {"cancelRequested": False}


def test_cli_input_json_string_and_file(
    handle: ActivityHandle, endpoint: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.dumps({"taskToken": handle.task_token, "details": "from json"})
    assert run([*endpoint, "--cli-input-json", document], capsys)[0] == 0
    path = tmp_path / "input.json"
    path.write_text(document)
    code, out, _ = run([*endpoint, "--cli-input-json", f"file://{path}"], capsys)
    assert code == 0 and json.loads(out) == {"cancelRequested": False}


def test_cli_input_yaml_string_and_file(
    handle: ActivityHandle, endpoint: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_dump({"taskToken": handle.task_token, "details": "from yaml"})
    assert run([*endpoint, "--cli-input-yaml", document], capsys)[0] == 0
    path = tmp_path / "input.yaml"
    path.write_text(document)
    assert run([*endpoint, "--cli-input-yaml", f"file://{path}"], capsys)[0] == 0


def test_flags_override_input_documents(
    handle: ActivityHandle, endpoint: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle.task_token
    stale = json.dumps({"taskToken": "stale-token-from-file", "details": "file"})
    # The file's token is refused by the service; the flag's token wins, so the call succeeds.
    assert run([*endpoint, "--cli-input-json", stale], capsys)[0] == ExitCode.SERVICE
    code, out, _ = run(
        [*endpoint, "--cli-input-json", stale, "--task-token", handle.task_token], capsys
    )
    assert code == 0 and json.loads(out) == {"cancelRequested": False}


def test_flag_details_override_input_details(tmp_path: Path) -> None:
    from swfbench.cli import build_parser
    from swfbench.heartbeat.command import build_params

    args = build_parser().parse_args(
        [
            "heartbeat",
            "--cli-input-yaml",
            "taskToken: t\ndetails: from-file\n",
            "--details",
            "from-flag",
        ]
    )
    assert build_params(args) == {"taskToken": "t", "details": "from-flag"}


def test_details_of_exactly_2048_multibyte_characters_are_sent(
    handle: ActivityHandle, endpoint: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle.task_token
    details = "é漢" * 1024
    assert len(details) == 2048
    assert run([*endpoint, "--task-token", handle.task_token, "--details", details], capsys)[0] == 0


def test_skeletons(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--generate-cli-skeleton"], capsys)
    assert code == 0 and json.loads(out) == {"taskToken": "", "details": ""}
    code, out, _ = run(["--generate-cli-skeleton", "input"], capsys)
    assert code == 0 and json.loads(out) == {"taskToken": "", "details": ""}
    code, out, _ = run(["--generate-cli-skeleton", "yaml-input"], capsys)
    assert code == 0 and yaml.safe_load(out) == {"taskToken": "", "details": ""}
    # `output` validates the inputs and answers without calling any service: no target runs.
    code, out, _ = run(
        [
            "--generate-cli-skeleton",
            "output",
            "--task-token",
            "t",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ],
        capsys,
    )
    assert code == 0 and json.loads(out) == {"cancelRequested": True}
    code, _, err = run(["--generate-cli-skeleton", "output"], capsys)
    assert code == ExitCode.USAGE and "--task-token" in err


def test_skeleton_round_trips_into_input(
    handle: ActivityHandle, endpoint: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle.task_token
    _, skeleton, _ = run(["--generate-cli-skeleton", "yaml-input"], capsys)
    filled = yaml.safe_load(skeleton) | {"taskToken": handle.task_token, "details": "filled in"}
    assert run([*endpoint, "--cli-input-yaml", yaml.safe_dump(filled)], capsys)[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: --task-token"),
        (["--task-token", ""], "taskToken: 0 characters"),
        (["--task-token", "t" * 1025, "--check-lengths"], "taskToken: 1025 characters"),
        (["--task-token", "t", "--details", "d" * 2049, "--check-lengths"], "details: 2049"),
        (["--task-token", "t", "--engine", "moto", "--endpoint-url", "http://x"], "--engine"),
        (["--task-token", "t", "--output", "xml"], "invalid choice: 'xml'"),
        (["--task-token", "t", "--bogus"], "unrecognized arguments: --bogus"),
        (["--cli-input-json", "{}", "--cli-input-yaml", "{}"], "not allowed with argument"),
        (["--cli-input-json", "{bad"], "line 1: not valid JSON: column 2"),
        (["--cli-input-yaml", "a: [1"], "line 1: not valid YAML"),
        (["--cli-input-json", "[1]"], "expected a mapping"),
        (["--cli-input-json", '{"taskToken": "t", "extra": 1}'], 'unknown parameter "extra"'),
        (["--cli-input-json", '{"taskToken": 5}'], "taskToken must be a string"),
        (["--cli-input-json", "file:///no/such/file.json"], "cannot read /no/such/file.json"),
        (["--generate-cli-skeleton", "xml"], "invalid choice: 'xml'"),
        (["--task-token", "t", "--aws", "--endpoint-url", "http://x"], "exclusive"),
    ],
)
def test_usage_errors_exit_252_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(args, capsys)
    assert code == ExitCode.USAGE
    assert out == ""
    assert message in err and err.count("\n") == 1


def test_service_error_exits_254_with_code_and_message(
    endpoint: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([*endpoint, "--task-token", "garbage-token"], capsys)
    assert code == ExitCode.SERVICE and out == ""
    assert "(ValidationException)" in err and "RecordActivityTaskHeartbeat" in err


def test_closed_task_exits_254(
    handle: ActivityHandle, endpoint: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle.task_token
    handle.complete()
    code, _, err = run([*endpoint, "--task-token", handle.task_token], capsys)
    assert code == ExitCode.SERVICE
    assert "(UnknownResourceFault)" in err and "Unknown activity" in err
    handle.close()


def test_unreachable_endpoint_exits_250(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(["--endpoint-url", url, "--task-token", "t"], capsys)
    assert code == ExitCode.UNREACHABLE and "cannot reach" in err and err.count("\n") == 1


def test_real_swf_without_credentials_exits_253(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run(["--aws", "--region", "us-east-1", "--task-token", "t"], capsys)
    assert code == ExitCode.CONFIGURATION and "no AWS credentials" in err
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    code, _, err = run(["--aws", "--task-token", "t"], capsys)
    assert code == ExitCode.CONFIGURATION and "needs a region" in err


def test_embedded_default_target_answers_with_a_service_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No endpoint: a fresh embedded server, which knows no task; the answer is the service's.
    code, _, err = run(["--task-token", "token-from-nowhere"], capsys)
    assert code == ExitCode.SERVICE and "RecordActivityTaskHeartbeat" in err


def test_console_script_exit_codes_and_no_traceback(moto_server: EmbeddedServer) -> None:
    swfbench = [sys.executable, "-m", "swfbench.cli", "heartbeat"]
    swfbench += ["--endpoint-url", moto_server.url]
    for extra, expected in (
        (["--generate-cli-skeleton"], 0),
        (["--nope"], ExitCode.USAGE),
        (["--task-token", "garbage"], ExitCode.SERVICE),
    ):
        result = subprocess.run([*swfbench, *extra], capture_output=True, text=True, timeout=60)
        assert result.returncode == expected, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("endpoint_fixture", "flag", "message"),
    [
        ("black_hole", "--connect-timeout", "no connection within the 1 s connect timeout"),
        ("silent_server", "--read-timeout", "did not answer RecordActivityTaskHeartbeat within"),
    ],
)
def test_a_target_that_never_answers_is_one_line_and_exit_250(
    endpoint_fixture: str, flag: str, message: str, request: pytest.FixtureRequest
) -> None:
    """botocore's ConnectTimeoutError once escaped as a 93-line traceback and exit 1 (the code
    of a failed gate)."""
    url = request.getfixturevalue(endpoint_fixture)
    result = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "heartbeat", "--task-token", "t",
         "--endpoint-url", url, flag, "1s"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == ExitCode.UNREACHABLE, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert message in line and "Traceback" not in result.stderr

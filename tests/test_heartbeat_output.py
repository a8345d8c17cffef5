"""`swfbench heartbeat` with the AWS CLI's global options, against the embedded engine.

Every expected output below is what `aws swf record-activity-task-heartbeat` printed for the
same flags against the same engine (AWS CLI 1.46.3: json, text, table; the yaml and yaml-stream
forms are AWS CLI v2's, as its own formatter tests document them: a scalar as JSON, a mapping in
block style, yaml-stream each page as a list item). JMESPath literals in `--query` build the
larger structures from the real answer, so the text and table layouts of nested data are
checked too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swfbench.activity import ActivityHandle, ActivityTimeouts, bootstrap, start_activity
from swfbench.cli import main
from swfbench.client import SWFClient
from swfbench.embedded import EmbeddedServer
from swfbench.errors import ExitCode
from swfbench.heartbeat.output import render
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

TITLE = "RecordActivityTaskHeartbeat"
NESTED = "{a: [{x: `1`, y: [`1`,`2`]}, {x: `2`}], b: 'c'}"
ITEMS = (
    "{Items: [{Name: 'n1', Id: `1`, Tags: [{Key: 'k', Value: 'v'}]}, {Name: 'n2', Id: `2`}], "
    "Count: `2`, Wide: '漢字ab'}"
)
EMPTY_VALUES = "{x: `[]`, y: `{}`, z: `null`}"
LONG = "{long: '" + "a" * 54 + "', other: '" + "b" * 54 + "'}"

# (output, query) -> what the AWS CLI printed.
AWS_CLI: dict[tuple[str, str | None], str] = {
    ("json", None): '{\n    "cancelRequested": false\n}\n',
    ("json", "cancelRequested"): "false\n",
    ("json", "foo"): "null\n",
    ("json", "[cancelRequested]"): "[\n    false\n]\n",
    ("json", "{c: cancelRequested, n: 'x'}"): '{\n    "c": false,\n    "n": "x"\n}\n',
    ("text", None): "False\n",
    ("text", "cancelRequested"): "False\n",
    ("text", "foo"): "None\n",
    ("text", "[cancelRequested]"): "False\n",
    ("text", "{c: cancelRequested, n: 'x'}"): "False\tx\n",
    ("text", NESTED): "c\nA\t1\nY\t1\nY\t2\nA\t2\n",
    ("text", ITEMS): "2\t漢字ab\nITEMS\t1\tn1\nTAGS\tk\tv\nITEMS\t2\tn2\n",
    ("text", EMPTY_VALUES): "None\n",
    ("text", "[{a: `1`}, {b: `2`}]"): "1\t\n\t2\n",
    ("table", None): (
        "------------------------------\n"
        "| RecordActivityTaskHeartbeat|\n"
        "+------------------+---------+\n"
        "|  cancelRequested |  False  |\n"
        "+------------------+---------+\n"
    ),
    # A falsy result prints nothing in a table; a list of scalars is one column.
    ("table", "cancelRequested"): "",
    ("table", "foo"): "",
    ("table", "[cancelRequested]"): (
        "-----------------------------\n"
        "|RecordActivityTaskHeartbeat|\n"
        "+---------------------------+\n"
        "|  False                    |\n"
        "+---------------------------+\n"
    ),
    ("table", "{c: cancelRequested, n: 'x'}"): (
        "-----------------------------\n"
        "|RecordActivityTaskHeartbeat|\n"
        "+-----------------+---------+\n"
        "|        c        |    n    |\n"
        "+-----------------+---------+\n"
        "|  False          |  x      |\n"
        "+-----------------+---------+\n"
    ),
    ("table", ITEMS): (
        "-----------------------------\n"
        "|RecordActivityTaskHeartbeat|\n"
        "+------------+--------------+\n"
        "|    Count   |    Wide      |\n"
        "+------------+--------------+\n"
        "|  2         |  漢字ab      |\n"
        "+------------+--------------+\n"
        "||          Items          ||\n"
        "|+----------+--------------+|\n"
        "||    Id    |    Name      ||\n"
        "|+----------+--------------+|\n"
        "||  1       |  n1          ||\n"
        "|+----------+--------------+|\n"
        "|||         Tags          |||\n"
        "||+---------+-------------+||\n"
        "|||   Key   |    Value    |||\n"
        "||+---------+-------------+||\n"
        "|||  k      |  v          |||\n"
        "||+---------+-------------+||\n"
        "||          Items          ||\n"
        "|+----------+--------------+|\n"
        "||    Id    |    Name      ||\n"
        "|+----------+--------------+|\n"
        "||  2       |  n2          ||\n"
        "|+----------+--------------+|\n"
    ),
    # Wider than 80 columns: a one-row section turns into key/value rows.
    ("table", LONG): (
        "---------------------------------------------------------------------\n"
        "|                    RecordActivityTaskHeartbeat                    |\n"
        "+-------+-----------------------------------------------------------+\n"
        "|  long |  " + "a" * 54 + "   |\n"
        "|  other|  " + "b" * 54 + "   |\n"
        "+-------+-----------------------------------------------------------+\n"
    ),
    ("yaml", None): "cancelRequested: false\n",
    ("yaml", "cancelRequested"): "false\n",
    ("yaml", "foo"): "null\n",
    ("yaml", "{c: cancelRequested, n: 'x'}"): "c: false\nn: x\n",
    ("yaml-stream", None): "- cancelRequested: false\n",
    ("yaml-stream", "cancelRequested"): "- false\n",
}


@pytest.fixture(scope="module")
def engine_target(engine_server: EmbeddedServer) -> Target:
    target = Target(
        kind="endpoint",
        endpoint_url=engine_server.url,
        region=EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
    )
    bootstrap(SWFClient(target))
    return target


@pytest.fixture(scope="module")
def task(engine_target: Target) -> Iterator[ActivityHandle]:
    """One task that lives as long as this module's tests: no timeout can close it."""
    handle = start_activity(
        SWFClient(engine_target),
        timeouts=ActivityTimeouts(heartbeat="NONE", start_to_close="NONE"),
    )
    yield handle
    handle.close()


def heartbeat(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["heartbeat", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("output", "query"), list(AWS_CLI), ids=str)
def test_output_and_query_print_what_the_aws_cli_prints(
    output: str,
    query: str | None,
    task: ActivityHandle,
    engine_server: EmbeddedServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert task.task_token
    args = ["--endpoint-url", engine_server.url, "--task-token", task.task_token]
    args += ["--output", output] + (["--query", query] if query is not None else [])
    code, out, err = heartbeat(args, capsys)
    assert (code, err) == (0, "")
    assert out == AWS_CLI[(output, query)]


def test_a_requested_cancellation_reads_true_in_every_form(
    engine_target: Target, engine_server: EmbeddedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script the issue quotes: `--query cancelRequested --output text` says True once the
    decider asked for the task's cancellation; a true scalar's table is its title alone."""
    handle = start_activity(SWFClient(engine_target))
    assert handle.task_token
    handle.request_cancel()
    base = ["--endpoint-url", engine_server.url, "--task-token", handle.task_token]
    try:
        for extra, expected in (
            (["--query", "cancelRequested", "--output", "text"], "True\n"),
            (["--query", "cancelRequested"], "true\n"),
            (["--output", "yaml"], "cancelRequested: true\n"),
            (
                ["--query", "cancelRequested", "--output", "table"],
                "-----------------------------\n"
                "|RecordActivityTaskHeartbeat|\n"
                "+---------------------------+\n",
            ),
        ):
            assert heartbeat([*base, *extra], capsys) == (0, expected, "")
    finally:
        handle.close()


def test_table_colors_follow_color(
    task: ActivityHandle, engine_server: EmbeddedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--color on styles each value bright blue as the AWS CLI does; off and auto (stdout is
    not a terminal here) print none. The layout is the same either way."""
    assert task.task_token
    base = ["--endpoint-url", engine_server.url, "--task-token", task.task_token]
    base += ["--output", "table"]
    _, plain, _ = heartbeat([*base, "--color", "off"], capsys)
    _, auto, _ = heartbeat([*base, "--color", "auto"], capsys)
    _, colored, _ = heartbeat([*base, "--color", "on"], capsys)
    assert plain == auto == AWS_CLI[("table", None)]
    assert "\x1b[1m\x1b[34mcancelRequested\x1b[0m" in colored
    assert "\x1b[1m\x1b[34mFalse\x1b[0m" in colored
    assert colored.replace("\x1b[1m\x1b[34m", "").replace("\x1b[0m", "") == plain


def test_nested_sections_color_their_edges() -> None:
    colored = render({"a": {"b": "c", "d": "e"}}, output="table", color=True, title=TITLE)
    assert "\x1b[2m\x1b[33m|\x1b[0m" in colored


def test_a_bad_query_is_one_line_and_exit_252(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = heartbeat(["--task-token", "t", "--query", "[bad"], capsys)
    assert (code, out) == (ExitCode.USAGE, "")
    (line,) = err.splitlines()
    assert "--query: '[bad' is not a JMESPath expression" in line


# Lengths: as the AWS CLI, only the minimum is checked here; the target judges the rest. ------


def test_over_long_details_reach_the_target(
    task: ActivityHandle,
    engine_server: EmbeddedServer,
    moto_server: EmbeddedServer,
    moto_target: Target,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """2,049 characters of details: the engine answers SWF's ValidationException (exit 254),
    plain moto accepts them (exit 0): the difference an emulator tester wants to see."""
    assert task.task_token
    details = "d" * 2049
    code, _, err = heartbeat(
        [
            "--endpoint-url",
            engine_server.url,
            "--task-token",
            task.task_token,
            "--details",
            details,
        ],
        capsys,
    )
    assert code == ExitCode.SERVICE
    assert "(ValidationException)" in err and "length less than or equal to 2048" in err
    bootstrap(SWFClient(moto_target))
    on_moto = start_activity(SWFClient(moto_target))
    assert on_moto.task_token
    code, out, err = heartbeat(
        [
            "--endpoint-url",
            moto_server.url,
            "--task-token",
            on_moto.task_token,
            "--details",
            details,
        ],
        capsys,
    )
    assert (code, err) == (0, "") and '"cancelRequested": false' in out
    on_moto.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task-token", "t" * 1025], "taskToken: 1025 characters, valid range 1..1024"),
        (["--task-token", "t", "--details", "d" * 2049], "details: 2049 characters"),
    ],
)
def test_check_lengths_refuses_them_before_sending(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --check-lengths nothing is sent: an endpoint where nothing listens would answer 250."""
    code, out, err = heartbeat(
        [*args, "--check-lengths", "--endpoint-url", "http://127.0.0.1:9"], capsys
    )
    assert (code, out) == (ExitCode.USAGE, "")
    (line,) = err.splitlines()
    assert message in line and "--check-lengths" in line


def test_an_empty_token_is_refused_as_botocore_refuses_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = heartbeat(["--task-token", "", "--endpoint-url", "http://127.0.0.1:9"], capsys)
    assert code == ExitCode.USAGE and "valid min length 1" in err


# --debug ------------------------------------------------------------------------------------


def test_debug_logs_the_requests_with_every_credential_masked(task: ActivityHandle) -> None:
    """botocore's DEBUG log shows the Authorization header, the canonical request and the
    signature; signed as an identity of an auth file, none of its key id, secret or the
    signature may appear."""
    auth = Path(__file__).parents[1] / "scenarios/auth/fleet.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "swfbench", "heartbeat", "--auth", str(auth), "--identity",
         "worker", "--task-token", "token-from-nowhere", "--debug"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == ExitCode.SERVICE, done.stderr[-2000:]
    log = done.stderr
    assert "botocore.endpoint - DEBUG - Sending http request" in log
    assert "Authorization" in log and "Credential=****/" in log and "Signature=****" in log
    for secret in ("AKIASWFBENCHWORKER01", "swfbench-worker-secret-not-a-real-key"):
        assert secret not in log
    signatures = [line for line in log.splitlines() if "Signature=" in line]
    assert signatures and all("Signature=****" in line for line in signatures)


# --profile, timeouts, TLS -------------------------------------------------------------------


def test_profile_names_the_aws_profile_and_needs_aws(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = heartbeat(["--task-token", "t", "--profile", "dev"], capsys)
    assert code == ExitCode.USAGE and "applies to real SWF only (add --aws)" in err


def test_profile_signs_with_that_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--aws --profile NAME signs with that profile's keys. AWS_ENDPOINT_URL_SWF (which
    botocore honours for real SWF) sends the call to an engine that verifies signatures: it
    knows the profile's keys, not the default profile's, so only the named profile's call is
    accepted."""
    auth = Path(__file__).parents[1] / "scenarios/auth/fleet.yaml"
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIANOTKNOWNTOENGINE\n"
        "aws_secret_access_key = not-known-to-the-engine-either\n"
        "[fleet-worker]\naws_access_key_id = AKIASWFBENCHWORKER01\n"
        "aws_secret_access_key = swfbench-worker-secret-not-a-real-key\n"
    )
    (tmp_path / "config").write_text(
        "[default]\nregion = us-east-1\n[profile fleet-worker]\nregion = us-east-1\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with EmbeddedServer(engine="swfbench", extra_args=("--auth", str(auth))) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SWF", server.url)
        code, _, err = heartbeat(["--aws", "--task-token", "t"], capsys)
        assert code == ExitCode.SERVICE and "UnrecognizedClientException" in err
        code, _, err = heartbeat(
            ["--aws", "--profile", "fleet-worker", "--task-token", "t"], capsys
        )
        # Signed as the worker, whose policy allows heartbeats in its domain: the engine
        # verified the signature and answers for the unknown token.
        assert code == ExitCode.SERVICE and "UnrecognizedClientException" not in err, err
        assert "RecordActivityTaskHeartbeat" in err
    code, _, err = heartbeat(["--aws", "--profile", "nosuch", "--task-token", "t"], capsys)
    assert code == ExitCode.CONFIGURATION and "no AWS profile named 'nosuch'" in err


@pytest.mark.parametrize("flag", ["--cli-connect-timeout", "--connect-timeout"])
def test_aws_cli_timeout_names(flag: str, black_hole: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "swfbench", "heartbeat", "--task-token", "t", "--endpoint-url",
         black_hole, flag, "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == ExitCode.UNREACHABLE, done.stderr
    assert "no connection within the 1 s connect timeout" in done.stderr


def test_zero_read_timeout_means_none(
    task: ActivityHandle, engine_server: EmbeddedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert task.task_token
    args = ["--endpoint-url", engine_server.url, "--task-token", task.task_token]
    args += ["--cli-read-timeout", "0", "--cli-connect-timeout", "0", "--no-cli-pager"]
    assert heartbeat(args, capsys)[0] == 0


def test_tls_options_against_a_self_signed_endpoint(
    task: ActivityHandle, https_engine: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Unverifiable without help (exit 250, one line); --no-verify-ssl or --ca-bundle with the
    certificate get through."""
    url, cert = https_engine
    assert task.task_token
    base = ["--endpoint-url", url, "--task-token", task.task_token, "--query", "cancelRequested"]
    code, _, err = heartbeat(base, capsys)
    assert code == ExitCode.UNREACHABLE and "CERTIFICATE_VERIFY_FAILED" in err
    assert err.count("\n") == 1
    assert heartbeat([*base, "--no-verify-ssl"], capsys) == (0, "false\n", "")
    assert heartbeat([*base, "--ca-bundle", str(cert)], capsys) == (0, "false\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-verify-ssl"], "the embedded target is plain HTTP"),
        (["--ca-bundle", "/no/such/bundle.pem", "--endpoint-url", "https://x"], "no such file"),
        (["--no-verify-ssl", "--ca-bundle", __file__, "--aws"], "exclusive"),
    ],
)
def test_tls_options_that_cannot_apply_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = heartbeat(["--task-token", "t", *args], capsys)
    assert (code, out) == (ExitCode.USAGE, "")
    (line,) = err.splitlines()
    assert message in line


def test_activity_start_prints_swf_member_names(
    engine_server: EmbeddedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`activity start` printed `task_token`; SWF (and the input skeleton) say `taskToken`."""
    assert main(["activity", "start", "--endpoint-url", engine_server.url]) == 0
    handle = json.loads(capsys.readouterr().out)
    assert {"taskToken", "workflowId", "runId", "activityId", "startedEventId"} <= set(handle)
    assert not any("_" in key for key in handle)
    code, out, _ = heartbeat(
        ["--endpoint-url", engine_server.url, "--task-token", handle["taskToken"],
         "--query", "cancelRequested", "--output", "text"],
        capsys,
    )  # fmt: skip
    assert (code, out) == (0, "False\n")

"""The one input reader (swfbench.inputs), the run-id rules, file writes that never replace a
device, and the log redaction: the limits at their edges."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from swfbench import redact
from swfbench.errors import ReportsError, UsageError
from swfbench.inputs import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    InputError,
    parse_json,
    parse_yaml,
    read_text,
)
from swfbench.results import check_run_id, claim_run_dir, new_run_id, write_text
from swfbench.sessions import emulator_session

ROOT = Path(__file__).resolve().parents[1]


def nested_yaml(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_nesting_up_to_the_cap_reads_one_more_level_is_refused() -> None:
    assert parse_yaml(nested_yaml(MAX_DEPTH), "x") is not None
    with pytest.raises(InputError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_yaml(nested_yaml(MAX_DEPTH + 1), "x")
    assert parse_json(nested_yaml(MAX_DEPTH), "x") is not None
    with pytest.raises(InputError, match="nested deeper"):
        parse_json(nested_yaml(MAX_DEPTH + 1), "x")
    with pytest.raises(InputError, match="nested deeper"):
        parse_json(nested_yaml(100_000), "x")  # the decoder's own recursion, caught


def test_aliases_count_as_their_expansion() -> None:
    """A 342-byte alias bomb (9 levels of 9 aliases) once exhausted memory in the scenario
    loader; its expansion is counted on the node graph, each shared node once."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    assert len(bomb) < 420
    with pytest.raises(InputError, match="once its aliases are expanded") as refused:
        parse_yaml(bomb, "bomb.yaml")
    assert refused.value.line is not None
    # A few aliases, as people use them, still read.
    assert parse_yaml("base: &b {x: 1}\nother: *b\n", "ok.yaml") == {
        "base": {"x": 1},
        "other": {"x": 1},
    }
    # Aliases that nest an anchored list deeper than the cap.
    chain = (
        "a0: &a0 "
        + nested_yaml(40)
        + "\n"
        + "a1: &a1 [[[[[[[[[[[[[[[[[[[[[[[[[[*a0]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    )
    with pytest.raises(InputError, match="deeper than 64 levels once its aliases"):
        parse_yaml(chain, "x")


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("name: x\n1: 2\nnull: 3\n", 2, "the mapping key '1' is not read as a string"),
        ("a:\n  ? [1]\n  : 2\n", 2, "a mapping key must be a string"),
        ("a:\n  b: .inf\n", 2, "a.b: '.inf' is not a finite number"),
        ("a: [1, .nan]\n", 1, "a[1]: '.nan' is not a finite number"),
        ("a: " + "9" * (MAX_INT_DIGITS + 1) + "\n", 1, "an integer of more than"),
        ("a: b\x01\n", 1, "the control character U+0001 is not allowed"),
        ("a: b\x00\n", 1, "the control character U+0000"),
        ("a: !!python/name:os.system x\n", 1, "not valid YAML: could not determine a constructor"),
        ("a: [1\n", 2, "not valid YAML"),
    ],
)
def test_yaml_mistakes_are_one_line_with_the_line(text: str, line: int, what: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_yaml(text, "in.yaml")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"in.yaml: line {line}: "), message
    assert what in message


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"a": ' + "1" * 5000 + "}", "an integer of more than 100 digits"),
        ('{"a": 1e400}', "'1e400' is out of range"),
        ('{"a": NaN}', "NaN is not a number JSON allows"),
        ('{"a": ', "not valid JSON: column 7"),
    ],
)
def test_json_mistakes_are_one_line(text: str, what: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_json(text, "--cli-input-json")
    assert what in str(refused.value)


def test_results_files_may_carry_nan_as_python_writes_it() -> None:
    assert parse_json('{"ratio": NaN}', "r.json", finite=False)["ratio"] != 0


def test_files_are_read_within_the_limit_and_never_wait(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="larger than 4 MiB"):
        read_text(Path("/dev/zero"), "--cli-input-json")
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path, "--profile")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_text(fifo, "--gates")  # opening it would wait for a writer forever
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(InputError, match=r"line 2: not UTF-8 text \(byte 0xe9\)"):
        read_text(latin, str(latin))


def test_the_repository_s_own_inputs_all_read() -> None:
    """The caps leave room for every YAML file swfbench ships."""
    for path in [*ROOT.glob("scenarios/**/*.yaml"), *ROOT.glob("gates/*.yaml")]:
        parse_yaml(read_text(path, str(path)), str(path))
    for path in ROOT.glob("conformance/**/*.yaml"):
        parse_yaml(read_text(path, str(path)), str(path))


@pytest.mark.parametrize("bad", ["../../x", "a/b", ".hidden", "", "-x", "x" * 129, "é"])
def test_run_ids_are_one_plain_folder_name(bad: str) -> None:
    with pytest.raises(UsageError, match="is not a run id"):
        check_run_id(bad)


def test_generated_run_ids_keep_a_profile_name_inside_the_reports_dir() -> None:
    run_id = new_run_id("../../x y")
    assert check_run_id(run_id) == run_id
    assert "/" not in run_id and ".." not in run_id


def test_a_run_id_that_holds_a_run_is_refused(tmp_path: Path) -> None:
    assert claim_run_dir(tmp_path, "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert claim_run_dir(tmp_path, "empty") == tmp_path / "empty"
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "results.json").write_text("{}")
    with pytest.raises(UsageError, match="already holds a run"):
        claim_run_dir(tmp_path, "used")


def test_a_write_to_a_device_writes_to_it_and_never_replaces_it(tmp_path: Path) -> None:
    """`--junit /dev/full` once replaced the device with a file of swfbench's (as root)."""
    link = tmp_path / "null"
    link.symlink_to(os.devnull)
    write_text(link, "<testsuite/>\n")
    assert link.is_symlink() and Path(os.devnull).is_char_device()
    with pytest.raises(ReportsError, match="is a directory"):
        write_text(tmp_path, "x")


MARKER_KEY = "AKIAREDACTMARKER0001"
MARKER_TOKEN = "redact-marker-session-token-0001"


def test_scrub_masks_keys_tokens_and_signatures() -> None:
    line = (
        "headers={'X-Amz-Security-Token': b'" + MARKER_TOKEN + "', 'Authorization': "
        "b'AWS4-HMAC-SHA256 Credential=" + MARKER_KEY + "/20261130/us-east-1/swf/aws4_request, "
        "SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef'}"
    )
    clean = redact.scrub(line)
    assert MARKER_KEY not in clean and MARKER_TOKEN not in clean
    assert "0123456789abcdef" not in clean
    assert "Credential=****/20261130" in clean
    assert redact.scrub("aws_secret_access_key = s3cr3t-value") == "aws_secret_access_key = ****"
    assert redact.scrub("a literal", ["literal"]) == "a ****"


def test_every_log_record_is_scrubbed_botocore_s_debug_lines_included() -> None:
    """In a fresh process: the environment's keys and botocore's DEBUG request lines."""
    code = f"""
import logging, sys
from swfbench import redact
redact.install()
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
from swfbench.sessions import emulator_session
client = emulator_session().client(
    "swf", region_name="us-east-1", endpoint_url="http://127.0.0.1:1",
    aws_access_key_id="{MARKER_KEY}", aws_secret_access_key="redact-marker-secret-0001",
    aws_session_token="{MARKER_TOKEN}",
    config=__import__("botocore.config").config.Config(retries={{"total_max_attempts": 1}}),
)
try:
    client.list_domains(registrationStatus="REGISTERED")
except Exception as exc:
    logging.getLogger("t").exception("failed with %s", exc)
logging.getLogger("t").warning("env secret: redact-env-secret-value-0001")
"""
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "redact-env-secret-value-0001"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    output = done.stdout + done.stderr
    assert "Sending http request" in output  # botocore printed its request
    assert "Credential=****" in output
    for secret in (MARKER_KEY, MARKER_TOKEN, "redact-env-secret-value-0001"):
        assert secret not in output


def test_emulator_sessions_read_no_aws_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text("[default\nbroken")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", MARKER_KEY)
    session = emulator_session()
    assert session.get_credentials() is None
    assert session.region_name is None
    client = session.client(
        "swf", region_name="us-east-1", endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="swfbench", aws_secret_access_key="swfbench",
    )  # fmt: skip
    assert client.meta.region_name == "us-east-1"


def test_threads_share_the_one_reader() -> None:
    """The loader keeps no state between documents: scenarios load in many threads at once."""
    errors: list[BaseException] = []
    text = yaml.safe_dump({"a": [{"b": i} for i in range(50)]})

    def load() -> None:
        try:
            for _ in range(20):
                assert parse_yaml(text, "t")["a"][49] == {"b": 49}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

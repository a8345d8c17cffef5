"""The auth file: identities and policies, validated before anything starts; one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from swfbench.engine.policy import Decision, evaluate
from swfbench.errors import UsageError
from swfbench.identities import DEFAULT_MAX_SKEW_S, load_auth_file

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"},
}
SHIPPED = Path(__file__).parents[1] / "conformance" / "access" / "auth.yaml"


def identity(key: str = "AKIAEXAMPLEWORKER001", **extra: Any) -> dict[str, Any]:
    return {
        "access_key_id": key,
        "secret_access_key": "secret",
        "account_id": "123456789012",
        "policies": [ALLOW_ALL],
        **extra,
    }


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "auth.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def test_the_shipped_file_loads(tmp_path: Path) -> None:
    auth = load_auth_file(SHIPPED)
    assert list(auth.identities) == ["admin", "restricted", "temporary"]
    assert auth.default == "admin"
    assert auth.max_skew_s == DEFAULT_MAX_SKEW_S
    temporary = auth.identity("temporary")
    assert temporary.session_token
    assert temporary.arn.startswith("arn:aws:sts::123456789012:assumed-role/")
    assert auth.identity("restricted").arn == "arn:aws:iam::123456789012:user/restricted"


def test_policies_inline_as_json_text_or_in_a_file(tmp_path: Path) -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "swf:Record*", "Resource": "*"}],
    }
    (tmp_path / "deny.json").write_text(json.dumps(deny), "utf-8")
    path = write(
        tmp_path,
        {
            "identities": {
                "w": identity(policies=[ALLOW_ALL, json.dumps(ALLOW_ALL), {"file": "deny.json"}])
            }
        },
    )
    worker = load_auth_file(path).identity("w")
    assert len(worker.policies) == 3
    decision = evaluate(worker.policies, "swf:RecordActivityTaskHeartbeat", "arn:x", {})
    assert decision is Decision.EXPLICIT_DENY


def test_the_first_identity_is_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, {"identities": {"b": identity(), "a": identity("AKIAEXAMPLEOTHER0001")}})
    assert load_auth_file(path).default == "b"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "(top level): 'identities' is a required property"),
        ({"identities": {"w": identity(key="akia-lower")}}, "identities.w.access_key_id: 'akia-lower' is not valid: 16 or more capital"),
        ({"identities": {"w": identity(account_id="12345")}}, "identities.w.account_id: '12345' is not valid: 12 digits"),
        ({"identities": {"w": identity(secret="x")}}, "identities.w: unknown key 'secret'"),
        (
            {"identities": {"w": identity(policies=[{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}])}},
            "identities.w.policies[0].Statement: an identity-based policy has no Principal",
        ),
        (
            {"identities": {"w": identity(policies=[{"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}])}},
            "identities.w.policies[0].Statement[0].Effect: 'Permit' is not one of ['Allow', 'Deny']",
        ),
        (
            {"identities": {"w": identity(policies=[{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}])}},
            "identities.w.policies[0].Statement[0]: a statement needs exactly one of Action and NotAction",
        ),
        (
            {"identities": {"w": identity(policies=["{not json"])}},
            "identities.w.policies[0]: not a JSON policy document",
        ),
        (
            {"identities": {"w": identity(policies=[{"file": "missing.json"}])}},
            "identities.w.policies[0]: cannot read policy file",
        ),
        (
            {"identities": {"a": identity(), "b": identity()}},
            "identities.b.access_key_id: AKIAEXAMPLEWORKER001 is also the key of identities.a",
        ),
        (
            {"identities": {"a": identity(), "b": identity("AKIAEXAMPLEOTHER0001", account_id="210987654321")}},
            "identities.b.account_id: 210987654321 differs from 123456789012 (identities.a): the engine serves one account",
        ),
        ({"default_identity": "x", "identities": {"w": identity()}}, "default_identity: no identity named 'x'"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_naming_file_and_field(
    tmp_path: Path, data: Any, message: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as raised:
        load_auth_file(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_unknown_identity_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no identity named 'nobody' \(identities: admin, "):
        load_auth_file(SHIPPED).identity("nobody")


def test_a_bad_file_stops_the_command_with_exit_252(tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text("identities: [1, 2\n", "utf-8")
    for command in (["serve"], ["heartbeat", "--task-token", "t"], ["conform"]):
        done = subprocess.run(
            [sys.executable, "-m", "swfbench.cli", *command, "--auth", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 252, (command, done.stderr)
        assert done.stderr.count("\n") == 1
        assert f"{path}: line 2: not valid YAML" in done.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--aws", "--region", "us-east-1"],
            "--auth gives identities to the engine or an emulator",
        ),
        (["--engine", "moto"], "--auth needs --engine swfbench"),
        (["--identity", "nobody"], "no identity named 'nobody'"),
        (["--region", "eu-west-1"], "serves us-east-1 only"),
    ],
)
def test_auth_flags_that_cannot_work_are_usage_errors(flags: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "heartbeat", "--task-token", "t", "--auth",
         str(SHIPPED), *flags],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 252, done.stderr
    assert message in done.stderr


def test_identity_without_an_auth_file_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "heartbeat", "--task-token", "t", "--identity", "w"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 252
    assert "--identity names an identity of an --auth file" in done.stderr

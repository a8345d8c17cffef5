"""`swfbench heartbeat`: the seed page's `aws swf record-activity-task-heartbeat`, for any target.

Input rules follow AWS CLI v2: `--cli-input-json` or `--cli-input-yaml` (a string or
`file://path`, never both) supply parameters, explicit flags override them, and
`--generate-cli-skeleton` prints a template without calling the service.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from swfbench.client import SWFClient
from swfbench.errors import UsageError
from swfbench.options import add_target_options, target_spec
from swfbench.target import open_target

OPERATION = "RecordActivityTaskHeartbeat"
PARAMETERS = ("taskToken", "details")
# Lengths from the botocore model: TaskToken 1..1024, LimitedData 0..2048 (fact sheet, "The call").
TOKEN_LENGTH = (1, 1024)
DETAILS_MAX = 2048
SAMPLE_OUTPUT = {"cancelRequested": True}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "heartbeat",
        help="record one activity task heartbeat (like aws swf record-activity-task-heartbeat)",
        description=(
            "Report that the activity task behind --task-token is still making progress, and "
            "learn whether a cancellation was requested. Prints the service's answer as JSON."
        ),
    )
    parser.add_argument(
        "--task-token", help="the task token from PollForActivityTask (1..1024 characters)"
    )
    parser.add_argument("--details", help="progress details, at most 2048 characters")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--cli-input-json",
        metavar="JSON",
        help="parameters as JSON (a string or file://path), as printed by --generate-cli-skeleton",
    )
    source.add_argument(
        "--cli-input-yaml",
        metavar="YAML",
        help="parameters as YAML (a string or file://path), as printed by "
        "--generate-cli-skeleton yaml-input",
    )
    parser.add_argument(
        "--generate-cli-skeleton",
        nargs="?",
        const="input",
        choices=("input", "output", "yaml-input"),
        help="print an input skeleton (input, yaml-input), or validate the inputs and print a "
        "sample output (output), without calling the service",
    )
    add_target_options(parser)
    parser.set_defaults(run=run)


def _read_source(value: str, flag: str) -> str:
    if not value.startswith("file://"):
        return value
    path = Path(value.removeprefix("file://")).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc.strerror}") from None


def _load_input(args: argparse.Namespace) -> dict[str, Any]:
    if args.cli_input_json is not None:
        flag, text = "--cli-input-json", _read_source(args.cli_input_json, "--cli-input-json")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{flag}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    elif args.cli_input_yaml is not None:
        flag, text = "--cli-input-yaml", _read_source(args.cli_input_yaml, "--cli-input-yaml")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "not YAML"
            raise UsageError(f"{flag}: invalid YAML{where}: {problem}") from None
    else:
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{flag}: expected a mapping of parameters, got {type(data).__name__}")
    unknown = sorted(set(data) - set(PARAMETERS))
    if unknown:
        raise UsageError(
            f'{flag}: unknown parameter "{unknown[0]}", must be one of: {", ".join(PARAMETERS)}'
        )
    for key, value in data.items():
        if not isinstance(value, str):
            raise UsageError(
                f"{flag}: parameter {key} must be a string, got {type(value).__name__}"
            )
    return data


def build_params(args: argparse.Namespace) -> dict[str, str]:
    """Merge input file and flags (flags win) and check them as botocore's model does."""
    params = _load_input(args)
    if args.task_token is not None:
        params["taskToken"] = args.task_token
    if args.details is not None:
        params["details"] = args.details
    token = params.get("taskToken")
    if token is None:
        raise UsageError("the following arguments are required: --task-token")
    low, high = TOKEN_LENGTH
    if not low <= len(token) <= high:
        raise UsageError(
            f"invalid length for parameter taskToken: {len(token)} characters, "
            f"valid range {low}..{high}"
        )
    details = params.get("details")
    if details is not None and len(details) > DETAILS_MAX:
        raise UsageError(
            f"invalid length for parameter details: {len(details)} characters, "
            f"valid max length {DETAILS_MAX}"
        )
    return params


def run(args: argparse.Namespace) -> int:
    skeleton = args.generate_cli_skeleton
    if skeleton == "input":
        print(json.dumps(dict.fromkeys(PARAMETERS, ""), indent=4))
        return 0
    if skeleton == "yaml-input":
        print(yaml.safe_dump(dict.fromkeys(PARAMETERS, ""), sort_keys=False), end="")
        return 0
    params = build_params(args)
    if skeleton == "output":
        print(json.dumps(SAMPLE_OUTPUT, indent=4))
        return 0
    with open_target(target_spec(args)) as target:
        response = SWFClient(target).call(OPERATION, **params)
    print(json.dumps(response, indent=4))
    return 0

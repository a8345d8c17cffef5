"""`swfbench heartbeat`: the seed page's `aws swf record-activity-task-heartbeat`, for any target.

Input rules follow AWS CLI v2: `--cli-input-json` or `--cli-input-yaml` (a string or
`file://path`, never both) supply parameters, explicit flags override them, and
`--generate-cli-skeleton` prints a template without calling the service. The AWS CLI's global
options apply as there: --output and --query (see `swfbench.heartbeat.output`), --profile,
--region, --endpoint-url, --debug, --cli-read-timeout, --cli-connect-timeout,
--no-verify-ssl, --ca-bundle, --color and --no-cli-pager.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from swfbench import redact
from swfbench.client import SWFClient
from swfbench.errors import UsageError
from swfbench.heartbeat.output import COLORS, FORMATS, compile_query, render
from swfbench.inputs import parse_json, parse_yaml, read_text
from swfbench.options import add_target_options, target_spec
from swfbench.sessions import aws_credentials
from swfbench.target import Target, open_target

OPERATION = "RecordActivityTaskHeartbeat"
PARAMETERS = ("taskToken", "details")
# Lengths from the botocore model: TaskToken 1..1024, LimitedData 0..2048 (fact sheet, "The call").
TOKEN_LENGTH = (1, 1024)
DETAILS_MAX = 2048
SAMPLE_OUTPUT = {"cancelRequested": True}


EXAMPLES = """\
examples:
  # start a task on a server of your own, then heartbeat it (the seed page's call)
  swfbench serve --port 4566 &
  export SWFBENCH_ENDPOINT_URL=http://127.0.0.1:4566
  swfbench activity start --heartbeat-timeout 30       # prints the handle with its taskToken
  swfbench heartbeat --task-token TOKEN --details "50%"
  # AWS CLI forms: one value for a script, a table for a person
  swfbench heartbeat --task-token TOKEN --query cancelRequested --output text
  swfbench heartbeat --task-token TOKEN --output table
  # does the target check lengths? send 2049 characters of details and see what it answers
  swfbench heartbeat --task-token TOKEN --details "$(printf 'x%.0s' $(seq 2049))"
  # real SWF with a named profile, its botocore log with credentials masked
  swfbench heartbeat --aws --profile dev --region us-east-1 --task-token TOKEN --debug
  swfbench heartbeat --cli-input-json file://input.json
  swfbench heartbeat --generate-cli-skeleton yaml-input > input.yaml
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "heartbeat",
        help="record one activity task heartbeat (like aws swf record-activity-task-heartbeat)",
        description=(
            "Report that the activity task behind --task-token is still making progress, and "
            "learn whether a cancellation was requested. Prints the service's answer as the "
            "AWS CLI does (--output, --query). Parameters are checked as the AWS CLI checks "
            "them: botocore's minimum lengths only, so an over-long value reaches the target "
            "and its answer shows whether it checks lengths (--check-lengths refuses it here)."
        ),
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--task-token",
        metavar="TOKEN",
        help="required: the taskToken from PollForActivityTask (SWF: 1 to 1024 characters), "
        "here or in --cli-input-json",
    )
    parser.add_argument(
        "--details",
        metavar="TEXT",
        help="progress details (SWF: at most 2048 characters) (default: none)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--cli-input-json",
        metavar="JSON",
        help="parameters as JSON (a string or file://path), as printed by "
        "--generate-cli-skeleton (default: none)",
    )
    source.add_argument(
        "--cli-input-yaml",
        metavar="YAML",
        help="parameters as YAML (a string or file://path), as printed by "
        "--generate-cli-skeleton yaml-input (default: none)",
    )
    parser.add_argument(
        "--generate-cli-skeleton",
        nargs="?",
        const="input",
        choices=("input", "output", "yaml-input"),
        help="print an input skeleton (input, the default; yaml-input), or validate the inputs "
        "and print a sample output (output), without calling the service (default: call it)",
    )
    parser.add_argument(
        "--check-lengths",
        action="store_true",
        help="refuse a taskToken over 1024 or details over 2048 characters here (exit 252, "
        "nothing sent) instead of letting the target answer, as the AWS CLI does",
    )
    cli = parser.add_argument_group("the AWS CLI's global options")
    cli.add_argument(
        "--output",
        choices=FORMATS,
        default="json",
        help="how the answer is printed, as the AWS CLI prints it (default: json)",
    )
    cli.add_argument(
        "--query",
        type=_query,
        metavar="JMESPATH",
        help="a JMESPath expression applied to the answer before it is printed, e.g. "
        "cancelRequested (default: none, the whole answer)",
    )
    cli.add_argument(
        "--color",
        choices=COLORS,
        default="auto",
        help="color in table output: auto colors it when stdout is a terminal (default: auto)",
    )
    cli.add_argument(
        "--no-cli-pager",
        action="store_true",
        help="accepted for AWS CLI scripts: swfbench never pipes its output through a pager",
    )
    cli.add_argument(
        "--debug",
        action="store_true",
        help="log botocore's requests and answers on stderr, key ids, secrets, tokens and "
        "signatures masked",
    )
    cli.add_argument(
        "--no-verify-ssl",
        action="store_true",
        help="do not check the HTTPS endpoint's certificate (--aws or an https --endpoint-url)",
    )
    cli.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="check the HTTPS endpoint's certificate against this CA bundle (default: "
        "botocore's, or AWS_CA_BUNDLE)",
    )
    add_target_options(parser, aws_cli=True)
    parser.set_defaults(run=run)


def _query(value: str) -> Any:
    try:
        return compile_query(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _read_source(value: str, flag: str) -> str:
    if not value.startswith("file://"):
        return value
    return read_text(Path(value.removeprefix("file://")).expanduser(), flag)


def _load_input(args: argparse.Namespace) -> dict[str, Any]:
    if args.cli_input_json is not None:
        flag = "--cli-input-json"
        data = parse_json(_read_source(args.cli_input_json, flag), flag)
    elif args.cli_input_yaml is not None:
        flag = "--cli-input-yaml"
        data = parse_yaml(_read_source(args.cli_input_yaml, flag), flag)
    else:
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{flag}: expected a mapping of parameters, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(PARAMETERS))
    if unknown:
        raise UsageError(
            f'{flag}: unknown parameter "{unknown[0][:60]}", must be one of: '
            f"{', '.join(PARAMETERS)}"
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
    # botocore checks minimum lengths only (as the AWS CLI does): the target judges the rest.
    if len(token) < low:
        raise UsageError(
            f"invalid length for parameter taskToken: {len(token)} characters, "
            f"valid min length {low}"
        )
    if not getattr(args, "check_lengths", False):
        return params
    if len(token) > high:
        raise UsageError(
            f"invalid length for parameter taskToken: {len(token)} characters, "
            f"valid range {low}..{high} (--check-lengths)"
        )
    details = params.get("details")
    if details is not None and len(details) > DETAILS_MAX:
        raise UsageError(
            f"invalid length for parameter details: {len(details)} characters, "
            f"valid max length {DETAILS_MAX} (--check-lengths)"
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
    spec = target_spec(args)
    with open_target(spec) as target:
        if args.debug:
            _debug_log(target)
        response = SWFClient(target).call(OPERATION, **params)
    color = args.color == "on" or (args.color == "auto" and sys.stdout.isatty())
    text = render(response, output=args.output, query=args.query, color=color, title=OPERATION)
    sys.stdout.write(text)
    return 0


def _debug_log(target: Target) -> None:
    """--debug: botocore's DEBUG log on stderr, as the AWS CLI's, every credential masked."""
    secrets: list[str] = [*(target.credentials or ()), target.session_token or ""]
    if target.credentials is None:  # real SWF: the standard chain's (or profile's) keys
        secrets += [s or "" for s in aws_credentials(target.region, target.profile)]
    redact.install(s for s in secrets if s)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s - %(threadName)s - %(name)s - %(levelname)s - %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

"""The auth file (`--auth FILE`): identities the engine accepts, with their IAM policies.

One YAML file, validated by `schemas/auth.json` before anything starts; a mistake is one
`UsageError` line naming the file and the field (exit 252):

    default_identity: admin            # swfbench's own calls sign as this one (default: first)
    identities:
      admin:
        access_key_id: AKIAEXAMPLEADMIN0001
        secret_access_key: admin-secret
        account_id: "123456789012"
        policies:
          - {Version: "2012-10-17", Statement: {Effect: Allow, Action: "swf:*", Resource: "*"}}
      worker:
        access_key_id: ASIAEXAMPLEWORKER001
        secret_access_key: worker-secret
        session_token: worker-token    # temporary credentials: the token must come with each call
        account_id: "123456789012"
        policies:
          - file: worker-policy.json   # a policy as written for AWS, beside this file

The engine reads it to verify signatures and evaluate policies; swfbench's clients read it to
sign as one of its identities. Secrets stay in the file: never on a command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from swfbench.engine.policy import Policy, PolicyError, parse_policy
from swfbench.errors import UsageError
from swfbench.inputs import InputError, load_yaml, parse_json, read_text

DEFAULT_MAX_SKEW_S = 900.0
"""How far a signing date may stray from the engine's clock: AWS allows about 15 minutes
(fact sheet, "Access control": "Signature expired" outside the ~15 minute skew)."""


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("swfbench").joinpath("schemas/auth.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass(frozen=True, kw_only=True)
class Identity:
    """One principal: its SigV4 credentials, its account and its policies."""

    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    account_id: str
    arn: str
    policies: tuple[Policy, ...] = ()

    @property
    def credentials(self) -> tuple[str, str, str | None]:
        """Access key id, secret access key, session token."""
        return self.access_key_id, self.secret_access_key, self.session_token


@dataclass(frozen=True, kw_only=True)
class AuthFile:
    path: Path
    identities: dict[str, Identity]
    """By name, in the file's order."""
    default: str
    max_skew_s: float = DEFAULT_MAX_SKEW_S

    @property
    def account_id(self) -> str:
        return self.identities[self.default].account_id

    def identity(self, name: str | None) -> Identity:
        """The identity called `name` (None: the default); a usage error if there is none."""
        if name is None:
            return self.identities[self.default]
        found = self.identities.get(name)
        if found is None:
            raise UsageError(
                f"{self.path}: no identity named {name!r} (identities: "
                f"{', '.join(self.identities)})"
            )
        return found

    def by_access_key(self) -> dict[str, Identity]:
        return {identity.access_key_id: identity for identity in self.identities.values()}


def _where(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        if "Principal" in extra or "NotPrincipal" in extra:
            return (
                "an identity-based policy has no Principal: the identity it is attached to "
                "is the principal"
            )
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {', '.join(allowed)})"
    if error.validator == "pattern" and error.absolute_path:
        last = str(error.absolute_path[-1])
        hints = {
            "access_key_id": "16 or more capital letters and digits, like AKIAIOSFODNN7EXAMPLE",
            "account_id": '12 digits, quoted in YAML: "123456789012"',
            "arn": "an IAM or STS ARN like arn:aws:iam::123456789012:user/worker",
        }
        if last in hints:
            return f"{error.instance!r} is not valid: {hints[last]}"
    return str(error.message)


def _validate(instance: Any, schema: dict[str, Any], source: str, prefix: tuple[Any, ...]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise UsageError(f"{source}: {_where((*prefix, *error.absolute_path))}: {_describe(error)}")


def _policy_schema() -> dict[str, Any]:
    schema = _schema()
    return {"$defs": schema["$defs"], "$ref": "#/$defs/policy"}


def _load_policy(item: Any, base: Path, source: str, at: tuple[Any, ...]) -> Policy:
    where = _where(at)
    if isinstance(item, dict) and set(item) == {"file"}:
        file = base / str(item["file"])
        try:
            text = read_text(file, str(file))
        except InputError as exc:
            raise UsageError(
                f"{source}: {where}: cannot read policy file {file}: {exc.what}"
            ) from None
        try:
            document = parse_json(text, str(file))
        except InputError as exc:
            raise UsageError(f"{file}: not a JSON policy document: {exc.what}") from None
        _validate(document, _policy_schema(), str(file), ())
        try:
            return parse_policy(document)
        except PolicyError as exc:
            raise UsageError(f"{file}: {exc}") from None
    if isinstance(item, str):
        try:
            item = parse_json(item, where)
        except InputError as exc:
            raise UsageError(f"{source}: {where}: not a JSON policy document: {exc.what}") from None
    _validate(item, _policy_schema(), source, at)
    try:
        return parse_policy(item, where)
    except PolicyError as exc:
        raise UsageError(f"{source}: {exc}") from None


def parse_auth(data: Any, path: Path) -> AuthFile:
    """Validate a loaded auth document; errors name `path` and the field."""
    source = str(path)
    if not isinstance(data, dict):
        raise UsageError(f"{source}: an auth file is a mapping with `identities:`")
    _validate(data, _schema(), source, ())
    identities: dict[str, Identity] = {}
    keys: dict[str, str] = {}
    for name, raw in data["identities"].items():
        at = ("identities", name)
        key = raw["access_key_id"]
        if key in keys:
            raise UsageError(
                f"{source}: {_where((*at, 'access_key_id'))}: {key} is also the key of "
                f"identities.{keys[key]}: each identity needs its own access key id"
            )
        keys[key] = name
        policies = tuple(
            _load_policy(item, path.parent, source, (*at, "policies", i))
            for i, item in enumerate(raw["policies"])
        )
        identities[name] = Identity(
            name=name,
            access_key_id=key,
            secret_access_key=raw["secret_access_key"],
            session_token=raw.get("session_token"),
            account_id=raw["account_id"],
            arn=raw.get("arn") or f"arn:aws:iam::{raw['account_id']}:user/{name}",
            policies=policies,
        )
    default = data.get("default_identity") or next(iter(identities))
    if default not in identities:
        raise UsageError(
            f"{source}: default_identity: no identity named {default!r} "
            f"(identities: {', '.join(identities)})"
        )
    account = identities[default].account_id
    for name, identity in identities.items():
        if identity.account_id != account:
            raise UsageError(
                f"{source}: identities.{name}.account_id: {identity.account_id} differs from "
                f"{account} (identities.{default}): the engine serves one account"
            )
    return AuthFile(
        path=path,
        identities=identities,
        default=default,
        max_skew_s=float(data.get("max_skew_s", DEFAULT_MAX_SKEW_S)),
    )


def load_auth_file(path: str | Path) -> AuthFile:
    """Read and validate an auth file."""
    path = Path(path)
    return parse_auth(load_yaml(path), path)

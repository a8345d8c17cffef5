"""Marker credentials: an environment full of AWS keys, a profile and its files, none of which
may ever reach an emulator's wire or any output of swfbench."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from swfbench.engine.request_log import ENV as REQUEST_LOG_ENV

ENV_KEY_ID = "AKIAMARKERENVKEY0001"
ENV_SECRET = "markerEnvSecretValue0001+MARKER"
ENV_TOKEN = "markerEnvSessionToken0001MARKER"
FILE_KEY_ID = "AKIAMARKERFILEKEY002"
FILE_SECRET = "markerFileSecretValue0002MARKER"
FILE_TOKEN = "markerFileSessionToken0002MARKER"
MARKERS = (ENV_KEY_ID, ENV_SECRET, ENV_TOKEN, FILE_KEY_ID, FILE_SECRET, FILE_TOKEN)
PROFILE = "markerprofile"


@dataclass(frozen=True)
class MarkerEnvironment:
    env: dict[str, str]
    canary: Path
    """Created if anything runs the marker profile's credential_process."""

    def with_request_log(self, path: Path) -> dict[str, str]:
        return {**self.env, REQUEST_LOG_ENV: str(path)}


def marker_environment(base: Path) -> MarkerEnvironment:
    base.mkdir(parents=True, exist_ok=True)
    canary = base / "credential-process-ran"
    credentials = base / "credentials"
    credentials.write_text(
        f"[{PROFILE}]\naws_access_key_id = {FILE_KEY_ID}\n"
        f"aws_secret_access_key = {FILE_SECRET}\naws_session_token = {FILE_TOKEN}\n"
    )
    config = base / "config"
    config.write_text(
        f"[profile {PROFILE}]\nregion = eu-west-3\n"
        f"credential_process = sh -c 'touch {canary}; exit 1'\n"
        f"[profile other]\ncredential_process = sh -c 'touch {canary}; exit 1'\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.pop("SWFBENCH_ENDPOINT_URL", None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ENV_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ENV_SECRET,
            "AWS_SESSION_TOKEN": ENV_TOKEN,
            "AWS_PROFILE": PROFILE,
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_CONFIG_FILE": str(config),
            "AWS_DEFAULT_REGION": "eu-west-3",
        }
    )
    return MarkerEnvironment(env, canary)


def markers_in(data: bytes | str) -> list[str]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [marker for marker in MARKERS if marker in text]


def markers_in_files(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            hits = markers_in(path.read_bytes())
            if hits:
                found[str(path)] = hits
    return found

"""Send an export's files to the Klaviyo API, resumably (`export --push`).

Each file of the manifest is one request, in manifest order (events first, so the profiles exist before list
requests name them). Headers: `Authorization: Klaviyo-API-Key <CA_KLAVIYO_API_KEY>` (never printed), `revision`,
JSON:API content type. A 429 waits for its `Retry-After` (seconds, or an HTTP date); a 5xx or a network error
is retried with exponential backoff (`retry_base_seconds` x 2^n, at most 60 s); both stop after `max_attempts`.
After each success `push-state.json` in the export folder records the file (written to a temporary file and
renamed, so a crash leaves the previous state), and a rerun sends only the files not recorded there.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer_agent_warehouse.activation import klaviyo
from customer_agent_warehouse.activation.config import ActivationError
from customer_agent_warehouse.settings import read_variable

PUSH_STATE = "push-state.json"
DEFAULT_BASE_URL = "https://a.klaviyo.com"
MAX_BACKOFF_SECONDS = 60.0
KIND_ORDER = {"events": 0, "list_additions": 1, "list_removals": 2}


class PushFailed(Exception):
    """A request the API refused for good, or that kept failing: one line; rerunning resumes (exit code 1)."""


@dataclass(frozen=True)
class PushSettings:
    base_url: str
    api_key: str
    retry_base_seconds: float = 1.0
    max_attempts: int = 8
    timeout_seconds: float = 60.0


def push_settings(retry_base_seconds: float, max_attempts: int, timeout_seconds: float) -> PushSettings:
    """CA_KLAVIYO_BASE_URL and CA_KLAVIYO_API_KEY, checked: one line naming the variable when unusable."""
    base_url = (read_variable("CA_KLAVIYO_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")) or any(char.isspace() for char in base_url):
        raise ActivationError(f"CA_KLAVIYO_BASE_URL must be an http(s) URL such as {DEFAULT_BASE_URL}; "
                              f"got {base_url!r}")
    api_key = read_variable("CA_KLAVIYO_API_KEY") or ""
    if not api_key:
        raise ActivationError("CA_KLAVIYO_API_KEY is not set: export it with a Klaviyo private API key (scopes "
                              "events:write, lists:write, profiles:write) to use --push, or use --dry-run")
    return PushSettings(base_url, api_key, retry_base_seconds, max_attempts, timeout_seconds)


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise ActivationError(f"{folder / 'manifest.json'} cannot be read ({error}): export again") from None


def manifest_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def read_state(folder: Path) -> dict[str, Any]:
    """The push state of an export folder: which files were sent (empty when none)."""
    path = folder / PUSH_STATE
    if not path.exists():
        return {"manifest_sha256": None, "sent": {}}
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise ActivationError(f"{path} is not valid JSON: delete it only if nothing of this export was "
                              "sent, then push again") from None


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Atomically: a temporary file, flushed to disk, renamed over the state."""
    path = folder / PUSH_STATE
    temporary = folder / f".{PUSH_STATE}.tmp"
    with temporary.open("w") as handle:
        json.dump(state, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def ordered_files(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(manifest["files"], key=lambda entry: KIND_ORDER[entry["kind"]])


def pending(folder: Path, manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The files still to send and how many were sent before (the state must belong to this manifest)."""
    state = read_state(folder)
    if state["sent"] and state["manifest_sha256"] != manifest_digest(folder):
        raise ActivationError(f"{folder / PUSH_STATE} belongs to another export than {folder / 'manifest.json'}: "
                              "export into a new --out folder")
    files = [entry for entry in ordered_files(manifest) if entry["file"] not in state["sent"]]
    return files, len(state["sent"])


def push_complete(folder: Path) -> bool:
    if not (folder / "manifest.json").exists():
        return True
    files, _ = pending(folder, read_manifest(folder))
    return not files


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _error_detail(body: bytes) -> str:
    """The first JSON:API error of a response (`title: detail`), else the start of the text."""
    try:
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        return f"{first.get('title', '')}: {first.get('detail', '')}".strip(": ")
    except (ValueError, AttributeError, IndexError, TypeError):
        return " ".join(body.decode("utf-8", "replace").split())[:200]


class Client:
    """One request at a time, with the retry rules of the module."""

    def __init__(self, settings: PushSettings, sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.sleep = sleep
        self.log = log

    def _request(self, method: str, endpoint: str, data: bytes) -> urllib.request.Request:
        return urllib.request.Request(
            self.settings.base_url + endpoint, data=data, method=method,
            headers={"Authorization": f"Klaviyo-API-Key {self.settings.api_key}", "revision": klaviyo.REVISION,
                     "Content-Type": klaviyo.CONTENT_TYPE, "Accept": klaviyo.CONTENT_TYPE},
        )

    def send(self, method: str, endpoint: str, data: bytes, what: str) -> int:
        """The status of the first 2xx answer; PushFailed on a 4xx other than 429 or when attempts run out."""
        problem = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            wait = min(MAX_BACKOFF_SECONDS, self.settings.retry_base_seconds * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(self._request(method, endpoint, data),
                                            timeout=self.settings.timeout_seconds) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                detail = _error_detail(error.read())
                problem = f"{error.code} {error.reason}" + (f" ({detail})" if detail else "")
                if error.code != 429 and error.code < 500:
                    raise PushFailed(f"{method} {endpoint} ({what}) was refused: {problem}; fix it and rerun the "
                                     "same command to resume") from None
                wait = _retry_after(error.headers.get("Retry-After")) if error.code == 429 else wait
                wait = self.settings.retry_base_seconds if wait is None else wait
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                problem = str(getattr(error, "reason", error))
            if attempt < self.settings.max_attempts:
                self.log(f"  {what}: {problem}; retrying in {wait:g} s (attempt {attempt + 1} of "
                         f"{self.settings.max_attempts})")
                self.sleep(wait)
        raise PushFailed(f"{method} {endpoint} ({what}) failed {self.settings.max_attempts} times, last: {problem}; "
                         "rerun the same command to resume")


def _checked_bytes(folder: Path, entry: dict[str, Any]) -> bytes:
    path = folder / entry["file"]
    try:
        data = path.read_bytes()
    except OSError:
        raise ActivationError(f"{path} is missing: export again into a new --out folder") from None
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ActivationError(f"{path} changed since it was exported (sha256 differs from manifest.json): "
                              "export again into a new --out folder")
    return data


def push(folder: Path, client: Client) -> int:
    """Send every file not yet recorded as sent; returns how many were sent now."""
    manifest = read_manifest(folder)
    files, before = pending(folder, manifest)
    for entry in files:  # all files are checked before the first request
        _checked_bytes(folder, entry)
    if before:
        client.log(f"resuming: {before} of {len(manifest['files'])} files were sent before")
    state = {"manifest_sha256": manifest_digest(folder), "sent": read_state(folder)["sent"]}
    for number, entry in enumerate(files, start=1):
        status = client.send(entry["method"], entry["endpoint"], _checked_bytes(folder, entry), entry["file"])
        state["sent"][entry["file"]] = {"sha256": entry["sha256"], "status": status,
                                        "sent_at": datetime.now(UTC).isoformat(timespec="seconds")}
        write_state(folder, state)
        client.log(f"  sent {entry['file']} ({number} of {len(files)}): {status}")
    return len(files)

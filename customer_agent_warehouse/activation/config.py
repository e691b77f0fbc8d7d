"""The export's settings: the `activation_*` dbt vars (dbt_project.yml, overridden by `--vars`) and the limits.

A bad value is an `ActivationError` whose message names the var or option, the accepted form and the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer_agent_warehouse.activation import klaviyo
from customer_agent_warehouse.settings import PROJECT_ROOT

PROFILE_IDENTIFIERS = ("id", "email", "phone_number")
CONSENT_CHANNELS = ("email", "sms")


class ActivationError(Exception):
    """A foreseeable problem of the export's input or environment: one line naming it and the fix (exit 2)."""


@dataclass(frozen=True)
class Limits:
    """How the export cuts request bodies; never above the API's limits."""

    events_per_request: int = klaviyo.MAX_EVENTS_PER_REQUEST
    bytes_per_request: int = klaviyo.MAX_BYTES_PER_REQUEST
    profiles_per_request: int = klaviyo.MAX_PROFILES_PER_LIST_REQUEST

    def check(self) -> Limits:
        for option, value, most in (
            ("--events-per-request", self.events_per_request, klaviyo.MAX_EVENTS_PER_REQUEST),
            ("--bytes-per-request", self.bytes_per_request, klaviyo.MAX_BYTES_PER_REQUEST),
            ("--profiles-per-request", self.profiles_per_request, klaviyo.MAX_PROFILES_PER_LIST_REQUEST),
        ):
            if not 1 <= value <= most:
                raise ActivationError(f"{option} must be a whole number from 1 to {most:,} (the API's limit); "
                                      f"got {value}")
        return self


@dataclass(frozen=True)
class ActivationConfig:
    metric_names: dict[str, str] = field(default_factory=dict)  # metric key -> Klaviyo metric name (overrides)
    backfill_after_hours: float | None = 24.0
    include_first_message: bool = False
    profile_identifiers: tuple[str, ...] = PROFILE_IDENTIFIERS
    limits: Limits = field(default_factory=Limits)

    def as_manifest(self) -> dict[str, Any]:
        return {
            "activation_metric_names": self.metric_names,
            "activation_backfill_after_hours": self.backfill_after_hours,
            "activation_include_first_message": self.include_first_message,
            "activation_profile_identifiers": list(self.profile_identifiers),
            "events_per_request": self.limits.events_per_request,
            "bytes_per_request": self.limits.bytes_per_request,
            "profiles_per_request": self.limits.profiles_per_request,
        }


def project_vars(project_file: Path = PROJECT_ROOT / "dbt_project.yml") -> dict[str, Any]:
    """The `vars:` of dbt_project.yml (plain values; the activation vars hold no Jinja)."""
    import yaml

    document = yaml.safe_load(project_file.read_text()) or {}
    return dict(document.get("vars") or {})


def _bad(var: str, accepted: str, value: Any) -> ActivationError:
    return ActivationError(f"var {var} must be {accepted}; got {value!r}")


def _metric_names(value: Any) -> dict[str, str]:
    accepted = ("a mapping of metric key (started, resolved, escalated, recommendation) to a Klaviyo metric name "
                f"of 1 to {klaviyo.MAX_METRIC_NAME_LENGTH} characters, or null for the seed's English name")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("activation_metric_names", accepted, value)
    names: dict[str, str] = {}
    for key, name in value.items():
        if name is None:
            continue
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > klaviyo.MAX_METRIC_NAME_LENGTH:
            raise _bad(f"activation_metric_names.{key}", accepted, name)
        names[str(key)] = name.strip()
    return names


def _backfill_hours(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _bad("activation_backfill_after_hours", "a non-negative number of hours such as 24 or 0.5, or null "
                   "for never", value)
    return float(value)


def _flag(var: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(var, "true or false", value)
    return value


def _identifiers(value: Any) -> tuple[str, ...]:
    accepted = f"a non-empty list of {', '.join(PROFILE_IDENTIFIERS)}"
    if not isinstance(value, list) or not value or any(item not in PROFILE_IDENTIFIERS for item in value):
        raise _bad("activation_profile_identifiers", accepted, value)
    return tuple(dict.fromkeys(value))


def load_config(overrides: dict[str, Any] | None = None, limits: Limits | None = None,
                defaults: dict[str, Any] | None = None) -> ActivationConfig:
    """The activation vars of dbt_project.yml (or `defaults`), with `overrides` (from `--vars`) on top."""
    values = {**(project_vars() if defaults is None else defaults), **(overrides or {})}
    return ActivationConfig(
        metric_names=_metric_names(values.get("activation_metric_names")),
        backfill_after_hours=_backfill_hours(values.get("activation_backfill_after_hours", 24)),
        include_first_message=_flag("activation_include_first_message",
                                    values.get("activation_include_first_message", False)),
        profile_identifiers=_identifiers(values.get("activation_profile_identifiers", list(PROFILE_IDENTIFIERS))),
        limits=(limits or Limits()).check(),
    )

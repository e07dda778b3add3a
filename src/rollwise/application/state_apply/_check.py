"""Checks that need the server: channel configs, secrets by reference, existing environments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core.state_document import (
    REFERENCE,
    ChannelSpec,
    StateDocument,
    parse_state_document,
    reference_issues,
    state_path,
)
from ...errors import ConfigError, ConfigIssue
from ...store import Tx
from ._codec import ChannelCodec, secret_paths, variable_name
from ._read import channel_spec


def _resolve(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: _resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    return value


def _channel_issues(
    data: Mapping[str, Any], variables: Mapping[str, str], codec: ChannelCodec
) -> tuple[list[ConfigIssue], dict[str, ChannelSpec]]:
    """Each channel checked by the registry, its references resolved; secrets must be
    references (``${NAME}``), never written in the file."""
    issues: list[ConfigIssue] = []
    channels: dict[str, ChannelSpec] = {}
    raw_channels = data.get("channels")
    if not isinstance(raw_channels, Mapping):
        return issues, channels
    for name, raw in raw_channels.items():
        if not isinstance(raw, Mapping):
            continue
        base = state_path("channels", str(name))
        unset = False
        for key, value in _references(raw):
            missing = [m.group(1) for m in REFERENCE.finditer(value) if m.group(1) not in variables]
            for variable in missing:
                reason = f"environment variable {variable} is not set"
                issues.append(ConfigIssue(None, f"{base}.{key}", reason))
                unset = True
        if unset:  # its values are not known: checking them would only add noise
            continue
        body = {k: v for k, v in raw.items() if k != "enabled"}
        try:
            config = codec.parse(_resolve({**body, "name": str(name)}, variables), base)
        except ConfigError as error:
            issues += [ConfigIssue(None, issue.path, issue.reason) for issue in error.issues]
            continue
        for path in secret_paths(codec, config):
            written: Any = raw
            for part in path:
                written = written.get(part) if isinstance(written, Mapping) else None
            if not (isinstance(written, str) and REFERENCE.fullmatch(written.strip())):
                issues.append(
                    ConfigIssue(
                        None,
                        f"{base}.{'.'.join(path)}",
                        "a secret: write a reference such as "
                        f"${{{variable_name(str(name), *path)}}}, never the value",
                    )
                )
        enabled = raw.get("enabled", True)
        if isinstance(enabled, bool):
            channels[str(name)] = channel_spec(config, enabled)
    return issues, channels


def _references(raw: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, str) and REFERENCE.search(value):
            found.append((path, value))
        elif isinstance(value, Mapping):
            found += _references(value, path)
    return found


def prepare_document(
    tx: Tx,
    data: Any,
    variables: Mapping[str, str],
    codec: ChannelCodec,
    environment: str | None = None,
) -> StateDocument:
    """The checked document with channel configs resolved, or one ConfigError listing
    every problem of the file by path."""
    issues: list[ConfigIssue] = []
    document: StateDocument | None = None
    try:
        document = parse_state_document(data)
    except ConfigError as error:
        issues += error.issues
    channel_issues, channels = _channel_issues(
        data if isinstance(data, Mapping) else {}, variables, codec
    )
    issues += channel_issues
    if document is not None:
        existing = {record.key for record in tx.environments.list_environments()}
        issues += reference_issues(document, existing)
        if environment is not None and environment not in existing | set(document.environments):
            reason = f"unknown environment {environment!r} (neither in the file nor existing)"
            issues.append(ConfigIssue(None, "--env", reason))
    if issues:
        unique = list(dict.fromkeys(issues))
        raise ConfigError(unique)
    assert document is not None
    return document.model_copy(update={"channels": channels})

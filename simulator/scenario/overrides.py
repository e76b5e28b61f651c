"""Command-line overrides of a scenario: ``--set a.b.c=value``, applied after ``extends``."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable
from typing import Any

from ..errors import ConfigError
from ..errors import short_repr as _short
from .limits import MAX_NESTING, clip


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``a.b.c=value`` (value as a TOML value, else as a bare string)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8 on the command line
        raise ConfigError(f"--set {_short(text)}: not UTF-8 text; retype it") from None
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set scenario.draws=20000")
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = [p.strip() for p in key.split(".")]
    if not all(parts):
        raise ConfigError(f"--set {text!r}: empty key part; write e.g. scenario.top_k=5")
    if len(parts) > MAX_NESTING:
        raise ConfigError(
            f"--set {_short(text)}: a key of {len(parts)} parts, more than {MAX_NESTING}; "
            "name an existing key, e.g. scenario.top_k=5"
        )
    if parts[0] == "extends":
        raise ConfigError(
            f"--set {text!r}: extends cannot be overridden (files are merged before --set "
            "applies); edit the file's extends line, or name the parent file instead"
        )
    raw = raw.strip()
    try:
        doc = tomllib.loads(f"v = {raw}")
    except (ValueError, RecursionError):  # not one TOML value (or > 4300 digits): a string
        return parts, raw
    # "1\nw = 2" parses as two keys: that is not one TOML value, so keep the text as it is.
    return parts, (doc["v"] if doc.keys() == {"v"} else raw)


def apply_overrides(
    data: dict[str, Any],
    overrides: Iterable[str],
    layers: list[tuple[str, dict[str, Any]]] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Apply ``--set KEY=VALUE`` overrides; record each in ``layers`` (for messages)."""
    data = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            elif not isinstance(nxt, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(
                    f"--set {text!r}: {where} is a value, not a table, so it has no key "
                    f"'{parts[i + 1]}'; set {where} itself, e.g. --set {where}=<value>"
                )
            node = nxt
        node[parts[-1]] = value
        if layers is not None:
            own: dict[str, Any] = {}
            leaf = own
            for part in parts[:-1]:
                leaf = leaf.setdefault(part, {})
            leaf[parts[-1]] = value
            label = f"--set {clip(text)}"
            layers.append((f"{source} ({label})" if source else label, own))
    return data

"""Where each key of a merged scenario came from: a key path → its file or ``--set`` override.

A scenario is merged from layers (the file, the parents its ``extends`` chain names, the command
line's ``--set`` overrides). Messages name the layer that wrote the bad key, not the file the
user named; these functions keep that record and re-point an error with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ConfigError, key_part


def key_paths(data: Any, prefix: str = "") -> Iterable[str]:
    """Every dotted key path in nested tables (tables and values alike)."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = f"{prefix}.{key_part(key)}" if prefix else key_part(key)
            yield here
            yield from key_paths(value, here)


def layer_origins(
    data: Mapping[str, Any], layers: Sequence[tuple[str, Mapping[str, Any]]], source: str
) -> dict[str, str]:
    """Key path → the last layer that wrote it, for paths not written by ``source``."""
    written = [(label, set(key_paths(own))) for label, own in layers]
    out = {}
    for key in key_paths(data):
        label = next((lbl for lbl, keys in reversed(written) if key in keys), source)
        if label != source:
            out[key] = label
    return out


def origin_of(key: str, origins: Mapping[str, str]) -> str | None:
    """The file (or ``--set``) that wrote dotted ``key``, if recorded in ``origins``.

    An array is written whole by one file: ``observations[2].rank`` comes from
    ``observations``.
    """
    parts = re.sub(r"\[\d+\]", "", key).split(".")
    for n in range(len(parts), 0, -1):
        label = origins.get(".".join(parts[:n]))
        if label is not None:
            return label
    return None


def attribute(exc: ConfigError, source: str, origins: Mapping[str, str]) -> ConfigError:
    """``exc`` re-pointed at the layer that wrote its key, when that is not ``source``."""
    if not exc.key or exc.source != source:
        return exc
    label = origin_of(exc.key, origins)
    if label is None or label == source:
        return exc
    return ConfigError(exc.detail, source=label, key=exc.key)

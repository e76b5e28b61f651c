"""The IOOS compliance-checker's CF-1.10 check of a file, as messages by priority."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

from compliance_checker.runner import CheckSuite, ComplianceChecker

CF = "cf:1.10"
PRIORITIES = ("high", "medium", "low")


def cf_messages(path: Path) -> dict[str, list[str]]:
    """{"high": [...], "medium": [...], "low": [...]}: the checker's messages for ``path``.

    The checker's own failures (an exception inside one of its checks, printed as a WARNING
    to stdout) are not findings and are not returned.
    """
    with warnings.catch_warnings():  # its deprecated SOS checkers warn as they load
        warnings.simplefilter("ignore", DeprecationWarning)
        CheckSuite.load_all_available_checkers()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "cf.json"
        ComplianceChecker.run_checker(
            str(path), [CF], 0, "normal", output_filename=str(report), output_format="json"
        )
        result = json.loads(report.read_text())[CF]
    return {
        p: [f"{group['name']}: {m}" for group in result[f"{p}_priorities"] for m in group["msgs"]]
        for p in PRIORITIES
    }

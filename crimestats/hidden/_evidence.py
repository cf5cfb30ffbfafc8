"""Evidence in a capture table of heterogeneity a method cannot represent (placeholder)."""
from __future__ import annotations
from typing import Any
def assess_heterogeneity(tab, spec, fit, options) -> dict[str, Any]:
    return {"warn": False}
def warning_text(evidence, method) -> str:
    return ""

"""Where a result came from: code version, torch version and device."""
from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """``git describe --always --dirty`` of the project, ``$PATHMARKET_CODE_VERSION``, or "unknown"."""
    if os.environ.get("PATHMARKET_CODE_VERSION"):
        return os.environ["PATHMARKET_CODE_VERSION"]
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=ROOT,
                              capture_output=True, text=True, timeout=5, check=True)
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: torch.device) -> str:
    """"cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)"."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


def provenance_base(device: torch.device) -> dict[str, str]:
    return {"code_version": code_version(), "torch_version": torch.__version__, "device": device_name(device)}

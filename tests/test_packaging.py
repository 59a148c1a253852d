"""The pins in pyproject.toml, conda.yaml and constraints.txt agree."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines):
    """Name (PEP 503 normalized) to pinned version."""
    found = (re.match(r"([A-Za-z0-9_.-]+)==(\S+)", ln) for ln in lines if "==" in ln)
    return {re.sub(r"[-_.]+", "-", m[1]).lower(): m[2] for m in found if m}


def test_direct_pins_match_conda_and_constraints():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = _pins(project["dependencies"])
    conda = yaml.safe_load((ROOT / "conda.yaml").read_text())
    conda_pins = _pins(next(d for d in conda["dependencies"] if isinstance(d, dict))["pip"])
    constraints = _pins(line for line in (ROOT / "constraints.txt").read_text().splitlines()
                        if not line.startswith("#"))
    for name, version in direct.items():
        assert conda_pins.get(name) == version, name
        assert constraints.get(name) == version, name
    assert direct["torch"] == "2.13.0"

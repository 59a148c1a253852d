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
    constraints = _pins(
        line for line in (ROOT / "constraints.txt").read_text().splitlines() if not line.startswith("#")
    )
    for name, version in direct.items():
        assert conda_pins.get(name) == version, name
        assert constraints.get(name) == version, name
    assert direct["torch"] == "2.13.0"


def test_the_top_level_api_resolves_and_stays_cheap_to_import():
    import subprocess
    import sys

    import ftlineage

    for name in ftlineage.__all__:
        assert getattr(ftlineage, name) is not None, name
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ftlineage; print(sorted({'torch', 'mlflow'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert heavy == "[]"


def test_library_code_imports_no_other_package_private_module():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = []
    for path in [*(root / "ftlineage").rglob("*.py"), *(root / "mlflow_plugins").rglob("*.py")]:
        rel = path.relative_to(root).parts
        own = rel[1] if rel[0] == "ftlineage" and len(rel) > 2 else None
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            for m in re.finditer(r"(?:from|import) ftlineage\.([a-z_]+)((?:\.[a-z_]+)*)", line):
                package, rest = m.group(1), m.group(2)
                private = package.startswith("_") or any(p.startswith("_") for p in rest.split(".") if p)
                top_level_cli = own is None and rel[0] == "ftlineage" and package.startswith("_cli")
                shared = package == "_util" and not rest  # the leaf of shared internals (ARCHITECTURE.md)
                if private and package != own and not top_level_cli and not shared:
                    found.append(f"{path.relative_to(root)}:{lineno}: {line.strip()}")
    assert not found, "\n".join(found)


def test_no_module_outside_a_bundled_task_imports_it():
    """A task's data reaches the rest of the package through the task contract, not an import."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    tasks = {p.name for p in (root / "ftlineage" / "tasks").iterdir() if (p / "__init__.py").exists()}
    tasks -= {"general"}  # the shared drift families every task uses, not a task
    found = []
    for path in [*(root / "ftlineage").rglob("*.py"), *(root / "mlflow_plugins").rglob("*.py")]:
        rel = path.relative_to(root).parts
        own = rel[2] if rel[:2] == ("ftlineage", "tasks") and len(rel) > 3 else None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            for name in names:
                parts = name.split(".")
                if parts[:2] == ["ftlineage", "tasks"] and len(parts) > 2 and parts[2] in tasks - {own}:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name}")
    assert not found, "\n".join(found)

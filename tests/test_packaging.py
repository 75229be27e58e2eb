"""What a user installs with `pip install .` (no extras) is enough to run every runtime module."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = ("briefings", "adapters", "bot")


def _imported_modules() -> dict[str, str]:
    """Top-level module -> a file importing it, over every runtime module (function-level imports too)."""
    found: dict[str, str] = {}
    for package in RUNTIME_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        _normalise(re.split(r"[\[<>=!~; ]", dep, maxsplit=1)[0]) for dep in project["dependencies"]
    }


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    missing = []
    for module, where in _imported_modules().items():
        if (
            module in sys.stdlib_module_names
            or module in RUNTIME_PACKAGES
            or module == "__future__"
        ):
            continue
        owners = {_normalise(d) for d in distributions.get(module, [])}
        if not owners & declared:
            missing.append(f"{module} (imported in {where}; from {sorted(owners) or 'unknown'})")
    assert not missing, "runtime imports not in [project].dependencies: " + ", ".join(missing)


def test_the_readme_the_dockerfile_and_the_smoke_check_install_alike() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "&& pip install . && briefbot digest" in readme
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    smoke = (ROOT / "scripts" / "smoke").read_text(encoding="utf-8")
    assert re.search(r"^RUN pip install \.(\s|$)", dockerfile, re.M), (
        "Dockerfile: RUN pip install ."
    )
    assert "&& pip install . >" in smoke
    copied = re.search(r"cp -r ([^\"]+) \"\$tmp/src/\"", smoke)
    assert copied is not None
    for name in copied.group(1).split():
        assert re.search(rf"^COPY .*\b{re.escape(name)}\b", dockerfile, re.M), name

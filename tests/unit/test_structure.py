"""The structure rules (`scripts/check-structure`) hold for src/, and the check sees each breach."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-structure"


def run(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK), str(src)], capture_output=True, text=True, check=False)


def test_src_keeps_the_structure_rules() -> None:
    result = run(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "structure: ok" in result.stdout


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_hidden_in_a_function_is_found_and_a_type_only_import_is_not(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "def f():\n    from pkg.a import x\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        "d.py": "from . import c\n",
    })
    result = run(src)
    assert result.returncode == 1
    assert "import cycle among 2 files" in result.stdout
    assert "pkg.a -> pkg.b" in result.stdout and "pkg.b -> pkg.a (line 2)" in result.stdout
    assert "pkg.c" not in result.stdout.split("FAIL", 1)[1]


def test_a_class_over_25_methods_and_a_long_module_are_found(tmp_path: Path) -> None:
    methods = "".join(f"    def m{i}(self):\n        return {i}\n" for i in range(26))
    body = '"""A docstring is not code."""\n# nor is a comment\n\n' + "".join(f"x{i} = {i}\n" for i in range(501))
    src = write(tmp_path, {"__init__.py": "", "big.py": "class Big:\n" + methods, "long.py": body})
    result = run(src)
    assert result.returncode == 1
    assert "class Big" in result.stdout and "has 26 methods" in result.stdout
    assert "long.py has 501 code lines" in result.stdout
    assert "2 breach(es)" in result.stdout

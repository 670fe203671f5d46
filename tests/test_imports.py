"""What importing tabsyn costs, and the import layering of ARCHITECTURE.md.

``import tabsyn`` and the neutral layers (``tabsyn.table``, ``tabsyn.evaluation``)
must not load torch or a synthesizer: checked in a fresh interpreter, where
``sys.modules`` shows everything an import pulled in. The layering rules are
checked on the source, by parsing every module under ``tabsyn/``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tabsyn

PACKAGE = Path(tabsyn.__file__).resolve().parent
SYNTHESIZER_MODULES = ("tabsyn.tabular", "tabsyn.image", "tabsyn.diffusion", "tabsyn.base", "tabsyn.training")


def modules_after(statement: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


def loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


# -- what an import loads ---------------------------------------------------------

def test_import_tabsyn_loads_no_torch_sdmetrics_or_synthesizer():
    modules = modules_after("import tabsyn")
    assert loaded(modules, ("torch", "sdmetrics", "tabsyn.evaluation", *SYNTHESIZER_MODULES)) == []


@pytest.mark.parametrize("module", ["tabsyn.evaluation", "tabsyn.table.schema", "tabsyn.table.guard"])
def test_neutral_layers_load_no_torch_and_no_synthesizer(module):
    modules = modules_after(f"import {module}")
    assert module in modules
    assert loaded(modules, ("torch", "tabsyn.persistence", *SYNTHESIZER_MODULES)) == []


def test_public_names_resolve_on_first_use():
    from tabsyn.evaluation import evaluate
    from tabsyn.image.ddpm import ImageDDPM
    from tabsyn.persistence import load
    from tabsyn.tabular.synthesizer import TabSynthesizer

    assert tabsyn.TabSynthesizer is TabSynthesizer
    assert tabsyn.ImageDDPM is ImageDDPM
    assert tabsyn.evaluate is evaluate
    assert tabsyn.load is load
    assert set(tabsyn.__all__) <= set(dir(tabsyn))
    assert all(hasattr(tabsyn, name) for name in tabsyn.__all__)
    with pytest.raises(AttributeError, match="module 'tabsyn' has no attribute 'Nope'"):
        tabsyn.Nope


def test_star_import_gives_the_public_names():
    namespace: dict = {}
    exec("from tabsyn import *", namespace)
    assert {"TabSynthesizer", "ImageDDPM", "evaluate", "load"} <= set(namespace)


# -- layering, on the source --------------------------------------------------------

def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (functions and TYPE_CHECKING too).

    ``from tabsyn import TabSynthesizer`` counts as importing ``tabsyn.TabSynthesizer``;
    relative imports are resolved against the file's package.
    """
    package = ".".join(("tabsyn", *path.relative_to(PACKAGE).parent.parts))
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(files: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in files:
        bad = loaded(imported_modules(path), forbidden)
        if bad:
            found[str(path.relative_to(PACKAGE.parent))] = bad
    return found


def modules_in(*relative: str) -> list[Path]:
    files = []
    for rel in relative:
        target = PACKAGE / rel
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target] if target.exists() else []
    return files


# What the torch-free layers may not reach: torch itself, and every tabsyn module that imports it.
TORCH_SIDE = ("torch", *SYNTHESIZER_MODULES, "tabsyn.persistence", "tabsyn.cli",
              "tabsyn.TabSynthesizer", "tabsyn.ImageDDPM", "tabsyn.load")
MODEL_CODE = ("tabular/vae.py", "diffusion", "image/unet.py", "image/schedule.py", "image/samplers.py")


def test_every_module_parses():
    for path in PACKAGE.rglob("*.py"):
        imported_modules(path)


def test_table_and_evaluation_import_no_torch_and_no_synthesizer():
    files = modules_in("table", "evaluation")
    assert len(files) >= 5
    assert violations(files, TORCH_SIDE) == {}


def test_model_code_imports_no_pandas():
    files = modules_in(*MODEL_CODE)
    assert len(files) >= 5
    assert violations(files, ("pandas",)) == {}


def test_the_table_codec_imports_no_torch():
    files = modules_in("tabular/codec")
    if not files:
        pytest.skip("tabsyn/tabular/codec does not exist yet")
    assert violations(files, ("torch",)) == {}


def test_the_layer_check_sees_imports_in_functions_and_relative_ones(tmp_path, monkeypatch):
    fake = tmp_path / "tabsyn"
    (fake / "table").mkdir(parents=True)
    (fake / "table" / "bad.py").write_text(
        "def f():\n    import torch.nn\n\nfrom ..tabular import synthesizer\nfrom tabsyn import load\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    found = violations([fake / "table" / "bad.py"], TORCH_SIDE)
    assert found == {"tabsyn/table/bad.py": ["tabsyn.load", "tabsyn.tabular", "tabsyn.tabular.synthesizer",
                                             "torch.nn"]}

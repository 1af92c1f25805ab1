"""evaluation/ reads only release files: it must not import another stage package."""

from __future__ import annotations

import ast
from pathlib import Path

import mmrare.evaluation

FORBIDDEN = ("curation", "ontology", "leakage", "annotations", "warehouse", "flows", "embedding")


def test_evaluation_imports_no_other_stage() -> None:
    root = Path(mmrare.evaluation.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[:2][-1] in FORBIDDEN]
    assert offenders == []

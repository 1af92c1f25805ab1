"""The encoder process's start-up: scikit-learn is not imported until something calls into it."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_a_deferred_name_imports_the_real_module_on_its_first_call() -> None:
    out = _run(
        """
        import sys
        from mmrare.embedding.worker import deferred_imports

        with deferred_imports({"sklearn.metrics": ("pairwise_distances",)}):
            from sklearn.metrics import pairwise_distances
            assert "sklearn.base" not in sys.modules
        assert "sklearn" not in sys.modules and "sklearn.metrics" not in sys.modules
        print(pairwise_distances([[0.0, 0.0]], [[3.0, 4.0]]).tolist())
        import sklearn.metrics
        assert sklearn.metrics.pairwise_distances is not pairwise_distances  # the real one now
        print(type(sys.modules["sklearn"].__spec__.loader).__name__)
        """
    )
    distances, loader = out.splitlines()
    assert distances == "[[5.0]]"
    assert loader != "NoneType"


def test_sentence_transformers_imports_with_scikit_learn_deferred() -> None:
    """The premise of the deferral: the pinned sentence-transformers needs only the listed names at
    import time (a newer one that needs more fails here, not in a build)."""
    out = _run(
        """
        import sys
        from mmrare.embedding.worker import _SKLEARN_AT_IMPORT, deferred_imports

        with deferred_imports(_SKLEARN_AT_IMPORT):
            from sentence_transformers import SentenceTransformer
        print(SentenceTransformer.__name__, "sklearn.base" in sys.modules, "sklearn" in sys.modules)
        """
    )
    assert out == "SentenceTransformer False False"


def test_modules_already_imported_are_left_alone() -> None:
    out = _run(
        """
        import sys
        import sklearn.metrics
        from mmrare.embedding.worker import deferred_imports

        real = sklearn.metrics.pairwise_distances
        with deferred_imports({"sklearn.metrics": ("pairwise_distances",)}):
            from sklearn.metrics import pairwise_distances
        print(pairwise_distances is real, sys.modules["sklearn.metrics"] is sklearn.metrics)
        """
    )
    assert out == "True True"

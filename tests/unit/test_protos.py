"""What the package ships: gateway stubs generated from protos/gateway.proto as scripts/gen_protos.py
makes them today, and a public API whose ``__all__`` lists every name it imports, sorted."""

from __future__ import annotations
import __future__

import importlib
import importlib.util
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_gen_protos() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_gen_protos().generate(tmp_path_factory.mktemp("protos"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", load_gen_protos().GENERATED)
def test_generated_stubs_match_the_proto(regenerated: Path, name: str) -> None:
    shipped = ROOT / "zeebe_celery" / "gateway" / "proto" / name

    assert shipped.read_bytes() == (regenerated / name).read_bytes(), (
        f"{shipped.relative_to(ROOT)} is stale: run python scripts/gen_protos.py"
    )


@pytest.mark.parametrize("package", ["zeebe_celery", "zeebe_celery.gateway"])
def test_all_lists_every_public_name_of_the_package_sorted(package: str) -> None:
    module = importlib.import_module(package)
    public = sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType | __future__._Feature)
    )
    exported = [name for name in module.__all__ if name != "__version__"]

    assert exported == public
    assert module.__all__ == sorted(module.__all__)


def test_the_version_is_exported() -> None:
    import zeebe_celery

    assert "__version__" in zeebe_celery.__all__
    assert isinstance(zeebe_celery.__version__, str)
    assert zeebe_celery.__version__

"""What the package ships: the 8.9 gateway proto as Maven Central's artifact holds it, gateway stubs generated
from it as scripts/gen_protos.py makes them today, and a public API whose ``__all__`` lists every name it
imports, sorted."""

from __future__ import annotations
import __future__

import hashlib
import importlib
import importlib.util
import io
import types
import zipfile
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


def test_the_committed_proto_is_the_pinned_one_of_the_8_9_artifact() -> None:
    gen = load_gen_protos()

    assert gen.VERSION == "8.9.0"
    assert hashlib.sha256((ROOT / "protos" / "gateway.proto").read_bytes()).hexdigest() == gen.PROTO_SHA256
    assert gen.jar_url().endswith("/io/camunda/zeebe-gateway-protocol-impl/8.9.0/zeebe-gateway-protocol-impl-8.9.0.jar")


def _jar(proto: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("gateway.proto", proto)
    return buffer.getvalue()


def test_the_proto_is_taken_from_the_jar_only_when_its_digest_is_the_pinned_one() -> None:
    gen = load_gen_protos()
    proto = (ROOT / "protos" / "gateway.proto").read_bytes()

    assert gen.proto_from_jar(_jar(proto)) == proto
    with pytest.raises(ValueError, match="expected"):
        gen.proto_from_jar(_jar(proto + b"// changed"))


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

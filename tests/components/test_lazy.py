"""Packages re-export lazily: a light submodule imports without the heavy ones behind its package."""

import pkgutil
import subprocess
import sys

import pytest

import components.export_onnx
import components.train.launchers
from components.lazy import lazy_exports


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.strip().split(","))


def test_the_export_component_module_loads_without_torch():
    assert "torch" not in _imported_after("import components.export_onnx.component")


def test_a_launcher_constant_loads_without_the_kubernetes_launcher():
    loaded = _imported_after("from components.train.launchers.scheduling import GPU_TOLERATION")
    assert "components.train.launchers.cluster" not in loaded


def test_re_exported_names_are_the_submodules_own():
    from components.export_onnx.export import export_onnx
    from components.train.launchers.step import run_train_step

    assert components.export_onnx.export_onnx is export_onnx
    assert components.train.launchers.run_train_step is run_train_step
    assert set(components.train.launchers.__all__) >= {"KubernetesLauncher", "publish", "GPU_TOLERATION"}


def test_an_unknown_name_is_an_attribute_error_naming_the_package():
    getter = lazy_exports("components.export_onnx", {"ExportError": "errors"})
    with pytest.raises(AttributeError, match=r"module 'components\.export_onnx' has no attribute 'nope'"):
        getter("nope")
    with pytest.raises(ImportError):
        from components.export_onnx import nope  # noqa: F401


@pytest.mark.parametrize("package", [components.export_onnx, components.train.launchers])
def test_no_re_exported_name_is_also_a_submodule(package):
    """Importing a submodule sets the package attribute of its name, which would shadow the export."""
    submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert not submodules & set(package.__all__)

"""Registers kt_toolkit's Keras objects once Keras is imported, without importing it.

A model saved with a kt_toolkit schedule (`lr_schedule: noam`, `multistep`, a
continued Hyperband round) or an objective's metric (`LabelF1Score`,
`MacroPrecision`, `MacroRecall`, `LabelPRAUC`) reloads with
`keras.saving.load_model` only if those classes are registered with Keras, which
importing `kt_toolkit.schedules` and `kt_toolkit.hypermodels.metrics` does. `import kt_toolkit` must stay free of Keras and TensorFlow (the CLI starts in
well under a second and `kt_toolkit.config` is pure), so it cannot import the
schedules itself. Instead `install()`:

- imports `kt_toolkit.schedules` at once when Keras is already imported;
- otherwise puts a finder first on `sys.meta_path` that, when the top-level `keras`
  package is imported, wraps its loader so that `kt_toolkit.schedules` is imported
  right after Keras has finished loading; the finder then removes itself.

Either way `import kt_toolkit` followed by `keras.saving.load_model(path)` works, in
whichever order the two were imported.
"""

import importlib
import importlib.abc
import logging
import sys

__all__ = ["install"]

logger = logging.getLogger(__name__)

REGISTERING_MODULES = ("kt_toolkit.schedules", "kt_toolkit.hypermodels.metrics")


def _register():
    for name in REGISTERING_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # never break the user's `import keras`
            logger.warning("Could not import %s after Keras: saved models that use its "
                           "objects need it imported before loading.", name, exc_info=True)


class _RegisteringLoader(importlib.abc.Loader):
    """Runs the real loader of `keras`, then `_register()`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Keras sees its own loader while it loads (resources, reloads).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _uninstall()
        _register()


class _KerasFinder(importlib.abc.MetaPathFinder):
    """Finds `keras` with the other finders and wraps its loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


def _uninstall():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _KerasFinder)]


def install() -> None:
    """Registers kt_toolkit's Keras objects now or right after Keras is imported."""
    if "keras" in sys.modules:
        _register()
    elif not any(isinstance(f, _KerasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _KerasFinder())

"""Importing the user's own code named as `"package.module:name"`. No Keras.

Shared by `model.builder` (your own model) and `data.loader` (your own data): the
module is imported from a folder (the experiment file's, unless the YAML says
otherwise) or from an installed package, and a failure is one line naming the key.
"""

import importlib
import os
import sys
from typing import Any

from kt_toolkit.errors import invalid

__all__ = ["load_object"]


def load_object(spec: str, module_dir: str | None = None, *, key: str) -> Any:
    """Imports `name` from `"package.module:name"`, `module_dir` first on `sys.path`.

    Args:
        spec: String, `"package.module:name"`.
        module_dir: Optional string, a folder to import the module from.
        key: String, the setting `spec` came from (`model.builder`, `data.loader`),
            named in errors.

    Returns:
        The object `name` in the module.

    Raises:
        ConfigError: the module does not import (with the import error's own
            message), or has no attribute `name`.
    """
    module_name, _, attribute = str(spec).partition(":")
    if not module_name or not attribute:
        raise invalid(key, "a string \"package.module:name\"", spec,
                      "Name the module and the object in it, separated by a colon.")
    if module_dir and os.path.abspath(module_dir) not in sys.path:
        # Kept there: KerasTuner may import the module again (a worker, a reload).
        sys.path.insert(0, os.path.abspath(module_dir))
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is the user's module
        where = f" (looked in {module_dir} and the installed packages)" if module_dir else ""
        raise invalid(key, "an importable module and a name in it", spec,
                      _sentence(f"Importing {module_name!r} failed{where}: "
                                f"{type(error).__name__}: {error}")) from None
    if not hasattr(module, attribute):
        public = sorted(n for n in vars(module) if not n.startswith("_"))
        raise invalid(key, f"a name defined in {module_name}", spec,
                      f"{module_name} has no attribute {attribute!r}; it defines: "
                      f"{', '.join(public[:12]) or 'nothing public'}.")
    return getattr(module, attribute)


def _sentence(text: str) -> str:
    """`text` ending as a sentence: a period added unless it ends with one (or ! or ?)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."

"""The collection's module_utils (plugins/module_utils/...) as the controller imports them:
they ship to hosts inside AnsiballZ and import only the standard library, so the
controller loads a file of them directly, once, under a private module name."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from stratus import collection

# the checkout's, or the installed collection's (stratus.collection)
ROOT = collection.root() / "plugins" / "module_utils"


def load(relative: str, name: str) -> ModuleType:
    """``plugins/module_utils/<relative>`` as the module ``name`` (loaded once)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

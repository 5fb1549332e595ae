"""The image format inspector the compute hosts use (Nova's and Glance's
``format_inspector``), loaded for the controller from the collection's own file, so an
upload is judged by exactly the rules a host applies before ``qemu-img`` reads it.

``plugins/module_utils/common/image_format.py`` imports only the standard library; it is
loaded by path because the controller does not import Ansible's ``ansible_collections``
namespace.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "common" / "image_format.py"
_NAME = "stratus._image_format"


def _load():
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module


_format = _load()
ImageFacts = _format.ImageFacts
UnsafeImage = _format.UnsafeImage
inspect = _format.inspect
check_safe = _format.check_safe

__all__ = ["ImageFacts", "UnsafeImage", "check_safe", "inspect"]

# The format lists, for the upload and import checks (stratus.image.upload).
SAFE_FORMATS, CONVERTIBLE, KNOWN = _format.SAFE_FORMATS, _format.CONVERTIBLE, _format.KNOWN

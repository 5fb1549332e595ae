"""The image format inspector the compute hosts use (Nova's and Glance's
``format_inspector``), loaded for the controller from the collection's own file, so an
upload is judged by exactly the rules a host applies before ``qemu-img`` reads it.

``plugins/module_utils/common/image_format.py`` imports only the standard library; it is
loaded by path because the controller does not import Ansible's ``ansible_collections``
namespace.
"""

from __future__ import annotations

from stratus import module_utils

_format = module_utils.load("common/image_format.py", "stratus._image_format")
ImageFacts = _format.ImageFacts
UnsafeImage = _format.UnsafeImage
inspect = _format.inspect
check_safe = _format.check_safe

__all__ = ["ImageFacts", "UnsafeImage", "check_safe", "inspect"]

# The format lists, for the upload and import checks (stratus.image.upload).
SAFE_FORMATS, CONVERTIBLE, KNOWN = _format.SAFE_FORMATS, _format.CONVERTIBLE, _format.KNOWN

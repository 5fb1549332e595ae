"""Drivers for the compute service's host side (the shape of Nova's libvirt driver).

Plain Python (standard library + libvirt-python) so that modules ship them with
AnsiballZ and tests drive them without Ansible:

- :mod:`.domain`: domain XML as small frozen dataclasses (``Guest``, ``Disk``,
  ``Interface``, ``Serial``, ``Console``, ``InstanceMetadata``) with
  ``to_element()`` / ``from_element()``; "changed" is decided by comparing them.
- :mod:`.libvirt_driver`: ``LibvirtDriver``, every call into libvirt (define, start,
  stop, pause, managed save, resize, hotplug, undefine, host facts, block copy,
  migration, files through storage pools).
- :mod:`.storage_xml`: pool, volume and block-copy XML as dataclasses (as ``domain``).
- :mod:`.instance_driver`: ``InstanceDriver.ensure_present`` / ``ensure_absent``, the
  ``instance`` module's logic, returning ``common.outcome.Outcome``.
- ``common.qemu_img.QemuImg(run, error=CommandFailed, invalid=InvalidInput)``: the
  ``qemu-img`` runner shared with block storage (``--output=json``); :mod:`.qemu` makes
  it with compute's typed errors (``compute_qemu_img()``, ``module_qemu_img(module)``).
- :mod:`.paths`: host paths of instances and cached images (Nova's layout).
- :mod:`.host`: which virt type to use (``kvm``/``qemu``) and host capacity.
- :mod:`.image_cache`: base images on a compute host (fetch, verify, inspect with
  ``common.image_format`` before qemu-img sees them, convert, users).
- :mod:`.image_source`: where images may come from (allowed roots and URL prefixes,
  a hash for downloads, the size cap, request headers such as a ticket).
- :mod:`.image_upload`: an instance's root disk sent to the image service as a
  flattened qcow2 (a server snapshot).
- :mod:`.instance`: turning the ``instance`` module's arguments into a ``Guest`` and
  the disk files it needs.
- :mod:`.config_drive`: the config-2 ISO (owned by the guest image work).
- :mod:`.errors`: the typed exceptions, caught once in each module's ``main()``.

Path from a module to libvirt: ``plugins/modules/instance.py`` → ``InstanceDriver`` →
``LibvirtDriver``
(``libvirt_driver.py``) → ``libvirt``.
"""

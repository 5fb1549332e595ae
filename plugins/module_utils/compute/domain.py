"""Libvirt domain XML as small frozen dataclasses (the shape of Nova's ``libvirt/config.py``).

Each class covers one element: ``to_element()`` writes it, ``from_element()`` reads the
parts Stratus manages and ignores what libvirt adds (addresses, aliases, controllers).
So ``Guest.from_xml(dom.XMLDesc()) == wanted`` answers "is the domain as wanted?" by
comparing objects, never strings::

    guest = Guest(name="instance-<uuid>", uuid=..., vcpus=1, memory_kib=131072,
                  disks=(Disk(target="vda", source=".../disk"),),
                  interfaces=(Interface(mac="fa:16:3e:00:00:01", bridge="brq..."),),
                  serials=(Serial(log_file=".../console.log"),), consoles=(Console(),),
                  metadata=InstanceMetadata(uuid=...))
    xml = guest.to_xml()
    assert Guest.from_xml(xml) == guest
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

STRATUS_NS = "https://stratus.invalid/xmlns/libvirt/instance/1.0"
ET.register_namespace("stratus", STRATUS_NS)

_UNITS = {
    "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
    "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
}
_MACHINE_ALIASES = ((re.compile(r"^pc-q35-[\d.]+$"), "q35"), (re.compile(r"^pc-i440fx-[\d.]+$"), "pc"))


def _kib(elem: ET.Element | None) -> int:
    """Memory element value in KiB (libvirt's default unit)."""
    if elem is None or not (elem.text or "").strip():
        return 0
    unit = elem.get("unit", "KiB").lower()
    return int(elem.text.strip()) * _UNITS[unit] // 1024


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v != ""})
    if text is not None:
        child.text = text
    return child


def normalize_machine(machine: str) -> str:
    """``pc-q35-7.2`` → ``q35``: libvirt expands the alias when it stores a domain."""
    for pattern, alias in _MACHINE_ALIASES:
        if pattern.match(machine or ""):
            return alias
    return machine


@dataclass(frozen=True)
class Disk:
    """``<disk>``: a file or block device given to the guest."""

    target: str
    source: str
    bus: str = "virtio"
    device: str = "disk"  # disk | cdrom
    format: str = "qcow2"  # the driver type: qcow2 | raw
    source_type: str = "file"  # file | block | network (then source is the export name)
    serial: str = ""  # a volume's id, as Nova and the block-storage service set it
    readonly: bool = False
    shareable: bool = False
    protocol: str = ""  # network disks: nbd
    host: str = ""
    port: int = 0
    # <iotune>: (name, value) pairs sorted by name, libvirt's element names (which are
    # Cinder's front-end QoS keys: total_bytes_sec, read_iops_sec, ...); () = no limits
    iotune: tuple[tuple[str, int], ...] = ()

    def to_element(self) -> ET.Element:
        elem = ET.Element("disk", type=self.source_type, device=self.device)
        _sub(elem, "driver", name="qemu", type=self.format)
        if self.source_type == "network":
            src = _sub(elem, "source", protocol=self.protocol, name=self.source)
            _sub(src, "host", name=self.host, port=str(self.port) if self.port else "")
        else:
            _sub(elem, "source", **{("dev" if self.source_type == "block" else "file"): self.source})
        _sub(elem, "target", dev=self.target, bus=self.bus)
        if self.serial:
            _sub(elem, "serial", self.serial)
        if self.readonly:
            _sub(elem, "readonly")
        if self.shareable:
            _sub(elem, "shareable")
        if self.iotune:
            tune = _sub(elem, "iotune")
            for key, value in self.iotune:
                _sub(tune, key, str(value))
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> Disk:
        source = elem.find("source")
        target = elem.find("target")
        driver = elem.find("driver")
        src = ""
        host = source.find("host") if source is not None else None
        if source is not None:
            src = source.get("file") or source.get("dev") or source.get("name") or ""
        return cls(
            target=target.get("dev", "") if target is not None else "",
            source=src,
            bus=target.get("bus", "") if target is not None else "",
            device=elem.get("device", "disk"),
            format=driver.get("type", "raw") if driver is not None else "raw",
            source_type=elem.get("type", "file"),
            serial=(elem.findtext("serial") or "").strip(),
            readonly=elem.find("readonly") is not None,
            shareable=elem.find("shareable") is not None,
            protocol=source.get("protocol", "") if source is not None else "",
            host=host.get("name", "") if host is not None else "",
            port=int(host.get("port", "0")) if host is not None else 0,
            iotune=_iotune(elem.find("iotune")),
        )


def _iotune(elem: ET.Element | None) -> tuple[tuple[str, int], ...]:
    """The numeric, non-zero limits of an ``<iotune>`` (libvirt omits unset ones; 0 = none)."""
    if elem is None:
        return ()
    pairs = []
    for child in elem:
        text = (child.text or "").strip()
        if text.isdigit() and int(text):
            pairs.append((child.tag, int(text)))
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class Interface:
    """``<interface type='bridge'>``: a NIC plugged into a Linux bridge by its tap device."""

    mac: str
    bridge: str
    target: str = ""  # the tap device name (Neutron's tap + 11 chars of the port id)
    model: str = "virtio"
    mtu: int = 0

    def to_element(self) -> ET.Element:
        elem = ET.Element("interface", type="bridge")
        _sub(elem, "mac", address=self.mac)
        _sub(elem, "source", bridge=self.bridge)
        if self.target:
            _sub(elem, "target", dev=self.target)
        _sub(elem, "model", type=self.model)
        if self.mtu:
            _sub(elem, "mtu", size=str(self.mtu))
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> Interface:
        def attr(tag: str, name: str) -> str:
            child = elem.find(tag)
            return child.get(name, "") if child is not None else ""

        mtu = attr("mtu", "size")
        return cls(
            mac=attr("mac", "address").lower(),
            bridge=attr("source", "bridge"),
            target=attr("target", "dev"),
            model=attr("model", "type"),
            mtu=int(mtu) if mtu else 0,
        )


@dataclass(frozen=True)
class Serial:
    """``<serial type='pty'>`` with its output copied to a log file (the console log)."""

    log_file: str = ""
    log_append: bool = False
    port: int = 0

    def to_element(self) -> ET.Element:
        elem = ET.Element("serial", type="pty")
        if self.log_file:
            _sub(elem, "log", file=self.log_file, append="on" if self.log_append else "off")
        _sub(elem, "target", port=str(self.port))
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> Serial:
        log = elem.find("log")
        target = elem.find("target")
        return cls(
            log_file=log.get("file", "") if log is not None else "",
            log_append=log is not None and log.get("append") == "on",
            port=int(target.get("port", "0")) if target is not None else 0,
        )


@dataclass(frozen=True)
class Console:
    """``<console type='pty'>`` on a serial port: what ``virsh console`` opens."""

    port: int = 0

    def to_element(self) -> ET.Element:
        elem = ET.Element("console", type="pty")
        _sub(elem, "target", type="serial", port=str(self.port))
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> Console:
        target = elem.find("target")
        return cls(port=int(target.get("port", "0")) if target is not None else 0)


@dataclass(frozen=True)
class InstanceMetadata:
    """``<metadata><stratus:instance>``: marks a domain as Stratus's and says which instance.

    A domain without it is not Stratus's: modules refuse to change or remove it.
    """

    uuid: str
    display_name: str = ""
    image_id: str = ""
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap_mb: int = 0

    def to_element(self) -> ET.Element:
        q = f"{{{STRATUS_NS}}}"
        elem = ET.Element(f"{q}instance")
        _sub(elem, f"{q}uuid", self.uuid)
        if self.display_name:
            _sub(elem, f"{q}name", self.display_name)
        if self.image_id:
            _sub(elem, f"{q}image", uuid=self.image_id)
        _sub(
            elem,
            f"{q}flavor",
            root_gb=str(self.root_gb),
            ephemeral_gb=str(self.ephemeral_gb),
            swap_mb=str(self.swap_mb),
        )
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> InstanceMetadata:
        q = f"{{{STRATUS_NS}}}"
        image = elem.find(f"{q}image")
        flavor = elem.find(f"{q}flavor")

        def num(name: str) -> int:
            return int(flavor.get(name, "0")) if flavor is not None else 0

        return cls(
            uuid=(elem.findtext(f"{q}uuid") or "").strip(),
            display_name=(elem.findtext(f"{q}name") or "").strip(),
            image_id=image.get("uuid", "") if image is not None else "",
            root_gb=num("root_gb"),
            ephemeral_gb=num("ephemeral_gb"),
            swap_mb=num("swap_mb"),
        )


@dataclass(frozen=True)
class Guest:
    """``<domain>``: the whole guest. ``memory_kib``/``vcpus`` are what the guest has now;
    ``max_memory_kib``/``max_vcpus`` (0 = the same) bound live resizes."""

    name: str
    uuid: str
    vcpus: int
    memory_kib: int
    max_vcpus: int = 0
    max_memory_kib: int = 0
    virt_type: str = "qemu"
    machine: str = "q35"
    arch: str = "x86_64"
    disks: tuple[Disk, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    serials: tuple[Serial, ...] = ()
    consoles: tuple[Console, ...] = ()
    metadata: InstanceMetadata | None = None

    @property
    def vcpus_max(self) -> int:
        return max(self.max_vcpus, self.vcpus)

    @property
    def memory_max_kib(self) -> int:
        return max(self.max_memory_kib, self.memory_kib)

    def normalized(self) -> Guest:
        """The same guest with libvirt's spellings folded: machine alias, max = current when
        unset, disks in target order (libvirt keeps them sorted by bus and name)."""
        return replace(
            self,
            machine=normalize_machine(self.machine),
            disks=tuple(sorted(self.disks, key=lambda d: (d.target, d.source))),
            max_vcpus=self.vcpus_max,
            max_memory_kib=self.memory_max_kib,
        )

    def same_as(self, other: Guest | None) -> bool:
        """True when ``other`` describes this guest (after normalization)."""
        return other is not None and self.normalized() == other.normalized()

    def to_element(self) -> ET.Element:
        dom = ET.Element("domain", type=self.virt_type)
        _sub(dom, "name", self.name)
        _sub(dom, "uuid", self.uuid)
        if self.metadata is not None:
            _sub(dom, "metadata").append(self.metadata.to_element())
        _sub(dom, "memory", str(self.memory_max_kib), unit="KiB")
        _sub(dom, "currentMemory", str(self.memory_kib), unit="KiB")
        _sub(dom, "vcpu", str(self.vcpus_max), current=str(self.vcpus))
        os_ = _sub(dom, "os")
        _sub(os_, "type", "hvm", arch=self.arch, machine=self.machine)
        _sub(os_, "boot", dev="hd")
        feats = _sub(dom, "features")
        _sub(feats, "acpi")
        _sub(feats, "apic")
        _sub(dom, "clock", offset="utc")
        _sub(dom, "on_poweroff", "destroy")
        _sub(dom, "on_reboot", "restart")
        _sub(dom, "on_crash", "destroy")
        devices = _sub(dom, "devices")
        for part in (*self.disks, *self.interfaces, *self.serials, *self.consoles):
            devices.append(part.to_element())
        return dom

    @classmethod
    def from_element(cls, dom: ET.Element) -> Guest:
        vcpu = dom.find("vcpu")
        vmax = int((vcpu.text or "1").strip()) if vcpu is not None else 1
        vcur = int(vcpu.get("current", vmax)) if vcpu is not None else vmax
        mem_max = _kib(dom.find("memory"))
        mem_cur = _kib(dom.find("currentMemory")) or mem_max
        os_type = dom.find("os/type")
        meta = dom.find(f"metadata/{{{STRATUS_NS}}}instance")
        devices = dom.find("devices")
        if devices is None:
            devices = ET.Element("devices")
        return cls(
            name=(dom.findtext("name") or "").strip(),
            uuid=(dom.findtext("uuid") or "").strip(),
            vcpus=vcur,
            memory_kib=mem_cur,
            max_vcpus=vmax,
            max_memory_kib=mem_max,
            virt_type=dom.get("type", ""),
            machine=os_type.get("machine", "") if os_type is not None else "",
            arch=os_type.get("arch", "") if os_type is not None else "",
            disks=tuple(Disk.from_element(e) for e in devices.findall("disk")),
            interfaces=tuple(
                Interface.from_element(e)
                for e in devices.findall("interface")
                if e.get("type") == "bridge"
            ),
            serials=tuple(Serial.from_element(e) for e in devices.findall("serial")),
            consoles=tuple(Console.from_element(e) for e in devices.findall("console")),
            metadata=InstanceMetadata.from_element(meta) if meta is not None else None,
        )

    def to_xml(self) -> str:
        elem = self.to_element()
        ET.indent(elem)
        return ET.tostring(elem, encoding="unicode") + "\n"

    @classmethod
    def from_xml(cls, text: str) -> Guest:
        try:
            return cls.from_element(ET.fromstring(text))
        except ET.ParseError as exc:
            from .errors import InvalidInput

            raise InvalidInput(f"domain XML does not parse: {exc}") from exc


def metadata_of(xml_text: str) -> InstanceMetadata | None:
    """The Stratus metadata in a domain's XML, or None when Stratus does not own it."""
    meta = ET.fromstring(xml_text).find(f"metadata/{{{STRATUS_NS}}}instance")
    return InstanceMetadata.from_element(meta) if meta is not None else None

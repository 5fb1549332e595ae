"""The controller's settings: a YAML file, then ``STRATUS_*`` environment variables.

Precedence, highest first: keyword arguments to :func:`load_settings`, environment
variables (``STRATUS_DATABASE_URL``, ``STRATUS_PORT``, …), the YAML file, the defaults
below. The file is the one named by ``--config``, else ``$STRATUS_CONFIG``, else
``/etc/stratus/stratus.yaml`` when it exists. It is a flat YAML mapping of the field
names below, e.g.::

    database_url: postgresql+psycopg://stratus:secret@db.example/stratus
    port: 8700
    public_url: https://cloud.example:8700
    token_expiration: 3600

Other parts of the controller add their fields here (one block per area, with a
comment), never read os.environ themselves.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG_FILE = Path("/etc/stratus/stratus.yaml")
DEFAULT_PORT = 8700


class _YamlFile(PydanticBaseSettingsSource):
    """The settings file: a flat YAML mapping; a missing file is an empty one."""

    def __init__(self, settings_cls, path: Path | None):
        super().__init__(settings_cls)
        self.data: dict[str, Any] = {}
        if path is not None:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
            if not isinstance(loaded, dict):
                raise ValueError(
                    f"{path}: the settings file must be a YAML mapping of names to values"
                )
            self.data = loaded

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRATUS_", extra="ignore")

    # --- database ---------------------------------------------------------------------
    # SQLite (WAL) by default; PostgreSQL as postgresql+psycopg://user:pw@host/db
    database_url: str = "sqlite:////var/lib/stratus/stratus.db"
    database_echo: bool = False

    # --- HTTP -------------------------------------------------------------------------
    bind_host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # The URL clients use to reach the controller (catalog endpoints are built from it).
    # Empty: http://<bind_host>:<port>.
    public_url: str = ""
    region: str = "RegionOne"
    log_level: str = "INFO"
    log_json: bool = True

    # --- identity ---------------------------------------------------------------------
    fernet_key_repository: Path = Path("/etc/stratus/fernet-keys")
    fernet_max_active_keys: int = Field(3, ge=2)
    token_expiration: int = Field(3600, ge=1, description="token lifetime in seconds")
    # oslo.policy file (YAML/JSON) overriding the default rules; empty: defaults only.
    policy_file: str = ""
    bcrypt_rounds: int = Field(12, ge=4, le=31)
    # Keystone's admin_project_name / admin_project_domain_name: the admin role on this
    # project (or on the system) makes a cloud administrator; admin elsewhere is an
    # administrator of that project only.
    admin_project_name: str = "admin"
    # Addresses of reverse proxies whose X-Forwarded-For is believed (empty: none).
    trusted_proxies: list[str] = Field(default_factory=list)
    admin_project_domain_name: str = "Default"
    # How long revocation events are kept after the tokens they revoke expired.
    revocation_grace: int = 3600
    # Validated tokens are cached in the process for this many seconds (0: off). Any
    # identity write by this process clears the cache at once; the setting bounds how
    # long a change made by another controller process takes to be seen.
    token_cache_seconds: float = Field(5.0, ge=0)
    # Login throttling (stratus/identity/throttle.py): after auth_max_failures failed
    # password logins of one user from one source address within auth_failure_window
    # seconds, that user's logins from that address are refused for the window.
    auth_max_failures: int = Field(10, ge=1)
    auth_failure_window: int = Field(300, ge=1, description="seconds")
    # Credentials (/v3/credentials, EC2) are encrypted at rest with these Fernet keys,
    # a repository of their own (keystone-manage credential_setup / credential_rotate).
    credential_key_repository: Path = Path("/etc/stratus/credential-keys")
    # Trusts (OS-TRUST): may a trust be redelegated, and how deep.
    trust_allow_redelegation: bool = False
    trust_max_redelegation_count: int = Field(3, ge=0)
    # Unified limits: the enforcement model /v3/limits/model reports ("flat" or
    # "strict-two-level").
    limits_enforcement_model: str = "flat"
    # Keystone's [security_compliance] (0 / "" switches a rule off).
    lockout_failure_attempts: int = Field(0, ge=0)
    lockout_duration: int = Field(1800, ge=1, description="seconds a locked user stays locked")
    password_expires_days: int = Field(0, ge=0)
    unique_last_password_count: int = Field(0, ge=0)
    minimum_password_age: int = Field(0, ge=0, description="days")
    password_regex: str = ""
    password_regex_description: str = ""
    change_password_upon_first_use: bool = False
    disable_user_account_days_inactive: int = Field(0, ge=0)
    # TOTP: how many 30-second windows before the current one a passcode may come from.
    totp_included_previous_windows: int = Field(1, ge=0, le=10)

    # --- jobs -------------------------------------------------------------------------
    job_concurrency: int = Field(2, ge=1)
    state_dir: Path = Path("/var/lib/stratus")
    # (jobs/orchestration helper) the worker inside `stratus serve`; off: the API only queues
    jobs_worker: bool = True
    job_timeout: int = Field(1800, ge=1, description="seconds before a job's run is stopped")
    job_max_attempts: int = Field(3, ge=1, description="runs of a job with retryable failures")
    # seconds the worker waits for more requests to share one ansible-runner run (0: off)
    job_batch_window: float = Field(0.0, ge=0)
    job_batch_max: int = Field(20, ge=1)
    # seconds a finished job's run directory (inventory, connection variables, events)
    # is kept under <state_dir>/runs before runner.prune_runs removes it
    job_run_retention: int = Field(7 * 86400, ge=0)

    # --- images (Glance v2) --------------------------------------------------------
    # Stores image data may go to, by name: {type: file, path: DIR} or {type: swift,
    # container: glance, segment_size: BYTES} (the object store's service account). Empty:
    # one file store "file" under <state_dir>/image-store. GET /image/v2/info/stores lists them.
    image_stores: dict[str, dict[str, str | int]] = Field(default_factory=dict)
    image_default_store: str = "file"
    # Largest image in bytes (Glance's image_size_cap, 1 TiB).
    image_size_cap: int = Field(1 << 40, ge=1)
    image_disk_formats: list[str] = Field(default_factory=lambda: [
        "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso"])
    image_container_formats: list[str] = Field(default_factory=lambda: [
        "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"])
    # The interoperable import flow: methods offered by GET /image/v2/info/import.
    image_import_methods: list[str] = Field(default_factory=lambda: ["glance-direct", "web-download"])
    # web-download fetches only URLs matching one of these shell patterns
    # (e.g. "https://cloud-images.example.org/*"); empty: web-download refuses every URL.
    image_web_download_allowed: list[str] = Field(default_factory=list)
    # Glance's image conversion on import: "" (off), "raw" or "qcow2".
    image_conversion_format: str = ""
    # Seconds a compute host's download ticket for an image stays valid.
    image_ticket_lifetime: int = Field(7200, ge=60)
    # The image API's URL as compute hosts reach it (they download images to boot and
    # upload snapshots there, with tickets). Empty: <endpoint_url>/image/v2.
    image_url_for_hosts: str = ""

    # --- compute (Nova v2.1) -------------------------------------------------------
    # Nova's allocation ratios: a host offers capacity x ratio of vCPUs, RAM and disk
    # (an aggregate's metadata cpu_allocation_ratio/... overrides them for its hosts).
    cpu_allocation_ratio: float = Field(4.0, gt=0)
    ram_allocation_ratio: float = Field(1.0, gt=0)
    disk_allocation_ratio: float = Field(1.0, gt=0)
    # Weighers: positive spreads (prefer the host with the most free), negative packs.
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    # Soft (anti-)affinity weighers (Nova's soft_affinity_weight_multiplier ...).
    soft_affinity_weight_multiplier: float = Field(1.0, ge=0)
    soft_anti_affinity_weight_multiplier: float = Field(1.0, ge=0)
    # Scheduler filters applied, in order (Nova's enabled_filters).
    scheduler_enabled_filters: list[str] = Field(default_factory=lambda: [
        "ComputeFilter", "AvailabilityZoneFilter", "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter", "AggregateInstanceExtraSpecsFilter", "ServerGroupAntiAffinityFilter",
        "ServerGroupAffinityFilter", "IgnoreHostsFilter"])
    # The zone of hosts in no aggregate with an availability_zone (Nova's
    # default_availability_zone) and of servers created without one (None: any).
    default_availability_zone: str = "nova"
    default_schedule_zone: str | None = None
    # Most servers one POST /servers may make (max_count).
    compute_max_count: int = Field(100, ge=1)
    # Seconds the API waits for a synchronous host read (os-getConsoleOutput).
    compute_sync_timeout: float = Field(120.0, gt=0)
    # Seconds between reconcile passes comparing hosts' guests with the records (0: off).
    compute_reconcile_interval: int = Field(0, ge=0)
    # Deleted servers' rows are purged after this many seconds.
    compute_deleted_retention: int = Field(30 * 86400, ge=0)
    # Most hosts with nothing allocated yet the scheduler filters and weighs per server
    # (Nova's [scheduler] max_placement_results), the roomiest first; hosts already
    # holding allocations are always considered.
    scheduler_max_placement_results: int = Field(1000, ge=1)
    # Resize may keep the server on its own host (Nova's allow_resize_to_same_host); a
    # resize here is always in place, so False refuses resize (one-host clouds need True).
    allow_resize_to_same_host: bool = True
    # Seconds a guest gets to shut down cleanly (ACPI) on stop, resize, rebuild, cold
    # migration and soft reboot before it is powered off (Nova's shutdown_timeout).
    shutdown_timeout: int = Field(60, ge=0)

    # --- network (Neutron v2.0) ----------------------------------------------------
    # Tenant network type when a request names none (Neutron's tenant_network_types[0]).
    network_tenant_type: str = "vxlan"
    # VNIs for VXLAN networks, as "first:last" ranges (ml2_type_vxlan vni_ranges).
    network_vni_ranges: list[str] = Field(default_factory=lambda: ["1001:16000000"])
    # VLAN ids per physical network, "physnet:first:last" (ml2_type_vlan network_vlan_ranges);
    # a physnet alone allows provider VLAN networks on it but no tenant allocation.
    network_vlan_ranges: list[str] = Field(default_factory=list)
    # Physical networks flat networks may use ("*": any; ml2_type_flat flat_networks).
    network_flat_networks: list[str] = Field(default_factory=lambda: ["*"])
    # MTU of the underlay (Neutron's global_physnet_mtu); a VXLAN network gets 50 less.
    network_global_mtu: int = Field(1500, ge=68)
    # DNS domain handed out by DHCP (Neutron's dns_domain).
    network_dns_domain: str = "openstacklocal"
    # Seconds of a DHCP lease (Neutron's dhcp_lease_duration).
    network_dhcp_lease_duration: int = Field(86400, ge=120)
    # Guests reach the controller at http://169.254.169.254/ through a relay in each DHCP
    # namespace (Neutron's isolated metadata proxy; stratus.network.metadata_relay). Set
    # orchestration_signal_url to http://169.254.169.254 with it so guests can signal.
    network_metadata_relay: bool = False
    # Base MAC (Neutron's base_mac): the first three octets are kept.
    network_base_mac: str = "fa:16:3e:00:00:00"

    # --- volume (Cinder v3) -----------------------------------------------------------
    # The type of a volume created without one (Cinder's default_volume_type); `stratus
    # bootstrap` makes it, with ``volume_backend_name`` = volume_default_backend when set.
    volume_default_type: str = "__DEFAULT__"
    volume_default_backend: str = ""
    # Availability zone of volumes and storage hosts without one (storage_availability_zone).
    volume_default_availability_zone: str = "nova"
    # Thin backends (the file backend's sparse files) may promise this many times their
    # capacity (max_over_subscription_ratio); thick ones (LVM) never more than they have.
    volume_max_over_subscription_ratio: float = Field(20.0, ge=1.0)
    # Percent of every backend kept free (reserved_percentage).
    volume_reserved_percentage: int = Field(0, ge=0, le=100)

    # --- orchestration (Heat v1) ------------------------------------------------------
    # Base URL that guests and hosts use to signal the controller (WaitConditionHandle,
    # ScalingPolicy, software deployments); empty: the endpoint URL.
    orchestration_signal_url: str = ""
    # Roll a failed create back when the request does not say (Heat's default: yes).
    orchestration_rollback_on_failure: bool = True
    # Minutes a stack operation may take when the request gives no timeout_mins.
    orchestration_stack_timeout: int = Field(60, ge=1)
    # Resources a stack (with its nested stacks) may hold (Heat's max_resources_per_stack).
    orchestration_max_resources_per_stack: int = Field(1000, ge=1)
    # Nesting depth of nested stacks (Heat's max_nested_stack_depth).
    orchestration_max_nested_depth: int = Field(5, ge=1)

    # --- object storage (Swift v1, served by Swift's own proxy) -----------------------
    # The proxy's public base URL (http://host:8080). Set: bootstrap puts the object-store
    # endpoint <url>/v1/AUTH_%(project_id)s in the catalog and makes the service user below.
    object_store_url: str = ""
    # The Swift service user (the proxy's authtoken validates tokens as it; the controller
    # keeps images and stacks' containers through it, with ResellerAdmin) and its project.
    object_store_user: str = "swift"
    object_store_project: str = "service"
    object_store_password: str = ""

    # --- quotas -----------------------------------------------------------------------
    # defaults for projects without their own limits, e.g. {instances: 20, port: 1000}
    quota_defaults: dict[str, int] = Field(default_factory=dict)

    @field_validator("scheduler_enabled_filters")
    @classmethod
    def _known_filters(cls, v: list[str]) -> list[str]:
        from stratus.scheduler.filters import check_names  # a light module: no DB models

        check_names(v)  # a typo fails at start, not at the first server create
        return v

    @field_validator("public_url", "image_url_for_hosts", "orchestration_signal_url", "object_store_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @property
    def endpoint_url(self) -> str:
        """The public base URL (no trailing slash)."""
        if self.public_url:
            return self.public_url
        host = self.bind_host if self.bind_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def signal_url(self) -> str:
        """``orchestration_signal_url``, else ``<endpoint_url>`` (no trailing slash): the
        base of the signal URLs handed to guests (``<base>/orchestration/v1/...``)."""
        return self.orchestration_signal_url or self.endpoint_url

    @property
    def hosts_image_url(self) -> str:
        """``image_url_for_hosts``, else ``<endpoint_url>/image/v2`` (no trailing slash)."""
        return self.image_url_for_hosts or f"{self.endpoint_url}/image/v2"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _YamlFile(settings_cls, _config_path()))


_explicit_path: Path | None = None


def _config_path() -> Path | None:
    if _explicit_path is not None:
        return _explicit_path
    env = os.environ.get("STRATUS_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``config_file`` (or $STRATUS_CONFIG, or the default file), the
    environment and ``overrides``. A named file that does not exist is an error."""
    global _explicit_path
    if config_file is not None and not Path(config_file).is_file():
        raise FileNotFoundError(f"settings file {config_file} does not exist")
    _explicit_path = Path(config_file) if config_file is not None else None
    try:
        return Settings(**overrides)
    finally:
        _explicit_path = None

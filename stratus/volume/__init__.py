"""The volume service (Cinder v3): records, scheduling and the host work they imply.

- ``records``: lookups every part shares (a volume, snapshot or type as the caller may
  see it, the default type), in Cinder's words when there is none;
- ``volume_types``, ``qos``: volume types (extra specs, access) and QoS specs;
- ``scheduler``: the storage host and backend of a new volume (capacity, thin
  over-subscription, type, zone) and the pools as Cinder reports them;
- ``volumes``, ``actions``: volumes (create, update, delete, metadata) and their actions;
  ``sync`` keeps a volume's record in step with its ``OS::Cinder::Volume`` resource;
  ``listing``: Cinder's list filters, sort and paging;
- ``snapshots``: snapshots;
- ``attachments``, ``attach_actions``: attachments (Cinder's 3.27 API and Nova's
  os-volume_attachments), the export on the storage host and the disk on the compute host;
- ``boot``: volumes of a server's block device mapping (boot from volume);
- ``upload``: ``os-volume_upload_image``;
- ``views``: the wire shapes of volumes, snapshots and attachments;
- ``services``, ``zones``, ``limits``: os-services, availability zones, limits.
"""

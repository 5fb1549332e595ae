"""The image service (Glance v2): records, visibility and sharing, image data in stores,
the import flow and quotas.

- :mod:`.records`: who sees which image, the wire view of an image, reserved names.
- The API's routes (``stratus/api/routes/image/``) call these modules; compute hosts
  fetch image data through the API with a download ticket (:mod:`.tickets`).
"""

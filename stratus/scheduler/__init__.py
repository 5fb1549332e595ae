"""The scheduler: Nova's filters and weighers as pure code over the host registry's
in-memory view (``stratus.hosts.placement`` asks it for a host when a resource brings
a :class:`~stratus.scheduler.spec.RequestSpec`)."""

"""Jobs: compiled playbooks run with ansible-runner, their events recorded, the state of
the resources they make kept in step (BUILD → ACTIVE / ERROR).

- :mod:`stratus.jobs.runner` — one ansible-runner run in a private data dir
- :mod:`stratus.jobs.events` — ansible-runner events → job events and resource states
- :mod:`stratus.jobs.worker` — the scheduler: concurrency limit, per-resource
  serialisation, timeouts, cancel, retries, batching, recovery after a restart
"""

"""The stack service (Heat's engine): stacks made, updated and deleted through the
pipeline (``stratus.orchestration.submit``), their status settled when their jobs end
(``settle``), their events, outputs, snapshots and signals.

Where a stack's way goes, in three hops: route (``stratus/api/routes/orchestration``)
→ service here (``create``, ``update``, ``delete``, ``actions``, …) → template types
(``stratus/orchestration/types``) compiled into one job per stack operation.
"""

# The settle handlers register themselves when imported: importing any part of the
# service (the API's routes do) makes the controller settle stacks when their jobs end.
from stratus.stacks import actions, delete, settle  # noqa: E402, F401

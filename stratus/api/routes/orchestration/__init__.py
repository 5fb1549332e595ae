"""Heat v1 (``/orchestration/v1``; the project id in the path, as heatclient sends it):
stacks and their resources, events, actions, snapshots and outputs; resource types,
template versions and functions, validate, build info, services; software configs and
deployments."""

"""Orchestration: templates, intrinsic functions, resource types, planner, compiler.

Every change goes the same way (docs/architecture.md): a request or a stack becomes a
HOT-like template, the planner records placement, allocations and quota usage in one
transaction with the job, and the compiler turns the template into an Ansible playbook
that ``stratus.jobs`` runs.
"""

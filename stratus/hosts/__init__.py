"""The host registry: sync from an Ansible inventory, capacity, placement, and the
inventory the job runner hands to ansible-runner."""

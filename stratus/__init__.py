"""Stratus: the controller of a private cloud with OpenStack's APIs, built on Ansible."""

__version__ = "0.1.0"

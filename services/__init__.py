"""Kafkube services: the shared runtime and one subpackage per service."""

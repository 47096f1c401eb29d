"""Blueprints for the pages; one package per area."""

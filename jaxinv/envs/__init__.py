"""Inventory environments as pure functions over flax dataclasses (gymnax API)."""

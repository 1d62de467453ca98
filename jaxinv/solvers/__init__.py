"""Exact methods where the problem allows: dynamic programming for the retail store."""

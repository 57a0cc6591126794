"""Routing tests: coverage, calendar and decision."""

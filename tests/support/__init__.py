"""Helpers for the tests that the product does not need."""

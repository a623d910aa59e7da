"""Importable helpers shared by the test suite."""

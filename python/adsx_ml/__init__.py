"""Ranking models (issue #6): training, evaluation and the registry; docs/models.md is the
contract with the C++ scorers."""

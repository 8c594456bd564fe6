"""Traits along lineages: labels, parent/child edges, mutation rates, transitions,
numeric drifts and their tests, figures."""

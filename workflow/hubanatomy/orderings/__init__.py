"""Optimal orderings of trait values from their transitions, and their figures."""

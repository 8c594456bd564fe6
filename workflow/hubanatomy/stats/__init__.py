"""Family-level inference shared by the stages, and the one table of test results."""

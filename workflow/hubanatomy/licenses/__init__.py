"""License compatibility of parent -> child edges: the audit and its figure."""

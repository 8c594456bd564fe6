"""Genetic similarity between relatives: motifs, DNA texts, scores, the
directionality sweep, figures."""

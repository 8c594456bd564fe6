"""Raw Hub data -> the canonical snapshot: parsing, tags, cards, ids, file names."""

"""Raw Hub data -> the canonical snapshot: parsing, tags, cards, model and parent ids, file
names."""

"""A Hugging Face Hub on loopback, served from a raw directory, for offline tests."""

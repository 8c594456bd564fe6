"""hubanatomy: the open-model ecosystem's anatomy, rebuilt from raw Hugging Face Hub data."""

__version__ = "0.1.0"

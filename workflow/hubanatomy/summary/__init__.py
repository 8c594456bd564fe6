"""The snapshot at a glance: headline counts, top tens, models per month."""

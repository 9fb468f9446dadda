"""neurodeck offline_training package."""

"""neurodeck models package."""

"""neurodeck app package."""

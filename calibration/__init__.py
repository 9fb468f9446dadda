"""neurodeck calibration package."""

"""tierslieu — bookings, meals and calendar feeds for the tiers-lieux of social structures."""

__version__ = "0.1.0"

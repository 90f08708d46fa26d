"""Renderers: bookings notifications (to be written)."""

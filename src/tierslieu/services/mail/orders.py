"""Renderers: orders notifications (to be written)."""

"""Renderers: accounts notifications (to be written)."""

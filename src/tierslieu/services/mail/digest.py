"""Renderers: digest notifications (to be written)."""

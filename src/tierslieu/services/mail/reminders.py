"""Renderers: reminders notifications (to be written)."""

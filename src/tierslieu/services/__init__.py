"""Use cases. Each public function owns its transaction and says what it guarantees."""

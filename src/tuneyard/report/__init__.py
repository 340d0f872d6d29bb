"""`tune report`: figures and a self-contained HTML page for one study."""

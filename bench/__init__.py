"""Benchmarks: chat fan-out through Circle beside the bare python-socketio floor (`python -m bench`)."""

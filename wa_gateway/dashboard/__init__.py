"""A small browser dashboard served from the package: pair devices by QR, watch events, send a test."""

"""Operator and technician terminal UI (Textual). The only package that imports Textual."""

"""Policies for meta."""

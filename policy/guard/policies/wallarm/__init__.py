"""Policies for wallarm."""

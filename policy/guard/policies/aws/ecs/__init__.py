"""Policies for aws/ecs."""

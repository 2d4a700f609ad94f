"""Kept for existing imports: the ALB entry now lives in components/entries/alb.py, beside the
other entries (cloudfront.py, nlb.py, apigateway.py)."""

from .entries.alb import AlbPerimeter, AlbPerimeterArgs

__all__ = ["AlbPerimeter", "AlbPerimeterArgs"]

"""Persistent homology of point clouds given by distance matrices."""

"""Data-only package: the manifest JSON Schema and example manifests, shipped in the wheel."""

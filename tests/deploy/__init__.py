"""Deployment checks: Kustomize manifests, the Containerfile, monitoring, and eidosd run as in its pod."""

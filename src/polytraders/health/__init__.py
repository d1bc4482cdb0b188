"""API health: samples from every outbound call, per-surface summaries, the degradation playbook."""

from polytraders.health.sampler import SURFACES, HealthSampler, SurfaceFigures
from polytraders.health.venue import SampledVenue

__all__ = ["SURFACES", "HealthSampler", "SampledVenue", "SurfaceFigures"]

"""The HTTP API of insights: statistics (JSON and CSV) and the live dashboard."""

from ocop_insights.api.dashboard import router as dashboard_router
from ocop_insights.api.statistics import router as statistics_router

__all__ = ["dashboard_router", "statistics_router"]

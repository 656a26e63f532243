from ocop_insights.app import create_app
from ocop_insights.settings import InsightsSettings
from ocop_runtime.app import run_service

if __name__ == "__main__":
    run_service(InsightsSettings, create_app)

from ocop_inspection.app import create_app
from ocop_inspection.settings import InspectionSettings
from ocop_runtime.app import run_service

if __name__ == "__main__":
    run_service(InspectionSettings, create_app)

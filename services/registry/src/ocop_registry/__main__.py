from ocop_registry.app import create_app
from ocop_registry.settings import RegistrySettings
from ocop_runtime.app import run_service

if __name__ == "__main__":
    run_service(RegistrySettings, create_app)

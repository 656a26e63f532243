from ocop_evaluation.app import create_app
from ocop_evaluation.settings import EvaluationSettings
from ocop_runtime.app import run_service

if __name__ == "__main__":
    run_service(EvaluationSettings, create_app)

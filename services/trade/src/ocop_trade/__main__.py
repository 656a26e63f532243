from ocop_runtime.app import run_service
from ocop_trade.app import create_app
from ocop_trade.settings import TradeSettings

if __name__ == "__main__":
    run_service(TradeSettings, create_app)

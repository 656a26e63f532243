pytest_plugins = ["ocop_runtime.testing"]

"""asyncpg SQL of the insights schema: the facts and the statistics computed from them."""

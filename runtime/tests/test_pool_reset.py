"""A pooled connection comes back clean: the full session reset runs only for the connections
that took session state (the relay's lock and LISTEN, a migration's lock), a transaction left
open is always rolled back, and nothing else costs a statement on release."""

from __future__ import annotations

from typing import Any

from ocop_runtime.db import create_pool, keeps_session_state

_LOCKS = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
_LISTENING = "SELECT count(*) FROM pg_listening_channels()"


async def test_a_plain_release_sends_nothing_and_a_marked_one_resets_the_session(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)
    sent: list[str] = []

    def log(query: Any) -> None:
        sent.append(query.query)

    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(log)
            await conn.fetchval("SELECT 1")
        assert sent == ["SELECT 1"]  # no reset statement on release

        async with pool.acquire() as conn:
            keeps_session_state(conn)
            await conn.execute("SELECT pg_advisory_lock(4242)")
            await conn.execute("LISTEN ocop_pool_reset_test")
        async with pool.acquire() as conn:
            assert (await conn.fetchval(_LOCKS), await conn.fetchval(_LISTENING)) == (0, 0)
            assert any("pg_advisory_unlock_all" in q for q in sent)

            # Unmarked, a session lock would stay: the mark is what asks for the reset.
            await conn.execute("SELECT pg_advisory_lock(4243)")
        async with pool.acquire() as conn:
            assert await conn.fetchval(_LOCKS) == 1
            await conn.execute("SELECT pg_advisory_unlock_all()")

            # A transaction left open is rolled back on release all the same.
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_open (x int)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
    finally:
        await pool.close()

"""The bot's schema revisions (Alembic branch "bot"), applied by `bot.tables.ensure_schema`.

One file per change, never edited once released; ids are `bot_NNNN`. The branch's first revision
depends on the core's baseline (deliveries refer to posts). `legacy_version` marks a revision that
matches a step of the in-house migrator this replaced (for adopting old databases).
"""

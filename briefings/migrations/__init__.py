"""The core's schema revisions (Alembic branch "briefings"), applied by `briefings.migrate`.

One file per change, never edited once released; ids are `briefings_NNNN`. `legacy_version` marks a
revision that matches a step of the in-house migrator this replaced (for adopting old databases).
"""

"""Outbox leases: which process holds a channel's outbox, until when (old step 6)."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0006"
down_revision = "bot_0004"
branch_labels = None
depends_on = None
legacy_version = 6


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("delivery_owner", sa.String(200)))
        batch.add_column(sa.Column("delivery_lease_until", sa.DateTime))
    op.create_index("ix_deliveries_owed", "deliveries", ["subscription_id", "status"])

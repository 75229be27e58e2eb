"""The bot's home (Slack's App Home tab), platform-neutral: for admins every channel the bot
delivers to in the workspace, with its schedule, tag filters, last delivery and pause reason; for
everyone the newest posts as a digest and a short help. Admin rights are checked on each opening."""

from __future__ import annotations

from briefings.models import Subscription

HOME_ITEMS = 5  # posts in the home's latest digest
HOME_HELP = (
    "Use `/briefing help` in a channel for the commands; `/briefing ask QUESTION` asks about the "
    "posts. Under each digest item: More (a fuller briefing, for you only), Ask (a question about "
    "that post, answered in the digest's thread), 👍 / 👎 (seen only by the channel's admins)."
)


def in_workspace(subs: list[Subscription], platform: str, workspace: str) -> list[Subscription]:
    """The platform's active subscriptions of `workspace`; channels declared in config.toml have
    no workspace recorded and are shown in every one."""
    return [
        s for s in subs if s.platform == platform and s.active and s.workspace in ("", workspace)
    ]

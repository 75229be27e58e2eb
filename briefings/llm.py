"""A small client for OpenAI-compatible `/chat/completions` endpoints, over httpx.

Retries transient failures (timeouts, connection errors, 429 and 5xx) with exponential backoff that
honours `Retry-After`, caps concurrent requests, and raises `LLMError` for everything else. Callers
always have an offline answer ready: an `LLMError` means "use it".
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from briefings.errors import LLMError as LLMError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_seconds: float = 30.0
    max_retries: int = 3
    max_concurrency: int = 4
    max_prompt_tokens: int = 3000
    max_output_tokens: int = 300
    backoff_base: float = 0.5
    max_backoff: float = 30.0


class ChatClient:
    def __init__(self, config: LLMConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client
        self._limit = asyncio.Semaphore(config.max_concurrency)

    async def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int | None = None
    ) -> str:
        """The assistant's reply text for `messages`."""
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        payload = {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": max_tokens or self.config.max_output_tokens,
            "temperature": 0,
        }
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            wait: float | None
            try:
                async with self._limit:
                    response = await self.client.post(
                        url, json=payload, headers=headers, timeout=self.config.timeout_seconds
                    )
            except httpx.TimeoutException:
                problem, wait = f"timed out after {self.config.timeout_seconds:g} s", None
            except httpx.HTTPError as exc:
                problem, wait = f"{type(exc).__name__}: {exc}", None
            else:
                if response.status_code == 200:
                    return _reply_text(response)
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    raise LLMError(f"{problem} from the LLM endpoint: {response.text[:200]}")
                wait = _retry_after(response.headers.get("Retry-After"))
            if attempt == attempts:
                raise LLMError(f"{problem} (gave up after {attempts} attempt(s))")
            delay = wait if wait is not None else self._backoff(attempt)
            log.info("LLM request failed (%s); retrying in %.1f s", problem, delay)
            await asyncio.sleep(min(delay, self.config.max_backoff))
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return float(self.config.backoff_base * 2 ** (attempt - 1) * (1 + random.random() / 4))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: an integer or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reply_text(response: httpx.Response) -> str:
    try:
        data: Any = response.json()
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError(
            f"the LLM endpoint's reply has no choices[0].message.content: {exc}"
        ) from exc
    if not isinstance(content, str) or not content.strip():
        raise LLMError("the LLM endpoint returned an empty reply")
    return content

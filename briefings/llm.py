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
from typing import Annotated, Any

import httpx
from pydantic import Field, field_validator

from briefings.errors import LLMError as LLMError
from briefings.settings import EnvName, SettingsModel, api_url

log = logging.getLogger(__name__)


class LLMSettings(SettingsModel):
    """The `[llm]` section. The API key itself is never here: `api_key_env` names its variable."""

    base_url: Annotated[str, Field(examples=["http://127.0.0.1:8000/v1"])] = ""
    model: Annotated[str, Field(examples=["llama-3.1-8b-instruct"])] = ""
    api_key_env: EnvName = "BRIEFBOT_LLM_API_KEY"
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    max_concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    max_prompt_tokens: Annotated[int, Field(ge=200, le=100_000)] = 3000
    max_output_tokens: Annotated[int, Field(ge=20, le=4000)] = 300

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return api_url(value) if value else value


class ChatClient:
    def __init__(
        self,
        config: LLMSettings,
        client: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        backoff_base: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.config = config
        self.client = client
        self.api_key = api_key
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
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
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
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
            await asyncio.sleep(min(delay, self.max_backoff))
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return float(self.backoff_base * 2 ** (attempt - 1) * (1 + random.random() / 4))


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

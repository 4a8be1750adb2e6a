"""Settings shared by both services (environment variables, also read from `.env`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")


class CommonSettings(BaseSettings):
    """Settings every service reads. Each field documents the variable that sets it."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    api_keys: str = Field(
        default="",
        validation_alias="LEDGER_API_KEYS",
        description="Static API keys: `key:scope+scope,key2:scope` (scopes read, write, finance, "
        "admin). Keys created with `ledger keys create` are stored hashed in the database.",
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_json: bool = Field(
        default=True,
        validation_alias="LOG_JSON",
        description="JSON log lines (production); false prints human-readable lines.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        validation_alias="CORS_ORIGINS",
        description='Origins allowed by CORS, as a JSON list (`["https://portal.example"]`).',
    )
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024,
        validation_alias="MAX_BODY_BYTES",
        description="Requests with a larger body get 413.",
    )
    db_pool_size: int = Field(default=10, validation_alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, validation_alias="DB_MAX_OVERFLOW")
    db_pool_timeout: float = Field(
        default=5.0,
        validation_alias="DB_POOL_TIMEOUT",
        description="Seconds to wait for a pooled connection before answering 503.",
    )
    db_connect_timeout: float = Field(
        default=3.0,
        validation_alias="DB_CONNECT_TIMEOUT",
        description="Seconds to wait for a new database connection before answering 503.",
    )
    otel_exporter_otlp_endpoint: str = Field(
        default="",
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OTLP/HTTP collector URL; when set (and the `otel` extra is installed) "
        "traces are exported. Empty: no tracing.",
    )
    graphql_introspection: bool = Field(default=True, validation_alias="GRAPHQL_INTROSPECTION")
    graphql_answer_cache_mb: int = Field(
        default=64,
        ge=0,
        validation_alias="GRAPHQL_ANSWER_CACHE_MB",
        description="Per-process memory for reusing GraphQL query answers while the data "
        "version is unchanged (services that have one: outcomes). 0 turns it off.",
    )
    graphiql: bool = Field(default=True, validation_alias="GRAPHIQL")

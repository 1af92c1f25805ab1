"""The effective configuration: ``mmrare.toml`` overridden by ``MMRARE_*`` environment variables.

Nested keys use a double underscore in the environment: ``MMRARE_SELECTION__MIN_FIGURES=3``.
Relative paths are resolved against the directory of the config file, so the same file works from
any working directory. The config hash (stored with every run and decision) covers everything that
can change a result, and leaves out secrets and the workspace location.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mmrare.errors import FatalError

DEFAULT_CONFIG_FILE = "mmrare.toml"
_toml_path: ContextVar[Path | None] = ContextVar("_toml_path", default=None)


class SourcesConfig(BaseModel):
    """Where articles come from and how politely remote services are asked."""

    local_dirs: list[Path] = Field(default_factory=lambda: [Path("../shared/pmc")])
    cloud_base_url: str = "https://pmc-oa-opendata.s3.amazonaws.com"
    entrez_base_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    entrez_email: str = "mmrare@example.org"
    entrez_tool: str = "mmrare"
    entrez_api_key: SecretStr | None = None
    default_query: str = '"Case Reports"[pt] AND "open access"[filter]'
    workers: int = Field(4, ge=1, le=32)
    max_attempts: int = Field(5, ge=1, le=20)
    timeout_s: float = Field(30.0, gt=0)  # for each wait on the server
    deadline_s: float = Field(600.0, gt=0)  # for a whole response, however slowly it trickles in
    retry_after_cap_s: float = Field(60.0, ge=0)  # the longest a server's Retry-After is obeyed
    # what one package archive may expand to (real OA packages are far smaller); past it the archive
    # is refused before anything is extracted
    max_archive_bytes: int = Field(1024**3, gt=0)


class SelectionConfig(BaseModel):
    """Which articles become cases."""

    require_case_report: bool = True
    # fnmatch patterns over SPDX-like ids; CC BY, CC0 and CC BY-NC variants by default
    licence_allow: list[str] = Field(default_factory=lambda: ["CC-BY", "CC-BY-*", "CC0-1.0"])
    licence_deny: list[str] = Field(default_factory=lambda: ["CC-BY-SA*", "CC-BY-NC-SA*"])
    # allowed but flagged: no-derivatives licences restrict redistributing edited images
    licence_flag: list[str] = Field(default_factory=lambda: ["*-ND-*", "*-ND"])
    min_figures_multi_image: int = Field(2, ge=2)
    exclude_retracted: bool = True
    # `mmrare synth` load-test packages are refused unless a test run sets this; never in a release build
    allow_synthetic: bool = False
    # bounds on one article (rejected as too_large past them); the largest real case reports are far
    # below: a few hundred kB of JATS, a few hundred sentences, a few dozen images
    max_article_bytes: int = Field(20 * 1024**2, gt=0)
    max_sentences: int = Field(20_000, gt=0)
    max_figures: int = Field(300, gt=0)


class FiguresConfig(BaseModel):
    """Limits for decoding figure files."""

    max_pixels: int = Field(89_478_485, gt=0)
    max_bytes: int = Field(50 * 1024**2, gt=0)


class OntologyConfig(BaseModel):
    """ORDO source used to map diseases."""

    ordo_path: Path = Path("../shared/ordo/ORDO_en_4.2.owl.gz")
    # Disease phrases with no lexical match can be embedded and searched among ORDO labels + synonyms.
    # Off by default: bench/fallback_calibration.py measures top-1 precision <= 0.63 at any threshold
    # for all-MiniLM-L6-v2 on ORDO (see bench/RESULTS.md), so it must not decide diagnoses unasked.
    embedding_fallback: bool = False
    fallback_threshold: float = Field(0.95, ge=0.0, le=1.0)


class DraftingConfig(BaseModel):
    """How benchmark items are drafted in ``mmrare build`` (every field changes the drafts)."""

    drafter: str = "rules"  # "rules" (offline, deterministic) or "llm" (MMRARE_LLM_* endpoint settings)
    tracks: list[str] = Field(
        default_factory=lambda: ["diagnosis", "examination", "treatment", "cross_image"]
    )
    options: int = Field(5, ge=4, le=10)  # options per multiple-choice item, answer included
    seed: int = 0  # option shuffle seed
    diagnosis_distractor_candidates: int = Field(12, ge=3, le=50)


class ThresholdsConfig(BaseModel):
    """Leakage thresholds per track (cosine similarity on normalised embeddings)."""

    semantic: dict[str, float] = Field(
        default_factory=lambda: {
            "diagnosis": 0.62,
            "treatment": 0.65,
            "examination": 0.65,
            "cross_image": 0.70,
        }
    )


class EmbeddingConfig(BaseModel):
    """Where the sentence encoder runs; never changes a vector, so it is outside every hash."""

    # its own process (mmrare.embedding.process): no GIL shared with the build's Python;
    # false: the build's own process
    process: bool = True


class BuildConfig(BaseModel):
    """How much of the corpus one unit of work holds: the build's memory bound.

    Every stage reads, works on and writes at most ``chunk_cases`` cases at a time (their sentences,
    drafts, leakage texts and rows), and no more than ``workers + 1`` such chunks are in memory at
    once, so a build's memory follows this setting, not the size of the corpus. Larger chunks mean
    fewer task runs and fewer passes of leakage control's dataset checks; smaller ones less memory.
    The default suits a 24 GB machine with room to spare. It changes no decision and no flag (only
    which earlier item an unflagged "nearest context" row names), so it is outside every hash.
    """

    chunk_cases: int = Field(500, ge=1, le=100_000)
    # the warehouse's own buffers during a build (DuckDB spills to disk past it); unbounded, DuckDB
    # keeps up to 80% of the machine's memory and its buffers grow with the warehouse
    warehouse_memory_mb: int = Field(1024, ge=128)


class PrefectConfig(BaseModel):
    """Local ephemeral Prefect server settings."""

    server_startup_timeout_s: int = Field(120, ge=90)


class Config(BaseSettings):
    """All settings of one workspace."""

    model_config = SettingsConfigDict(
        env_prefix="MMRARE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    workspace: Path = Path("workspace")
    # Content-keyed caches (ORDO store, linker terms, embeddings, vector indexes). Keys hold every
    # input that matters, so one cache can serve several workspaces. Default: <workspace>/cache.
    cache: Path | None = None
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    figures: FiguresConfig = Field(default_factory=FiguresConfig)
    ontology: OntologyConfig = Field(default_factory=OntologyConfig)
    drafting: DraftingConfig = Field(default_factory=DraftingConfig)
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    build: BuildConfig = Field(default_factory=BuildConfig)
    prefect: PrefectConfig = Field(default_factory=PrefectConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _toml_path.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    def resolve(self, path: Path) -> Path:
        """A configured path made absolute relative to the config file's directory."""
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def workspace_dir(self) -> Path:
        return self.resolve(self.workspace)

    @property
    def cache_path(self) -> Path:
        return self.resolve(self.cache) if self.cache else self.workspace_dir / "cache"

    @property
    def warehouse_path(self) -> Path:
        return self.workspace_dir / "warehouse.duckdb"

    def hashed_view(self) -> dict[str, Any]:
        """What the config hash covers: every setting that can change a result."""
        where = {"workspace", "cache", "base_dir", "build", "prefect", "embedding"}  # where and how, not what
        data = self.model_dump(mode="json", exclude=where)
        data["sources"].pop("entrez_api_key", None)
        # local_dirs says where packages are found, not what they hold: a package's work key already
        # has its content sha256, so adding a source folder must not redo every package curated so far
        for key in (
            "local_dirs",
            "entrez_email",
            "entrez_base_url",
            "cloud_base_url",
            "workers",
            "timeout_s",
            "max_attempts",
        ):
            data["sources"].pop(key, None)  # where and how politely we fetch never changes a result
        return data

    @property
    def config_hash(self) -> str:
        return _digest(self.hashed_view())

    def stage_hash(self, stage: str) -> str:
        """Hash of the settings that can change one stage's output *and everything upstream of it*.

        Stage outputs are keyed by this, not by :attr:`config_hash`, so changing a leakage threshold
        re-decides leakage without re-parsing a single package, and changing the drafter re-drafts
        without re-linking. Unknown stage names are a programming error.
        """
        if stage not in STAGE_SECTIONS:
            raise KeyError(f"unknown stage {stage!r}; known: {', '.join(STAGE_SECTIONS)}")
        view = self.hashed_view()
        sections: list[str] = []
        for name, own in STAGE_SECTIONS.items():
            sections += own
            if name == stage:
                break
        return _digest({key: view.get(key) for key in sections})


# Which config sections each stage reads, in pipeline order; a stage's hash covers its own sections
# and those of every stage before it.
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "curation": ("sources", "selection", "figures"),
    "link": ("ontology",),
    "draft": ("drafting",),
    "leakage": ("thresholds",),
}


def _digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_config(path: Path | None = None, **overrides: Any) -> Config:
    """Load ``mmrare.toml`` (or ``$MMRARE_CONFIG``), apply ``MMRARE_*`` env vars, then ``overrides``.

    A missing default file is fine (built-in defaults apply); a named file that does not exist or
    an invalid value is a :class:`FatalError` naming the file and the field.
    """
    explicit = path is not None or "MMRARE_CONFIG" in os.environ
    toml = Path(path or os.environ.get("MMRARE_CONFIG", DEFAULT_CONFIG_FILE)).resolve()
    if not toml.exists():
        if explicit:
            raise FatalError(f"{toml}: config file not found")
        toml_arg: Path | None = None
        base_dir = Path.cwd()
    else:
        toml_arg, base_dir = toml, toml.parent
    token = _toml_path.set(toml_arg)
    try:
        return Config(base_dir=base_dir, **overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise FatalError(f"{toml}: invalid config: {problems}") from exc
    except ValueError as exc:  # malformed TOML
        raise FatalError(f"{toml}: cannot read config: {exc}") from exc
    finally:
        _toml_path.reset(token)

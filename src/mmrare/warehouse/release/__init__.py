"""Release builds: immutable, versioned, checksummed benchmark releases (docs/release-format.md).

:func:`build_release` writes ``workspace/releases/<X.Y.Z>/`` from the accepted items of the
warehouse (Parquet per track and split for Hugging Face, JSONL, VLMEvalKit TSV, images by sha256,
Croissant, datasheet, licence ledger, exclusions, manifest); :func:`verify_release` checks a release
directory, :func:`diff_releases` compares two and :func:`list_releases` lists them. Modules: schema,
records, settings, reads, checks, neighbours, flags, split, collect, images, writers, ledger,
croissant, datasheet, manifest, build, verify, diff, catalog.
"""

from mmrare.warehouse.release.build import BuildResult, build_release, release_dir
from mmrare.warehouse.release.catalog import ReleaseEntry, list_releases
from mmrare.warehouse.release.diff import ReleaseDiff, diff_releases
from mmrare.warehouse.release.settings import LicencePolicy, ReleaseSettings
from mmrare.warehouse.release.verify import VerifyReport, verify_release

__all__ = [
    "BuildResult",
    "LicencePolicy",
    "ReleaseDiff",
    "ReleaseEntry",
    "ReleaseSettings",
    "VerifyReport",
    "build_release",
    "diff_releases",
    "list_releases",
    "release_dir",
    "verify_release",
]

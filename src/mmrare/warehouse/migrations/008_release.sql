-- 008: release builds (mmrare.warehouse.release). One row per built release and one per released item,
-- so `mmrare release ls` can list releases and a new build keeps every released case in the split it
-- had (release_items.split pins the case). The files themselves live in workspace/releases/<version>/.

CREATE TABLE releases (
    version       VARCHAR PRIMARY KEY,       -- X.Y.Z; a version is built once and never overwritten
    path          VARCHAR NOT NULL,          -- where the build wrote it
    created_at    TIMESTAMPTZ NOT NULL,      -- = manifest.json created_at
    code_version  VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    manifest_sha256 VARCHAR NOT NULL,        -- sha256 of manifest.json (which lists every other file's sha256)
    ordo_sha256   VARCHAR,
    model_sha256  VARCHAR,
    counts        JSON NOT NULL,             -- manifest counts (per track and split, images, exclusions)
    settings      JSON NOT NULL              -- split method + dev fraction + salt, licence policy, retraction list
);

CREATE TABLE release_items (
    version       VARCHAR NOT NULL,
    item_id       VARCHAR NOT NULL,
    item_version  INTEGER NOT NULL,          -- the reviewed version released
    track         VARCHAR NOT NULL,
    pmcid         VARCHAR NOT NULL,
    split         VARCHAR NOT NULL CHECK (split IN ('dev', 'test')),
    row_sha256    VARCHAR NOT NULL,          -- sha256 of the released row: equal = unchanged between releases
    PRIMARY KEY (version, item_id)
);
CREATE INDEX release_items_pmcid ON release_items (pmcid);

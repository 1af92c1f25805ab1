-- 001: curation tables (articles, text, figures, cases), the input ledger, rejects and runs.

CREATE TABLE runs (
    run_id        VARCHAR PRIMARY KEY,
    command       VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    code_version  VARCHAR NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL,          -- running | completed | failed
    counts        JSON                       -- rows added per table, work done per stage
);

-- One row per input package content seen; the resume key for parse/select (content, not run numbers).
CREATE TABLE source_files (
    work_key      VARCHAR PRIMARY KEY,       -- sha256(package content + stage versions + config hash)
    content_sha256 VARCHAR NOT NULL,
    package_id    VARCHAR NOT NULL,
    path          VARCHAR NOT NULL,
    pmcid         VARCHAR,
    outcome       VARCHAR NOT NULL,          -- case | rejected
    versions      JSON NOT NULL,
    run_id        VARCHAR NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL
);

-- Remote ingest ledger: one row per PMCID + version, updated in place (attempts accumulate).
CREATE TABLE ingest_manifest (
    pmcid         VARCHAR NOT NULL,
    version       INTEGER NOT NULL,
    source        VARCHAR NOT NULL,
    checksum      VARCHAR,                   -- md5 or etag the download was verified against
    status        VARCHAR NOT NULL,          -- fetched | cached | failed
    attempts      INTEGER NOT NULL,
    local_dir     VARCHAR,
    error         VARCHAR,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pmcid, version)
);

CREATE TABLE articles (
    pmcid         VARCHAR PRIMARY KEY,
    version       INTEGER NOT NULL,
    pmid          VARCHAR,
    doi           VARCHAR,
    title         VARCHAR NOT NULL,
    journal       VARCHAR,
    year          INTEGER,
    article_type  VARCHAR,
    subjects      JSON,
    keywords      JSON,
    licence       VARCHAR NOT NULL,
    licence_url   VARCHAR,
    licence_text  VARCHAR,
    source_path   VARCHAR NOT NULL,
    xml_sha256    VARCHAR NOT NULL,
    parser_version VARCHAR NOT NULL
);

CREATE TABLE sections (
    section_id    VARCHAR PRIMARY KEY,
    pmcid         VARCHAR NOT NULL,
    ordinal       INTEGER NOT NULL,
    parent_id     VARCHAR,
    depth         INTEGER NOT NULL,
    title         VARCHAR NOT NULL,
    sec_type      VARCHAR,
    role          VARCHAR NOT NULL,
    text          VARCHAR NOT NULL
);

CREATE TABLE sentences (
    sentence_id   VARCHAR PRIMARY KEY,
    pmcid         VARCHAR NOT NULL,
    section_id    VARCHAR NOT NULL,
    paragraph_index INTEGER NOT NULL,
    sentence_index INTEGER NOT NULL,
    ordinal       INTEGER NOT NULL,
    start         INTEGER NOT NULL,          -- character offsets into sections.text
    "end"         INTEGER NOT NULL,
    text          VARCHAR NOT NULL
);

CREATE TABLE figures (
    figure_id     VARCHAR PRIMARY KEY,
    pmcid         VARCHAR NOT NULL,
    ordinal       INTEGER NOT NULL,
    xml_id        VARCHAR NOT NULL,
    label         VARCHAR NOT NULL,
    caption_title VARCHAR NOT NULL,
    caption_text  VARCHAR NOT NULL,
    group_id      VARCHAR
);

CREATE TABLE graphics (
    graphic_id    VARCHAR PRIMARY KEY,
    figure_id     VARCHAR NOT NULL,
    pmcid         VARCHAR NOT NULL,
    href          VARCHAR NOT NULL,
    path          VARCHAR,
    sha256        VARCHAR,
    phash         VARCHAR,
    format        VARCHAR,
    width         INTEGER,
    height        INTEGER,
    mode          VARCHAR,
    status        VARCHAR NOT NULL           -- ok | the reject reason
);

CREATE TABLE figure_mentions (
    sentence_id   VARCHAR NOT NULL,
    pmcid         VARCHAR NOT NULL,
    figure_id     VARCHAR NOT NULL,
    xref_text     VARCHAR NOT NULL,
    PRIMARY KEY (sentence_id, figure_id, xref_text)
);

CREATE TABLE article_tables (
    table_id      VARCHAR PRIMARY KEY,
    pmcid         VARCHAR NOT NULL,
    ordinal       INTEGER NOT NULL,
    label         VARCHAR NOT NULL,
    caption       VARCHAR NOT NULL,
    text          VARCHAR NOT NULL
);

-- Selection decisions that kept an article; one per article and config (policy) hash.
CREATE TABLE cases (
    case_id       VARCHAR NOT NULL,          -- the PMCID
    pmcid         VARCHAR NOT NULL,
    config_hash   VARCHAR NOT NULL,
    case_evidence VARCHAR NOT NULL,          -- why it counts as a case report
    licence       VARCHAR NOT NULL,
    licence_flagged BOOLEAN NOT NULL,        -- allowed but restricted (e.g. no-derivatives)
    n_figures     INTEGER NOT NULL,
    n_usable_images INTEGER NOT NULL,
    multi_image   BOOLEAN NOT NULL,          -- eligible for the cross-image track
    versions      JSON NOT NULL,
    run_id        VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, config_hash)
);

CREATE TABLE rejects (
    reject_id     VARCHAR PRIMARY KEY,       -- hash(record, stage, reason, versions): re-runs add no rows
    record_id     VARCHAR NOT NULL,
    stage         VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    detail        VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    versions      JSON NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR
);

-- The state database as PSContainer wrote it before schema migrations (commit 786da63): StateDb's script and
-- VolumeStore's tables, a meta row 'schema' = '1' and no PRAGMA user_version. Frozen: StateSchemaTests opens a
-- database made from it and expects it stamped as version 1 with its rows kept. Do not edit.
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images(
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL,
    created TEXT,
    size INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    os TEXT NOT NULL,
    variant TEXT,
    added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS image_layers(
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    blob_digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    blob_size INTEGER NOT NULL,
    PRIMARY KEY(image_id, position));
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
CREATE TABLE IF NOT EXISTS tags(
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS repo_digests(
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS layers(
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT,
    size INTEGER NOT NULL,
    entries INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS containers(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    created TEXT NOT NULL,
    options TEXT NOT NULL,
    command TEXT NOT NULL,
    state TEXT NOT NULL,
    exit_code INTEGER,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    pid INTEGER NOT NULL DEFAULT 0,
    monitor_pid INTEGER NOT NULL DEFAULT 0,
    monitor_start INTEGER NOT NULL DEFAULT 0,
    error TEXT);
CREATE TABLE IF NOT EXISTS networks(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    ip_range TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL,
    bridge TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    dns_pid INTEGER NOT NULL DEFAULT 0,
    dns_start INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS network_endpoints(
    network_id TEXT NOT NULL REFERENCES networks(id),
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    aliases TEXT NOT NULL,
    veth TEXT NOT NULL UNIQUE,
    ifname TEXT NOT NULL,
    position INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(network_id, container_id),
    UNIQUE(network_id, address));
CREATE TABLE IF NOT EXISTS port_mappings(
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    container_port INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    UNIQUE(host_port, protocol));
CREATE TABLE IF NOT EXISTS userns_ranges(
    slot INTEGER PRIMARY KEY,
    container_id TEXT NOT NULL UNIQUE REFERENCES containers(id) ON DELETE CASCADE,
    uid_start INTEGER NOT NULL,
    gid_start INTEGER NOT NULL,
    size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS container_restarts(
    container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
    restart_count INTEGER NOT NULL DEFAULT 0,
    stopped_by_user INTEGER NOT NULL DEFAULT 0,
    delay_ms INTEGER NOT NULL DEFAULT 0,
    restarter_pid INTEGER NOT NULL DEFAULT 0,
    restarter_start INTEGER NOT NULL DEFAULT 0);
INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '1');
CREATE TABLE IF NOT EXISTS volumes(
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    options TEXT NOT NULL,
    labels TEXT NOT NULL,
    created TEXT NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS volume_users(
    volume TEXT NOT NULL REFERENCES volumes(name),
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    PRIMARY KEY(volume, container_id));

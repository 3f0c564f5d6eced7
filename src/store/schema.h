// The database schema as an ordered list of migrations; entry i moves user_version i -> i+1.
// Never edit a released entry: append a new one.
#pragma once

namespace berth::store {

inline constexpr const char* kMigrations[] = {
    // v1: networks, containers, endpoints; the default network exists from the start (its
    // bridge device is created on first use).
    R"sql(
CREATE TABLE networks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  driver TEXT NOT NULL,
  bridge TEXT NOT NULL UNIQUE,
  subnet TEXT NOT NULL,
  gateway TEXT NOT NULL,
  ip_range TEXT,
  mtu INTEGER NOT NULL,
  internal INTEGER NOT NULL,
  is_default INTEGER NOT NULL,
  options TEXT NOT NULL,
  created INTEGER NOT NULL,
  ip_cursor TEXT
);
CREATE TABLE containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  hostname TEXT NOT NULL,
  mode TEXT NOT NULL,
  netns_path TEXT NOT NULL,
  netns_owner TEXT NOT NULL,
  pid INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  state TEXT NOT NULL,
  exit_code INTEGER NOT NULL,
  auto_remove INTEGER NOT NULL,
  command TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX containers_by_owner ON containers(netns_owner);
CREATE TABLE endpoints (
  container_id TEXT NOT NULL REFERENCES containers(id),
  network_id TEXT NOT NULL REFERENCES networks(id),
  ifname TEXT NOT NULL,
  ip TEXT NOT NULL,
  prefix_len INTEGER NOT NULL,
  mac TEXT NOT NULL,
  gateway TEXT NOT NULL,
  host_veth TEXT NOT NULL UNIQUE,
  aliases TEXT NOT NULL,
  PRIMARY KEY (container_id, network_id),
  UNIQUE (network_id, ip),
  UNIQUE (container_id, ifname)
);
CREATE INDEX endpoints_by_network ON endpoints(network_id);
INSERT INTO networks VALUES (lower(hex(randomblob(32))), 'bridge', 'bridge', 'berth0',
  '172.17.0.0/16', '172.17.0.1', NULL, 1500, 0, 1, '{}', CAST(strftime('%s','now') AS INTEGER),
  NULL);
)sql",
    // v2: published ports (one row per mapping; a range is one row) and small key/value facts.
    R"sql(
CREATE TABLE ports (
  container_id TEXT NOT NULL,
  network_id TEXT NOT NULL,
  host_ip TEXT NOT NULL,
  protocol TEXT NOT NULL,
  host_port INTEGER NOT NULL,
  count INTEGER NOT NULL,
  container_port INTEGER NOT NULL,
  PRIMARY KEY (protocol, host_ip, host_port),
  FOREIGN KEY (container_id, network_id) REFERENCES endpoints(container_id, network_id)
);
CREATE INDEX ports_by_endpoint ON ports(container_id, network_id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // v3: an endpoint remembers whether its address was asked for (--ip), and a stopped
    // container's endpoints are kept as what to attach again when it starts (Docker releases a
    // stopped container's name, address and ports). `spec` is JSON: ifname, ip, static_ip,
    // mac, aliases, ports. No foreign keys: a network removed meanwhile fails the start.
    R"sql(
ALTER TABLE endpoints ADD COLUMN static_ip INTEGER NOT NULL DEFAULT 0;
CREATE TABLE released_endpoints (
  container_id TEXT NOT NULL,
  network_id TEXT NOT NULL,
  spec TEXT NOT NULL,
  PRIMARY KEY (container_id, network_id)
);
)sql",
    // v4: container labels (what service selectors match) and services. A service's
    // selector and ports are JSON; its backends are derived from endpoints and labels.
    R"sql(
CREATE TABLE container_labels (
  container_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (container_id, key)
);
CREATE TABLE services (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  network_id TEXT NOT NULL REFERENCES networks(id),
  vip TEXT NOT NULL UNIQUE,
  selector TEXT NOT NULL,
  ports TEXT NOT NULL,
  balance TEXT NOT NULL,
  publish TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX services_by_network ON services(network_id);
)sql",
    // v5: a service's client-IP affinity timeout in seconds (--affinity client-ip[:SECONDS]);
    // 0: none.
    R"sql(
ALTER TABLE services ADD COLUMN affinity INTEGER NOT NULL DEFAULT 0;
)sql",
    // v6: the containers of other
    // cluster nodes on this node's cluster network, with their labels (JSON), as the cluster
    // agent last saw them in etcd: service backends on other nodes.
    R"sql(
CREATE TABLE remote_endpoints (
  network_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  node TEXT NOT NULL,
  name TEXT NOT NULL,
  labels TEXT NOT NULL,
  PRIMARY KEY (network_id, ip)
);
)sql",
};

}  // namespace berth::store

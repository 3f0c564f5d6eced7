#include "store/store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "store/integrity.h"
#include "store/schema.h"

namespace berth::store {

namespace {

using nlohmann::json;

std::string ToJson(const std::map<std::string, std::string>& m) { return json(m).dump(); }
std::string ToJson(const std::vector<std::string>& v) { return json(v).dump(); }

template <typename T>
T FromJson(const std::string& text) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return T{};
  try {
    return j.get<T>();
  } catch (const json::exception&) {
    return T{};
  }
}

IpAddr Ip(const std::string& s) {
  auto r = IpAddr::Parse(s);
  return r.ok() ? *r : IpAddr();
}

Cidr Net(const std::string& s) {
  auto r = Cidr::ParseInterface(s);
  return r.ok() ? *r : Cidr();
}

constexpr const char kNetworkCols[] =
    "id, name, driver, bridge, subnet, gateway, ip_range, mtu, internal, is_default, options, "
    "created";

Network ReadNetwork(const Stmt& s) {
  Network n;
  n.id = s.Text(0);
  n.name = s.Text(1);
  n.driver = s.Text(2);
  n.bridge = s.Text(3);
  n.subnet = Net(s.Text(4));
  n.gateway = Ip(s.Text(5));
  if (!s.IsNull(6)) n.ip_range = Net(s.Text(6));
  n.mtu = static_cast<int>(s.Int(7));
  n.internal = s.Int(8) != 0;
  n.is_default = s.Int(9) != 0;
  n.options = FromJson<std::map<std::string, std::string>>(s.Text(10));
  n.created = s.Int(11);
  return n;
}

constexpr const char kContainerCols[] =
    "id, name, hostname, mode, netns_path, netns_owner, pid, start_time, state, exit_code, "
    "auto_remove, command, created";

Container ReadContainer(const Stmt& s) {
  Container c;
  c.id = s.Text(0);
  c.name = s.Text(1);
  c.hostname = s.Text(2);
  c.mode = s.Text(3);
  c.netns_path = s.Text(4);
  c.netns_owner_id = s.Text(5);
  c.pid = static_cast<int>(s.Int(6));
  c.start_time = static_cast<uint64_t>(s.Int(7));
  c.state = ParseContainerState(s.Text(8)).value_or(ContainerState::kExited);
  c.exit_code = static_cast<int>(s.Int(9));
  c.auto_remove = s.Int(10) != 0;
  c.command = FromJson<std::vector<std::string>>(s.Text(11));
  c.created = s.Int(12);
  return c;
}

constexpr const char kEndpointSelect[] =
    "SELECT e.container_id, e.network_id, n.name, e.ifname, e.ip, e.prefix_len, e.mac, "
    "e.gateway, e.host_veth, e.aliases FROM endpoints e JOIN networks n ON n.id = e.network_id ";

Endpoint ReadEndpoint(const Stmt& s) {
  Endpoint e;
  e.container_id = s.Text(0);
  e.network_id = s.Text(1);
  e.network_name = s.Text(2);
  e.ifname = s.Text(3);
  e.ip = Ip(s.Text(4));
  e.prefix_len = static_cast<int>(s.Int(5));
  e.mac = s.Text(6);
  e.gateway = Ip(s.Text(7));
  e.host_veth = s.Text(8);
  e.aliases = FromJson<std::vector<std::string>>(s.Text(9));
  return e;
}

template <typename T, typename Reader>
Result<std::vector<T>> ReadAll(Stmt& s, Reader read) {
  std::vector<T> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(read(s));
  }
}

// Exact name first, then a unique id prefix (as Docker resolves references).
template <typename T, typename Reader>
Result<std::optional<T>> FindByNameOrId(Db& db, const char* by_name, const char* by_id_prefix,
                                        const std::string& key, const char* kind, Reader read) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db.Prepare(by_name));
  s.Bind(1, key);
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) return std::optional<T>(read(s));
  if (key.empty()) return std::optional<T>();
  BERTH_ASSIGN_OR_RETURN(Stmt p, db.Prepare(by_id_prefix));
  p.Bind(1, key);
  BERTH_ASSIGN_OR_RETURN(auto all, (ReadAll<T>(p, read)));
  if (all.empty()) return std::optional<T>();
  if (all.size() > 1) {
    return Error::Invalid(std::string(kind) + " id prefix \"" + key + "\" is ambiguous");
  }
  return std::optional<T>(std::move(all[0]));
}

const char* ProtoText(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

// Reads host_ip, protocol, host_port, count, container_port from column `first` on.
PortMapping ReadPort(const Stmt& s, int first) {
  PortMapping p;
  p.host_ip = Ip(s.Text(first));
  p.protocol = s.Text(first + 1) == "udp" ? Protocol::kUdp : Protocol::kTcp;
  p.host_port = static_cast<uint16_t>(s.Int(first + 2));
  p.count = static_cast<uint16_t>(s.Int(first + 3));
  p.container_port = static_cast<uint16_t>(s.Int(first + 4));
  return p;
}

}  // namespace

WriteTx::~WriteTx() {
  if (db_) (void)db_->Exec("ROLLBACK");
}

Status WriteTx::Commit() {
  Db* db = std::exchange(db_, nullptr);
  return db->Exec("COMMIT");
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  if (path == ":memory:") return OpenFile(path);
  BERTH_ASSIGN_OR_RETURN(DbFiles files, CheckDbFiles(path));
  if (files == DbFiles::kAbsent) {
    BERTH_TRY(CheckNothingToForget(path));
    BERTH_TRY(Create(path));
  }
  auto store = OpenFile(path);
  if (!store.ok()) {
    // SQLITE_NOTADB or SQLITE_CORRUPT past the header check: damaged all the same.
    const std::string& m = store.error().message();
    if (m.find("not a database") != std::string::npos ||
        m.find("malformed") != std::string::npos) {
      return Damaged(path, m);
    }
  }
  return store;
}

Result<std::string> Store::StartOver(const std::string& path) {
  std::string aside = path + ".damaged-" + std::to_string(::time(nullptr));
  std::string moved;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string from = path + suffix;
    if (::rename(from.c_str(), (aside + suffix).c_str()) == 0) {
      if (moved.empty()) moved = aside;
    } else if (errno != ENOENT) {
      return Error::System("state store: set " + from + " aside", errno);
    }
  }
  BERTH_TRY(Create(path));
  return moved;
}

Result<std::unique_ptr<Store>> Store::OpenFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(auto db, Db::Open(path));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  BERTH_TRY(store->db_->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL"));
  BERTH_TRY(store->Migrate());
  return store;
}

Status Store::Create(const std::string& path) {
  // Built under a private name and linked into place complete: the database file is never
  // seen empty (which CheckDbFiles calls damage), and of two processes creating it at once
  // one links and the other uses that one.
  const std::string tmp = path + ".new-" + std::to_string(::getpid());
  auto cleanup = [&] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((tmp + suffix).c_str());
  };
  cleanup();
  {
    BERTH_ASSIGN_OR_RETURN(auto store, OpenFile(tmp));
    Status st = store->db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");  // all of it in `tmp`
    if (!st.ok()) {
      cleanup();
      return st;
    }
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  cleanup();
  if (rc != 0 && err != EEXIST) return Error::System("state store: create " + path, err);
  return Ok();
}

Status Store::Migrate() {
  auto version = [&]() -> Result<int64_t> {
    BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("PRAGMA user_version"));
    BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.Int(0) : 0;
  };
  BERTH_ASSIGN_OR_RETURN(int64_t v, version());
  if (v == kSchemaVersion) return Ok();
  if (v > kSchemaVersion) {
    return Error::Unavailable("state store schema v" + std::to_string(v) +
                              " is newer than this berth (v" + std::to_string(kSchemaVersion) +
                              "): upgrade berth");
  }
  // WAL lets readers (ps, inspect, the DNS server) run while a writer holds the lock.
  BERTH_TRY(EnableWal());
  BERTH_ASSIGN_OR_RETURN(WriteTx tx, Write());
  BERTH_ASSIGN_OR_RETURN(v, version());  // another process may have migrated meanwhile
  for (; v < kSchemaVersion; ++v) {
    BERTH_TRY_CTX(db_->Exec(kMigrations[v]), "migrate schema to v" + std::to_string(v + 1));
    std::string bump = "PRAGMA user_version=" + std::to_string(v + 1);
    BERTH_TRY(db_->Exec(bump.c_str()));
  }
  return tx.Commit();
}

Status Store::EnableWal() {
  // Switching to WAL reads the header, then upgrades to a write lock. When several processes
  // open a fresh state root at once, that upgrade can meet another's pending write: SQLite then
  // returns SQLITE_BUSY at once instead of calling the busy handler (it would deadlock), so
  // `berth run` x N on a new root failed with "database is locked". Retry like the busy
  // handler would; once one process has switched, the pragma finds WAL and needs no lock.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int attempt = 0;; ++attempt) {
    Status st = db_->Exec("PRAGMA journal_mode=WAL");
    if (st.ok() || st.error().code() != Code::kUnavailable ||
        std::chrono::steady_clock::now() > deadline) {
      return st;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
  }
}

Result<WriteTx> Store::Write() {
  BERTH_TRY(db_->Exec("BEGIN IMMEDIATE"));
  return WriteTx(db_.get());
}

Status Store::UpdateNetworkAddressing(const std::string& id, const Cidr& subnet,
                                      const IpAddr& gateway, int mtu) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("UPDATE networks SET subnet = ?2, gateway = ?3, "
                                              "mtu = ?4, ip_range = NULL, ip_cursor = NULL "
                                              "WHERE id = ?1"));
  s.Bind(1, id).Bind(2, subnet.ToString()).Bind(3, gateway.ToString()).Bind(4, int64_t{mtu});
  return s.Run();
}

Status Store::InsertNetwork(const Network& n) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("INSERT INTO networks (id, name, driver, bridge, subnet, gateway, "
                           "ip_range, mtu, internal, is_default, options, created) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  s.Bind(1, n.id).Bind(2, n.name).Bind(3, n.driver).Bind(4, n.bridge);
  s.Bind(5, n.subnet.ToString()).Bind(6, n.gateway.ToString());
  if (n.ip_range) {
    s.Bind(7, n.ip_range->ToString());
  } else {
    s.BindNull(7);
  }
  s.Bind(8, int64_t{n.mtu}).Bind(9, int64_t{n.internal}).Bind(10, int64_t{n.is_default});
  s.Bind(11, ToJson(n.options)).Bind(12, n.created);
  return s.Run();
}

Result<std::optional<Network>> Store::FindNetwork(const std::string& key) {
  static const std::string by_name =
      std::string("SELECT ") + kNetworkCols + " FROM networks WHERE name = ?1";
  static const std::string by_id = std::string("SELECT ") + kNetworkCols +
                                   " FROM networks WHERE substr(id, 1, length(?1)) = ?1";
  return FindByNameOrId<Network>(*db_, by_name.c_str(), by_id.c_str(), key, "network",
                                 ReadNetwork);
}

Result<std::optional<Network>> Store::GetNetworkByName(const std::string& name) {
  static const std::string sql =
      std::string("SELECT ") + kNetworkCols + " FROM networks WHERE name = ?1";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, name);
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<Network>();
  return std::optional<Network>(ReadNetwork(s));
}

Result<std::vector<Network>> Store::ListNetworks() {
  static const std::string sql =
      std::string("SELECT ") + kNetworkCols + " FROM networks ORDER BY is_default DESC, name";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  return ReadAll<Network>(s, ReadNetwork);
}

Status Store::DeleteNetwork(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(Stmt r, db_->Prepare("DELETE FROM remote_endpoints WHERE network_id = ?1"));
  r.Bind(1, id);
  BERTH_TRY(r.Run());
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("DELETE FROM networks WHERE id = ?1"));
  s.Bind(1, id);
  return s.Run();
}

Result<std::optional<IpAddr>> Store::IpCursor(const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT ip_cursor FROM networks WHERE id = ?1"));
  s.Bind(1, network_id);
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row || s.IsNull(0)) return std::optional<IpAddr>();
  auto ip = IpAddr::Parse(s.Text(0));
  return ip.ok() ? std::optional<IpAddr>(*ip) : std::nullopt;
}

Status Store::SetIpCursor(const std::string& network_id, const std::optional<IpAddr>& ip) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("UPDATE networks SET ip_cursor = ?2 WHERE id = ?1"));
  s.Bind(1, network_id);
  if (ip) {
    s.Bind(2, ip->ToString());
  } else {
    s.BindNull(2);
  }
  return s.Run();
}

Status Store::InsertContainer(const Container& c) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("INSERT INTO containers (id, name, hostname, mode, netns_path, "
                           "netns_owner, pid, start_time, state, exit_code, auto_remove, "
                           "command, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                           "?11, ?12, ?13)"));
  s.Bind(1, c.id).Bind(2, c.name).Bind(3, c.hostname).Bind(4, c.mode).Bind(5, c.netns_path);
  s.Bind(6, c.netns_owner_id).Bind(7, int64_t{c.pid}).Bind(8, static_cast<int64_t>(c.start_time));
  s.Bind(9, ToString(c.state)).Bind(10, int64_t{c.exit_code}).Bind(11, int64_t{c.auto_remove});
  s.Bind(12, ToJson(c.command)).Bind(13, c.created);
  return s.Run();
}

Result<std::optional<Container>> Store::FindContainer(const std::string& key) {
  static const std::string by_name =
      std::string("SELECT ") + kContainerCols + " FROM containers WHERE name = ?1";
  static const std::string by_id = std::string("SELECT ") + kContainerCols +
                                   " FROM containers WHERE substr(id, 1, length(?1)) = ?1";
  return FindByNameOrId<Container>(*db_, by_name.c_str(), by_id.c_str(), key, "container",
                                   ReadContainer);
}

Result<std::optional<Container>> Store::GetContainer(const std::string& id) {
  static const std::string sql =
      std::string("SELECT ") + kContainerCols + " FROM containers WHERE id = ?1";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, id);
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<Container>();
  return std::optional<Container>(ReadContainer(s));
}

Result<std::optional<Container>> Store::GetContainerByName(const std::string& name) {
  static const std::string sql =
      std::string("SELECT ") + kContainerCols + " FROM containers WHERE name = ?1";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, name);
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<Container>();
  return std::optional<Container>(ReadContainer(s));
}

Result<std::vector<Container>> Store::ListContainers() {
  static const std::string sql =
      std::string("SELECT ") + kContainerCols + " FROM containers ORDER BY created, name";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  return ReadAll<Container>(s, ReadContainer);
}

Status Store::UpdateContainerProcess(const std::string& id, int pid, uint64_t start_time,
                                     ContainerState state, int exit_code) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("UPDATE containers SET pid = ?2, start_time = ?3, "
                                              "state = ?4, exit_code = ?5 WHERE id = ?1"));
  s.Bind(1, id).Bind(2, int64_t{pid}).Bind(3, static_cast<int64_t>(start_time));
  s.Bind(4, ToString(state)).Bind(5, int64_t{exit_code});
  return s.Run();
}

Result<bool> Store::MarkRunning(const std::string& id, int pid, uint64_t start_time) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("UPDATE containers SET pid = ?2, start_time = ?3, "
                                              "state = 'running' WHERE id = ?1 AND "
                                              "state = 'created'"));
  s.Bind(1, id).Bind(2, int64_t{pid}).Bind(3, static_cast<int64_t>(start_time));
  BERTH_TRY(s.Run());
  return db_->Changes() > 0;
}

Status Store::MarkExited(const std::string& id, int exit_code) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("UPDATE containers SET state = 'exited', exit_code = ?2 WHERE id = ?1"));
  s.Bind(1, id).Bind(2, int64_t{exit_code});
  return s.Run();
}

Status Store::DeleteContainer(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(Stmt r, db_->Prepare("DELETE FROM released_endpoints WHERE container_id = ?1"));
  r.Bind(1, id);
  BERTH_TRY(r.Run());
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("DELETE FROM containers WHERE id = ?1"));
  s.Bind(1, id);
  return s.Run();
}

Result<std::vector<Container>> Store::NetnsSharers(const std::string& owner_id) {
  static const std::string sql = std::string("SELECT ") + kContainerCols +
                                 " FROM containers WHERE netns_owner = ?1 AND id != ?1";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, owner_id);
  return ReadAll<Container>(s, ReadContainer);
}

Status Store::InsertEndpoint(const Endpoint& e) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("INSERT INTO endpoints (container_id, network_id, ifname, ip, "
                           "prefix_len, mac, gateway, host_veth, aliases) VALUES (?1, ?2, ?3, "
                           "?4, ?5, ?6, ?7, ?8, ?9)"));
  s.Bind(1, e.container_id).Bind(2, e.network_id).Bind(3, e.ifname).Bind(4, e.ip.ToString());
  s.Bind(5, int64_t{e.prefix_len}).Bind(6, e.mac).Bind(7, e.gateway.ToString());
  s.Bind(8, e.host_veth).Bind(9, ToJson(e.aliases));
  return s.Run();
}

Result<std::vector<Endpoint>> Store::EndpointsOfContainer(const std::string& container_id) {
  static const std::string sql =
      std::string(kEndpointSelect) + "WHERE e.container_id = ?1 ORDER BY e.ifname";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, container_id);
  return ReadAll<Endpoint>(s, ReadEndpoint);
}

Result<std::vector<Endpoint>> Store::EndpointsOfNetwork(const std::string& network_id) {
  static const std::string sql =
      std::string(kEndpointSelect) + "WHERE e.network_id = ?1 ORDER BY e.ip";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, network_id);
  return ReadAll<Endpoint>(s, ReadEndpoint);
}

Result<bool> Store::IpInUse(const std::string& network_id, const IpAddr& ip) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("SELECT 1 FROM endpoints WHERE network_id = ?1 AND ip = ?2"));
  s.Bind(1, network_id).Bind(2, ip.ToString());
  return s.Step();
}

Status Store::DeleteEndpoint(const std::string& container_id, const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2"));
  s.Bind(1, container_id).Bind(2, network_id);
  return s.Run();
}

Status Store::MarkStaticIp(const std::string& container_id, const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("UPDATE endpoints SET static_ip = 1 WHERE "
                                              "container_id = ?1 AND network_id = ?2"));
  s.Bind(1, container_id).Bind(2, network_id);
  return s.Run();
}

Result<bool> Store::HasStaticIp(const std::string& container_id, const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT 1 FROM endpoints WHERE container_id = ?1 "
                                              "AND network_id = ?2 AND static_ip = 1"));
  s.Bind(1, container_id).Bind(2, network_id);
  return s.Step();
}

Status Store::InsertReleased(const std::string& container_id, const std::string& network_id,
                             const std::string& spec) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("INSERT OR REPLACE INTO released_endpoints "
                                              "(container_id, network_id, spec) VALUES (?1, ?2, ?3)"));
  s.Bind(1, container_id).Bind(2, network_id).Bind(3, spec);
  return s.Run();
}

Result<std::vector<std::pair<std::string, std::string>>> Store::ReleasedOf(
    const std::string& container_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT network_id, spec FROM released_endpoints "
                                              "WHERE container_id = ?1 ORDER BY network_id"));
  s.Bind(1, container_id);
  return ReadAll<std::pair<std::string, std::string>>(s, [](const Stmt& st) {
    return std::pair<std::string, std::string>(st.Text(0), st.Text(1));
  });
}

Status Store::DeleteReleased(const std::string& container_id, const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("DELETE FROM released_endpoints WHERE "
                                              "container_id = ?1 AND network_id = ?2"));
  s.Bind(1, container_id).Bind(2, network_id);
  return s.Run();
}

Status Store::InsertPort(const std::string& container_id, const std::string& network_id,
                         const PortMapping& p) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("INSERT INTO ports (container_id, network_id, host_ip, protocol, "
                           "host_port, count, container_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.Bind(1, container_id).Bind(2, network_id).Bind(3, p.host_ip.ToString());
  s.Bind(4, ProtoText(p.protocol)).Bind(5, int64_t{p.host_port}).Bind(6, int64_t{p.count});
  s.Bind(7, int64_t{p.container_port});
  return s.Run();
}

Result<std::vector<PortMapping>> Store::PortsOf(const std::string& container_id,
                                                const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("SELECT host_ip, protocol, host_port, count, container_port FROM ports "
                           "WHERE container_id = ?1 AND network_id = ?2 "
                           "ORDER BY protocol, host_port"));
  s.Bind(1, container_id).Bind(2, network_id);
  return ReadAll<PortMapping>(s, [](const Stmt& st) { return ReadPort(st, 0); });
}

Status Store::DeletePortsOf(const std::string& container_id, const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("DELETE FROM ports WHERE container_id = ?1 AND network_id = ?2"));
  s.Bind(1, container_id).Bind(2, network_id);
  return s.Run();
}

Result<std::vector<std::pair<PortMapping, IpAddr>>> Store::AllPorts() {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("SELECT p.host_ip, p.protocol, p.host_port, p.count, "
                           "p.container_port, e.ip FROM ports p JOIN endpoints e "
                           "ON e.container_id = p.container_id AND e.network_id = p.network_id"));
  return ReadAll<std::pair<PortMapping, IpAddr>>(
      s, [](const Stmt& st) { return std::make_pair(ReadPort(st, 0), Ip(st.Text(5))); });
}

Result<std::optional<std::pair<PortMapping, std::string>>> Store::PortOverlap(
    Protocol protocol, const IpAddr& host_ip, uint16_t lo, uint16_t hi) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("SELECT host_ip, protocol, host_port, count, container_port, "
                           "container_id FROM ports WHERE protocol = ?1 AND host_ip = ?2 AND "
                           "host_port <= ?3 ORDER BY host_port DESC LIMIT 1"));
  s.Bind(1, ProtoText(protocol)).Bind(2, host_ip.ToString()).Bind(3, int64_t{hi});
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  using Found = std::optional<std::pair<PortMapping, std::string>>;
  if (!row) return Found();
  PortMapping p = ReadPort(s, 0);
  if (p.host_port + p.count - 1 < lo) return Found();
  return Found(std::make_pair(p, s.Text(5)));
}

Result<std::vector<IpAddr>> Store::PortHostIps(Protocol protocol) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("SELECT DISTINCT host_ip FROM ports WHERE protocol = ?1"));
  s.Bind(1, ProtoText(protocol));
  return ReadAll<IpAddr>(s, [](const Stmt& st) { return Ip(st.Text(0)); });
}

Result<std::optional<std::string>> Store::GetMeta(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT value FROM meta WHERE key = ?1"));
  s.Bind(1, key);
  BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

Status Store::SetMeta(const std::string& key, const std::string& value) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  s.Bind(1, key).Bind(2, value);
  return s.Run();
}

}  // namespace berth::store

// --- labels and services (v4) ---

namespace berth::store {

namespace {

constexpr const char kServiceSelect[] =
    "SELECT s.id, s.name, s.network_id, n.name, s.vip, s.selector, s.ports, s.balance, "
    "s.created, s.publish, s.affinity FROM services s JOIN networks n ON n.id = s.network_id ";

std::string PublishJson(const std::vector<ServicePublish>& publish) {
  json out = json::array();
  for (const ServicePublish& p : publish) {
    out.push_back({{"host_port", p.host_port}, {"port", p.port},
                   {"protocol", p.protocol == Protocol::kUdp ? "udp" : "tcp"}});
  }
  return out.dump();
}

std::vector<ServicePublish> PublishFromJson(const std::string& text) {
  std::vector<ServicePublish> out;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const json& p : j) {
    if (!p.is_object()) continue;
    out.push_back({p.value("host_port", uint16_t{0}), p.value("port", uint16_t{0}),
                   p.value("protocol", "tcp") == "udp" ? Protocol::kUdp : Protocol::kTcp});
  }
  return out;
}

std::string PortsJson(const std::vector<ServicePort>& ports) {
  json out = json::array();
  for (const ServicePort& p : ports) {
    out.push_back({{"port", p.port}, {"target_port", p.target_port},
                   {"protocol", p.protocol == Protocol::kUdp ? "udp" : "tcp"}});
  }
  return out.dump();
}

std::vector<ServicePort> PortsFromJson(const std::string& text) {
  std::vector<ServicePort> out;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const json& p : j) {
    if (!p.is_object()) continue;
    ServicePort sp;
    sp.port = p.value("port", uint16_t{0});
    sp.target_port = p.value("target_port", sp.port);
    sp.protocol = p.value("protocol", "tcp") == "udp" ? Protocol::kUdp : Protocol::kTcp;
    out.push_back(sp);
  }
  return out;
}

Service ReadService(const Stmt& s) {
  Service v;
  v.id = s.Text(0);
  v.name = s.Text(1);
  v.network_id = s.Text(2);
  v.network_name = s.Text(3);
  v.vip = Ip(s.Text(4));
  v.selector = FromJson<std::map<std::string, std::string>>(s.Text(5));
  v.ports = PortsFromJson(s.Text(6));
  v.round_robin = s.Text(7) == "round-robin";
  v.created = s.Int(8);
  v.publish = PublishFromJson(s.Text(9));
  v.affinity = static_cast<uint32_t>(s.Int(10));
  return v;
}

}  // namespace

Status Store::SetLabels(const std::string& container_id,
                        const std::map<std::string, std::string>& labels) {
  BERTH_TRY(DeleteLabels(container_id));
  for (const auto& [k, v] : labels) {
    BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("INSERT INTO container_labels (container_id, "
                                                "key, value) VALUES (?1, ?2, ?3)"));
    s.Bind(1, container_id).Bind(2, k).Bind(3, v);
    BERTH_TRY(s.Run());
  }
  return Ok();
}

Result<std::map<std::string, std::string>> Store::LabelsOf(const std::string& container_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT key, value FROM container_labels WHERE "
                                              "container_id = ?1"));
  s.Bind(1, container_id);
  std::map<std::string, std::string> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out[s.Text(0)] = s.Text(1);
  }
}

Status Store::DeleteLabels(const std::string& container_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s,
                         db_->Prepare("DELETE FROM container_labels WHERE container_id = ?1"));
  s.Bind(1, container_id);
  return s.Run();
}

Status Store::InsertService(const Service& v) {
  BERTH_ASSIGN_OR_RETURN(
      Stmt s, db_->Prepare("INSERT INTO services (id, name, network_id, vip, selector, ports, "
                           "balance, created, publish, affinity) VALUES (?1, ?2, ?3, ?4, ?5, "
                           "?6, ?7, ?8, ?9, ?10)"));
  s.Bind(1, v.id).Bind(2, v.name).Bind(3, v.network_id).Bind(4, v.vip.ToString());
  s.Bind(5, ToJson(v.selector)).Bind(6, PortsJson(v.ports));
  s.Bind(7, std::string(v.round_robin ? "round-robin" : "random")).Bind(8, v.created);
  s.Bind(9, PublishJson(v.publish)).Bind(10, static_cast<int64_t>(v.affinity));
  return s.Run();
}

Result<std::optional<Service>> Store::FindService(const std::string& key) {
  static const std::string by_name = std::string(kServiceSelect) + "WHERE s.name = ?1";
  // Ids are lowercase hex, all below 'g': the range lets the primary key find the prefix
  // without a scan of every service.
  static const std::string by_id = std::string(kServiceSelect) +
                                   "WHERE s.id >= ?1 AND s.id < ?1 || 'g' AND "
                                   "substr(s.id, 1, length(?1)) = ?1";
  return FindByNameOrId<Service>(*db_, by_name.c_str(), by_id.c_str(), key, "service",
                                 ReadService);
}

Result<std::vector<Service>> Store::ListServices() {
  static const std::string sql = std::string(kServiceSelect) + "ORDER BY s.name";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  return ReadAll<Service>(s, ReadService);
}

Result<std::vector<Service>> Store::ServicesOfNetwork(const std::string& network_id) {
  static const std::string sql =
      std::string(kServiceSelect) + "WHERE s.network_id = ?1 ORDER BY s.name";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, network_id);
  return ReadAll<Service>(s, ReadService);
}

Result<std::optional<Service>> Store::ServiceWithVip(const IpAddr& vip) {
  static const std::string sql = std::string(kServiceSelect) + "WHERE s.vip = ?1";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  s.Bind(1, vip.ToString());
  BERTH_ASSIGN_OR_RETURN(auto all, ReadAll<Service>(s, ReadService));
  if (all.empty()) return std::optional<Service>();
  return std::optional<Service>(std::move(all.front()));
}

Result<std::vector<IpAddr>> Store::ServiceVips() {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT vip FROM services"));
  std::vector<IpAddr> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(Ip(s.Text(0)));
  }
}

Result<std::vector<Service>> Store::PublishingServices() {
  static const std::string sql =
      std::string(kServiceSelect) + "WHERE s.publish != '[]' ORDER BY s.name";
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql.c_str()));
  return ReadAll<Service>(s, ReadService);
}

Status Store::DeleteService(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("DELETE FROM services WHERE id = ?1"));
  s.Bind(1, id);
  return s.Run();
}

}  // namespace berth::store

// --- remote endpoints (cluster) ---

namespace berth::store {

Result<std::vector<RemoteEndpoint>> Store::RemoteEndpointsOfNetwork(
    const std::string& network_id) {
  BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("SELECT network_id, node, name, ip, labels FROM "
                                              "remote_endpoints WHERE network_id = ?1 ORDER BY "
                                              "node, ip"));
  s.Bind(1, network_id);
  return ReadAll<RemoteEndpoint>(s, [](const Stmt& r) {
    RemoteEndpoint e;
    e.network_id = r.Text(0);
    e.node = r.Text(1);
    e.name = r.Text(2);
    e.ip = Ip(r.Text(3));
    e.labels = FromJson<std::map<std::string, std::string>>(r.Text(4));
    return e;
  });
}

Result<bool> Store::ReplaceRemoteEndpoints(const std::string& network_id,
                                           const std::vector<RemoteEndpoint>& endpoints) {
  BERTH_ASSIGN_OR_RETURN(auto now, RemoteEndpointsOfNetwork(network_id));
  auto key = [](const RemoteEndpoint& a, const RemoteEndpoint& b) {
    return std::tie(a.node, a.ip) < std::tie(b.node, b.ip);
  };
  std::vector<RemoteEndpoint> wanted = endpoints;
  for (RemoteEndpoint& e : wanted) e.network_id = network_id;
  std::sort(wanted.begin(), wanted.end(), key);
  std::sort(now.begin(), now.end(), key);
  if (now == wanted) return false;  // unchanged: nothing written, berthd sees no store change
  BERTH_ASSIGN_OR_RETURN(Stmt del,
                         db_->Prepare("DELETE FROM remote_endpoints WHERE network_id = ?1"));
  del.Bind(1, network_id);
  BERTH_TRY(del.Run());
  for (const RemoteEndpoint& e : wanted) {
    BERTH_ASSIGN_OR_RETURN(Stmt s, db_->Prepare("INSERT OR REPLACE INTO remote_endpoints "
                                                "(network_id, ip, node, name, labels) VALUES "
                                                "(?1, ?2, ?3, ?4, ?5)"));
    s.Bind(1, network_id).Bind(2, e.ip.ToString()).Bind(3, e.node).Bind(4, e.name);
    s.Bind(5, ToJson(e.labels));
    BERTH_TRY(s.Run());
  }
  return true;
}

}  // namespace berth::store

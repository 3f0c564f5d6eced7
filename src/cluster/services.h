// Services across the cluster: etcd holds each service of the cluster network once, every
// node's agent watches them and its berthd programs a local copy. The keys, under the
// client's prefix:
//   services/NAME -> the service as JSON (id, name, network, vip, selector, ports, balance,
//                    affinity, publish, created)
//   vips/IP       -> "NAME"   a VIP belongs to one service cluster-wide
// A service is created in one transaction that succeeds only when both its name and its VIP
// are free, so two nodes creating at once never share either; removed in one too.
//
// Thread-compatible; the etcd functions make one or two requests.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "core/model.h"
#include "etcd/client.h"

namespace berth::cluster {

inline constexpr char kServicesPrefix[] = "services/";
inline constexpr char kVipsPrefix[] = "vips/";

std::string ServiceKey(const std::string& name);
std::string VipKey(const IpAddr& vip);

/// The service as etcd holds it (network_id is each node's own and stays out).
std::string ServiceToJson(const Service& s);
Result<Service> ParseService(std::string_view json);

/// Writes services/NAME and vips/VIP in one transaction, only while both are free:
/// kExists (the name) or kInUse (the VIP) otherwise; kUnavailable when etcd is unreachable.
/// Returns the revision of the write.
Result<int64_t> PutService(etcd::Client& client, const Service& s);
/// Deletes services/NAME and vips/VIP while services/NAME is this service (same id); absent,
/// or another service of that name, is left alone. Returns the revision of the delete (0:
/// nothing deleted).
Result<int64_t> DeleteService(etcd::Client& client, const Service& s);

}  // namespace berth::cluster

// What a Client holds; shared by client.cc (KV, txn, leases) and watch.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "etcd/client.h"
#include "etcd/codec.h"
#include "etcd/keys.h"
#include "etcd/transport.h"

namespace berth::etcd {

struct Client::Impl {
  explicit Impl(Options o) : options(std::move(o)), keys(options.prefix), transport(options) {}

  /// POSTs `request` to `path` and returns the body of a 200; etcd's refusal as its Error.
  Result<std::string> Call(std::string_view path, const codec::json& request);

  const Options options;
  const KeySpace keys;
  Transport transport;  // refers to `options`
  std::atomic<int64_t> compact_revision{0};  // the last any Watch saw (CompactRevision)
};

}  // namespace berth::etcd

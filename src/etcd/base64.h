// Base64 (RFC 4648, standard alphabet, padded): how etcd's JSON gateway carries keys and values
// (protobuf `bytes` fields). Our own because no library berth links has a public one (libcurl's
// is internal; OpenSSL is not linked).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::etcd {

std::string Base64Encode(std::string_view bytes);
/// nullopt for text that is not padded standard base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace berth::etcd

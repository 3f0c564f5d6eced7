// libcurl, loaded with dlopen the first time a Client is opened. Linking it would cost every
// berth command (and every CNI exec) the loading of libcurl and the ~30 libraries it pulls in
// (OpenSSL, GnuTLS, Kerberos, LDAP, ...): about 4 ms of CPU per exec on the machines berth is
// measured on, while only the cluster commands and berthd's agent ever talk to etcd. The same
// reason libnftables is loaded on demand (firewall/nft_firewall.cc).
//
// Thread-safe: Load() runs curl_global_init once per process (it is not thread-safe itself);
// the functions are then plain pointers.
#pragma once

#include <curl/curl.h>

#include "core/error.h"

namespace berth::etcd {

struct CurlApi {
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  CURLM* (*multi_init)() = nullptr;
  CURLMcode (*multi_cleanup)(CURLM*) = nullptr;
  CURLMcode (*multi_add_handle)(CURLM*, CURL*) = nullptr;
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*) = nullptr;
  CURLMcode (*multi_perform)(CURLM*, int*) = nullptr;
  CURLMsg* (*multi_info_read)(CURLM*, int*) = nullptr;
  CURLMcode (*multi_poll)(CURLM*, curl_waitfd*, unsigned, int, int*) = nullptr;
};

/// Loads libcurl.so.4 and initialises it, once; kUnavailable when it is not installed.
Result<const CurlApi*> LoadCurl();

/// The loaded API; only valid after LoadCurl() succeeded (every Client has).
const CurlApi& Curl();

}  // namespace berth::etcd

#include "etcd/curl.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace berth::etcd {
namespace {

CurlApi api;
std::string load_error;

template <typename F>
bool Resolve(void* handle, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(handle, name));
  return fn != nullptr;
}

void LoadOnce() {
  void* h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    load_error = std::string("etcd: cannot load libcurl (apt-get install libcurl4): ") + dlerror();
    return;
  }
  CurlApi a;
  bool ok = Resolve(h, a.easy_init, "curl_easy_init") &&
            Resolve(h, a.easy_cleanup, "curl_easy_cleanup") &&
            Resolve(h, a.easy_setopt, "curl_easy_setopt") &&
            Resolve(h, a.easy_getinfo, "curl_easy_getinfo") &&
            Resolve(h, a.easy_perform, "curl_easy_perform") &&
            Resolve(h, a.easy_strerror, "curl_easy_strerror") &&
            Resolve(h, a.slist_append, "curl_slist_append") &&
            Resolve(h, a.slist_free_all, "curl_slist_free_all") &&
            Resolve(h, a.multi_init, "curl_multi_init") &&
            Resolve(h, a.multi_cleanup, "curl_multi_cleanup") &&
            Resolve(h, a.multi_add_handle, "curl_multi_add_handle") &&
            Resolve(h, a.multi_remove_handle, "curl_multi_remove_handle") &&
            Resolve(h, a.multi_perform, "curl_multi_perform") &&
            Resolve(h, a.multi_info_read, "curl_multi_info_read") &&
            Resolve(h, a.multi_poll, "curl_multi_poll");
  CURLcode (*global_init)(long) = nullptr;
  if (!ok || !Resolve(h, global_init, "curl_global_init")) {
    load_error = "etcd: libcurl lacks an expected function (7.66 or newer is needed)";
    return;
  }
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    load_error = "etcd: curl_global_init failed";
    return;
  }
  api = a;  // the library stays loaded for the life of the process
}

}  // namespace

Result<const CurlApi*> LoadCurl() {
  static std::once_flag once;
  std::call_once(once, LoadOnce);
  if (!load_error.empty()) return Error::Unavailable(load_error);
  return &api;
}

const CurlApi& Curl() { return api; }

}  // namespace berth::etcd

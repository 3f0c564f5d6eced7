#include "diagnose/topo_svg.h"

#include <dlfcn.h>

#include <memory>
#include <mutex>

namespace berth::diagnose {

namespace {

// The few entry points used, as Graphviz 2.42 (Debian 12) declares them; the graph and the
// context stay opaque.
struct GraphvizApi {
  void* (*gvContext)() = nullptr;
  void* (*agmemread)(const char*) = nullptr;
  int (*gvLayout)(void* gvc, void* g, const char* engine) = nullptr;
  int (*gvRenderData)(void* gvc, void* g, const char* format, char** result,
                      unsigned int* length) = nullptr;
  void (*gvFreeRenderData)(char* data) = nullptr;
  int (*gvFreeLayout)(void* gvc, void* g) = nullptr;
  int (*agclose)(void* g) = nullptr;
  int (*gvFreeContext)(void* gvc) = nullptr;
};

GraphvizApi api;
std::string load_error;

template <typename F>
bool Resolve(void* handle, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(handle, name));
  return fn != nullptr;
}

void LoadOnce() {
  // libgvc needs libcgraph: dlsym on its handle finds agmemread there too.
  void* h = dlopen("libgvc.so.6", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    load_error = std::string("--format svg needs Graphviz's library (apt-get install ") +
                 kGraphvizPackage + "): " + dlerror();
    return;
  }
  GraphvizApi a;
  bool ok = Resolve(h, a.gvContext, "gvContext") && Resolve(h, a.agmemread, "agmemread") &&
            Resolve(h, a.gvLayout, "gvLayout") && Resolve(h, a.gvRenderData, "gvRenderData") &&
            Resolve(h, a.gvFreeRenderData, "gvFreeRenderData") &&
            Resolve(h, a.gvFreeLayout, "gvFreeLayout") && Resolve(h, a.agclose, "agclose") &&
            Resolve(h, a.gvFreeContext, "gvFreeContext");
  if (!ok) {
    load_error = std::string("libgvc.so.6 lacks an expected function (") + kGraphvizPackage +
                 " 2.42 or newer is needed)";
    dlclose(h);
    return;
  }
  api = a;  // loaded for the life of the process
}

}  // namespace

Result<std::string> RenderSvg(const std::string& dot) {
  static std::once_flag once;
  std::call_once(once, LoadOnce);
  if (!load_error.empty()) return Error::Unavailable(load_error);

  std::unique_ptr<void, int (*)(void*)> gvc(api.gvContext(), api.gvFreeContext);
  if (!gvc) return Error::Internal("graphviz: gvContext failed");
  std::unique_ptr<void, int (*)(void*)> graph(api.agmemread(dot.c_str()), api.agclose);
  if (!graph) return Error::Internal("graphviz: cannot read the dot graph");
  if (api.gvLayout(gvc.get(), graph.get(), "dot") != 0) {
    return Error::Unavailable(std::string("graphviz: no \"dot\" layout (is ") + kGraphvizPackage +
                              " complete?)");
  }
  char* data = nullptr;
  unsigned int length = 0;
  int rendered = api.gvRenderData(gvc.get(), graph.get(), "svg", &data, &length);
  std::string svg = rendered == 0 && data ? std::string(data, length) : std::string();
  if (data) api.gvFreeRenderData(data);
  api.gvFreeLayout(gvc.get(), graph.get());
  if (svg.empty()) {
    return Error::Unavailable(std::string("graphviz: no svg renderer (is ") + kGraphvizPackage +
                              " complete?)");
  }
  return svg;
}

}  // namespace berth::diagnose

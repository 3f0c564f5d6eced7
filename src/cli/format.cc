#include "cli/format.h"

#include <iostream>

#include "cli/commands.h"
#include "cli/docker_view.h"
#include "cli/render.h"
#include "core/template.h"

namespace berth::cli {

using nlohmann::json;

const ListView kPsView = {PsRow, PsHeader};
const ListView kNetworkLsView = {NetworkLsRow, NetworkLsHeader};

bool IsTemplate(const std::string& format) { return format.find("{{") != std::string::npos; }

std::string CheckTemplate(const std::string& format) {
  auto f = tmpl::ParseListFormat(format);
  return f.ok() ? "" : f.error().message();
}

int PrintInspectedFormat(const std::string& format, json (*view)(json),
                         const std::vector<std::string>& names,
                         const std::function<Result<json>(const std::string&)>& inspect) {
  if (!IsTemplate(format)) return PrintInspected(names, inspect);
  auto t = tmpl::Template::Parse(format);
  if (!t.ok()) return Fail(t.error(), 125);
  int rc = 0;
  for (const std::string& name : names) {
    auto doc = inspect(name);
    if (!doc.ok()) {
      rc = Fail(doc.error());
      continue;
    }
    auto out = t->Execute(view(std::move(*doc)));
    if (!out.ok()) {
      rc = Fail(out.error());
      continue;
    }
    std::cout << *out << "\n";
  }
  return rc;
}

int PrintListFormat(const std::string& format, const ListView& view, const json& docs) {
  auto f = tmpl::ParseListFormat(format);
  if (!f.ok()) return Fail(f.error(), 125);
  std::string text;
  if (f->table) {
    auto header = f->row.Execute(f->row.HeaderDocument(view.header));
    if (!header.ok()) return Fail(header.error());
    text += *header + "\n";
  }
  for (const json& doc : docs) {
    auto line = f->row.Execute(view.row(doc));
    if (!line.ok()) return Fail(line.error());
    text += *line + "\n";
  }
  std::cout << (f->table ? tmpl::AlignColumns(text) : text);
  return 0;
}

}  // namespace berth::cli
